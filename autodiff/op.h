/// @file
/// The op registry: one OpDef per op holds everything about it — its name, typed attributes,
/// shape rule, forward kernel and backward — and every execution reads it: the eager tape
/// (apply() runs the kernel and records the op), graph capture, differentiation and the
/// graph's executor. An op is defined once, in one file of autodiff/ops/ per family.
///
/// @code
/// #include <tapegrad/autodiff/op.h>
/// #include <tapegrad/autodiff/ops.h>
/// // A user's op: y = x³, its backward written with registered ops.
/// static const ad::OpDef cube{
///     .name = "cube",
///     .num_inputs = 1,
///     .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
///     .forward = [](const ad::KernelArgs& k) {
///       for (int64_t i = 0; i < k.out[0].size; ++i) k.out[0].data[i] = k.in[0].data[i] * k.in[0].data[i] * k.in[0].data[i];
///     },
///     .backward = [](const ad::BackwardArgs& b) -> ad::Gradients {
///       return {b.grad * 3.f * ad::square(b.inputs[0])};
///     }};
/// ad::Var x = ad::param(ad::Tensor::from({2}, {1, 2}));
/// ad::Tape tape;
/// ad::Var y = ad::apply(cube, {x});
/// ad::sum(y).backward();  // x.grad() = 3x² = [3, 12]
/// @endcode
///
/// Backward is written as ops of the registry (as JAX's JVP rules and tinygrad's derivative
/// table are), never as loops: eagerly it runs on the values, in a graph it is traced into
/// nodes, so both executions differentiate with the same code. An op without a backward
/// (steps, targets, the fused and update ops of graph/) throws when a gradient must pass it.
#pragma once
#include <any>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/autodiff/var.h"

namespace ad {

/// An op's attributes: a struct of the op's own (ClipAttrs, MatmulAttrs, ...), or empty.
using Attrs = std::any;

/// An array the kernel reads or writes: `size` floats at `data`, row-major in `shape`.
struct View {
  float* data = nullptr;         ///< the first element
  const Shape* shape = nullptr;  ///< the array's shape
  int64_t size = 0;              ///< its element count
};

/// What changes between runs of a compiled step without recompiling it (update ops read it).
struct KernelContext {
  float learning_rate = 0.01f;  ///< the optimizer's rate at this step (a schedule may change it)
  int64_t iteration = 1;        ///< Adam's t, counting from 1
};

/// The arguments of a forward kernel: one View per input and per output, the attributes and
/// the run's context. Outputs are allocated by the caller with the shapes infer() gave; a
/// kernel writes every element of them, or throws ad::Error on bad data (a label out of range).
struct KernelArgs {
  std::span<const View> in;      ///< one per input
  std::span<const View> out;     ///< one per output, allocated by the caller
  const Attrs& attrs;            ///< the op's attributes
  const KernelContext& context;  ///< the run's learning rate and step
};

/// The arguments of a shape rule: the input shapes and attributes.
struct ShapeArgs {
  std::span<const Shape* const> inputs;  ///< one shape per input
  const Attrs& attrs;                    ///< the op's attributes
};

/// The arguments of a backward rule, all as Vars so that it is written with ops: the op's
/// inputs, its (first) output, the gradient of that output, the attributes, and which inputs
/// need a gradient. A rule must only apply ops to them, never read their values (detach(),
/// value(), loops, NoGrad scopes): graphs trace the rule on placeholders, and Graph::from
/// throws when a rule baked placeholder data into a constant. `grad` is valid during the call.
struct BackwardArgs {
  std::span<const Var> inputs;  ///< the op's inputs
  const Var& output;            ///< its (first) output
  const Var& grad;              ///< the gradient of that output
  const Attrs& attrs;           ///< the op's attributes
  std::span<const bool> needs;  ///< which inputs want a gradient
};

/// A backward rule's result: one Var per input, its gradient (an undefined Var for none). Held
/// inline, so that the eager backward of a small op allocates nothing for it.
class Gradients {
 public:
  static constexpr size_t kCapacity = 8;  ///< the most inputs an op's backward can answer for
  Gradients() = default;
  /// `{ga, gb}`; throws ad::Error beyond kCapacity.
  Gradients(std::initializer_list<Var> grads);
  /// `count` copies of `grad` (add_n's backward); throws ad::Error beyond kCapacity.
  Gradients(size_t count, const Var& grad);
  size_t size() const { return size_; }  ///< the number of inputs answered for
  /// Input i's gradient.
  /// @{
  Var& operator[](size_t i) { return grads_[i]; }
  const Var& operator[](size_t i) const { return grads_[i]; }
  /// @}

 private:
  std::array<Var, kCapacity> grads_{};
  size_t size_ = 0;
};

struct OpDef;

/// Output shapes of a multi-output op (a fused op of the graph); single-output ops use infer.
using InferManyFn = std::vector<Shape> (*)(ShapeArgs);

/// One op: see the file's description. Definitions are constants with static storage (their
/// address is the op's identity in tapes and graphs).
struct OpDef {
  const char* name = "";  ///< in messages, dumps and reports: "relu", "matmul", ...
  int num_inputs = 1;     ///< -1: any number (add_n)
  /// The output's shape from the inputs' shapes and attributes; throws ad::Error naming the op
  /// and the shapes when they do not fit. Called before any kernel, eagerly and in graphs.
  Shape (*infer)(ShapeArgs) = nullptr;
  /// The computation; see KernelArgs.
  void (*forward)(const KernelArgs&) = nullptr;
  /// One Var per input, its gradient (an undefined Var for none), written with ops; null: the
  /// op passes no gradient (a step, or an op of compiled graphs only).
  Gradients (*backward)(const BackwardArgs&) = nullptr;
  /// Multi-output ops (graph/'s fused ops): all output shapes; infer is then unused.
  InferManyFn infer_many = nullptr;
  /// Inputs that are data, not differentiable (a loss's target, labels): backward is never
  /// asked for them. Bit i for input i.
  uint32_t data_inputs = 0;
  /// The output is a loss (a scalar); its input 0 is the model's prediction.
  bool is_loss = false;
  /// Outputs that are inputs written in place (update ops of graph/): output k is input k.
  bool in_place = false;
  /// Eagerly, the output as a view of input 0's storage instead of a kernel's copy (reshape);
  /// graphs run the kernel.
  Tensor (*view)(const Tensor& input, const Attrs& attrs) = nullptr;
  /// The attributes as text for graph dumps and reports (" trans_b", " delta=1"); null: none.
  std::string (*describe)(const Attrs&) = nullptr;
};

/// An input of apply() in a braced list: refers to the caller's Var (or a temporary that lives
/// until the call returns), so that passing it copies no reference count.
struct VarArg {
  const Var& var;  ///< the input
  /// Implicit, so that `apply(op, {x, y})` reads naturally.
  VarArg(const Var& v) : var(v) {}  // NOLINT(google-explicit-constructor)
};

/// Runs `op` on `inputs` and, when gradients are on and an input requires one, records it on
/// the active tape. Throws ad::Error from the shape rule or the kernel, naming the op.
Var apply(const OpDef& op, std::initializer_list<VarArg> inputs, Attrs attrs = {});
/// The same with the inputs in a span.
Var apply(const OpDef& op, std::span<const Var> inputs, Attrs attrs = {});

/// The attributes as the op's struct T; throws ad::Error naming the op when they are not a T.
template <typename T>
const T& attrs_as(const Attrs& attrs, const char* op) {
  const T* a = std::any_cast<T>(&attrs);
  if (!a) fail("{}: attributes of the wrong type ({})", op, attrs.has_value() ? attrs.type().name() : "none");
  return *a;
}

/// A View of a tensor (no copy).
inline View view_of(Tensor& t) { return {t.data(), &t.shape(), t.size()}; }
/// A View of a tensor that the kernel only reads.
inline View view_of(const Tensor& t) { return {const_cast<float*>(t.data()), &t.shape(), t.size()}; }

/// The backward rule of `node`'s op run on the node's values, under NoGrad: input gradients.
Gradients run_backward(const Node& node);
/// Throws ad::Error naming `op` unless its backward answered for each of its `inputs` (an
/// undefined Var for none): a short list would leave an input without its gradient, silently.
/// The eager tape and the graph's differentiation both check it.
void check_gradient_count(const OpDef& op, const Gradients& grads, size_t inputs);

/// Every op of the registry (those of autodiff/ops/ and the update ops); graph::fused_ops()
/// lists the graph's own. The op table test checks that each has a row.
std::span<const OpDef* const> registered_ops();

/// While alive on this thread, apply() computes shapes and records, but runs no kernel (its
/// outputs hold uninitialised data): graph differentiation traces backward rules with it.
class ShapeOnly {
 public:
  ShapeOnly();
  ~ShapeOnly();
  ShapeOnly(const ShapeOnly&) = delete;
  ShapeOnly& operator=(const ShapeOnly&) = delete;

 private:
  bool previous_;
};

}  // namespace ad
