// apply(): the one way an op runs eagerly — shape rule, kernel, and a tape node when a
// gradient is wanted. run_backward(): the op's backward rule on the recorded values.
#include "tapegrad/autodiff/op.h"

#include <algorithm>
#include <array>

namespace ad {

namespace {

thread_local bool shape_only = false;

constexpr size_t kMaxInputs = 8;

}  // namespace

ShapeOnly::ShapeOnly() : previous_(shape_only) { shape_only = true; }
ShapeOnly::~ShapeOnly() { shape_only = previous_; }

namespace {

// apply() on inputs given by address: the public overloads reach it without copying a Var (each
// copy is an atomic increment and decrement of its count, a noticeable part of a small op).
Var apply_to(const OpDef& op, std::span<const Var* const> inputs, Attrs&& attrs) {
  TG_CHECK(op.num_inputs < 0 || static_cast<size_t>(op.num_inputs) == inputs.size(), "{}: takes {} input(s), got {}",
           op.name, op.num_inputs, inputs.size());
  TG_CHECK(!inputs.empty() && inputs.size() <= kMaxInputs, "{}: runs eagerly on 1 to {} inputs, got {}", op.name,
           kMaxInputs, inputs.size());
  TG_CHECK(op.infer && op.forward, "{}: runs only in compiled graphs (it has no single-output shape rule or kernel)",
           op.name);
  std::array<const Shape*, kMaxInputs> shapes{};
  std::array<View, kMaxInputs> in{};
  bool wants_grad = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TG_CHECK(inputs[i]->defined(), "Var: used before it was given a value ({} input {})", op.name, i);
    const Tensor& t = inputs[i]->value();
    shapes[i] = &t.shape();
    in[i] = view_of(t);
    wants_grad = wants_grad || inputs[i]->requires_grad();
  }
  Shape shape = op.infer({std::span(shapes.data(), inputs.size()), attrs});
  bool record = wants_grad && grad_enabled() && Tape::active();
  TG_CHECK(!record || inputs.size() <= 4, "{}: at most 4 inputs can be recorded on a tape, got {}", op.name,
           inputs.size());
  Tensor out = op.view ? op.view(inputs[0]->value(), attrs) : Tensor::empty(std::move(shape));
  if (!op.view && (!shape_only || !record)) {  // values of constants are computed even while tracing
    static const KernelContext eager_context;
    View o = view_of(out);
    op.forward({std::span(in.data(), inputs.size()), std::span(&o, 1), attrs, eager_context});
  }
  Var result(std::move(out), false);
  if (!record) return result;
  result.ref()->requires_grad = true;
  Node node;
  node.op = &op;
  node.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs[i] = *inputs[i];
  node.num_inputs = static_cast<int>(inputs.size());
  node.output = result;
  Tape::active()->record(std::move(node));
  return result;
}

}  // namespace

Var apply(const OpDef& op, std::initializer_list<VarArg> inputs, Attrs attrs) {
  std::array<const Var*, kMaxInputs> pointers{};
  TG_CHECK(inputs.size() <= kMaxInputs, "{}: runs eagerly on 1 to {} inputs, got {}", op.name, kMaxInputs,
           inputs.size());
  size_t n = 0;
  for (const VarArg& v : inputs) pointers[n++] = &v.var;
  return apply_to(op, std::span(pointers.data(), n), std::move(attrs));
}

Var apply(const OpDef& op, std::span<const Var> inputs, Attrs attrs) {
  std::array<const Var*, kMaxInputs> pointers{};
  TG_CHECK(inputs.size() <= kMaxInputs, "{}: runs eagerly on 1 to {} inputs, got {}", op.name, kMaxInputs,
           inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) pointers[i] = &inputs[i];
  return apply_to(op, std::span(pointers.data(), inputs.size()), std::move(attrs));
}

Gradients::Gradients(std::initializer_list<Var> grads) : size_(grads.size()) {
  TG_CHECK(size_ <= kCapacity, "Gradients: at most {} input gradients, got {}", kCapacity, size_);
  std::copy(grads.begin(), grads.end(), grads_.begin());
}

Gradients::Gradients(size_t count, const Var& grad) : size_(count) {
  TG_CHECK(size_ <= kCapacity, "Gradients: at most {} input gradients, got {}", kCapacity, size_);
  std::fill_n(grads_.begin(), count, grad);
}

Gradients run_backward(const Node& node) {
  const OpDef& op = *node.op;
  const auto n = static_cast<size_t>(node.num_inputs);
  std::array<bool, 4> needs{};
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    needs[i] = node.inputs[i].requires_grad() && !(op.data_inputs >> i & 1u);
    any = any || needs[i];
  }
  if (!any) return {};
  TG_CHECK(op.backward, "{}: has no gradient, but a parameter's gradient passes through it", op.name);
  NoGrad eager;  // the rule's ops compute values; they are not themselves recorded
  // The output gradient as a Var: one state per thread, lent the tape's gradient tensor for the
  // call (a swap: no copy), so that a backward pass makes no allocation for it. A rule reads it
  // during the call only, and never reads its output's gradient. A rule that runs a backward
  // pass of its own (a nested tape) finds the thread's state lent out: that call gets a state
  // of its own, so the outer rule's `grad` stays what it was.
  thread_local Var shared{std::make_shared<VarState>()};
  thread_local bool lent_out = false;
  const bool nested = lent_out;
  if (!nested && shared.ref().use_count() > 1) shared = Var(std::make_shared<VarState>());  // still held by a caller
  Var own;
  if (nested) own = Var(std::make_shared<VarState>());
  const Var& grad = nested ? own : shared;
  struct Lend {  // lends the tape's gradient for the call and takes it back, on every exit
    Tensor& lent;
    Tensor& tape_grad;
    bool nested;
    Lend(Tensor& l, Tensor& t, bool n) : lent(l), tape_grad(t), nested(n) {
      std::swap(lent, tape_grad);
      if (!nested) lent_out = true;
    }
    ~Lend() {
      std::swap(lent, tape_grad);
      if (!nested) lent_out = false;
    }
  };
  Tensor& tape_grad = node.output.ref()->grad;
  Gradients grads;
  {
    Lend lend(grad.ref()->value, tape_grad, nested);
    grads = op.backward({std::span<const Var>(node.inputs.data(), n), node.output, grad, node.attrs,
                         std::span<const bool>(needs.data(), n)});
  }
  // A rule may hand the output gradient on as it is (add's): it then gets a state of its own.
  for (size_t k = 0; k < grads.size(); ++k)
    if (grads[k].ref() == grad.ref()) grads[k] = constant(tape_grad);
  check_gradient_count(op, grads, n);
  return grads;
}

void check_gradient_count(const OpDef& op, const Gradients& grads, size_t inputs) {
  TG_CHECK(grads.size() == inputs, "{}: backward returned {} gradients for {} inputs (one per input; an undefined Var "
           "for an input without one)", op.name, grads.size(), inputs);
}

}  // namespace ad
