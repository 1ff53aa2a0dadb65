/// @file
/// Var and Tape: tape-based reverse-mode automatic differentiation.
///
/// @code
/// #include <tapegrad/autodiff/ops.h>
/// ad::Rng rng(42);
/// ad::Tape tape;                                        // records every op while alive
/// ad::Var W = ad::param(ad::Tensor::uniform({2, 3}, -1, 1, rng));
/// ad::Var x = ad::constant(ad::Tensor::ones({4, 2}));
/// ad::Var loss = ad::mean(ad::square(ad::matmul(x, W)));
/// loss.backward();                                      // W.grad() now holds dloss/dW
/// tape.clear();                                         // next step reuses the node storage
/// @endcode
///
/// The tape is a Wengert list: each op appends one Node (its registry entry, attributes, inputs
/// and output; op.h). backward() walks the list in
/// reverse. Leaf gradients accumulate across backward calls (zero them with zero_grad());
/// gradients of intermediate values are recomputed by every backward call.
/// Without an active tape, or inside a NoGrad scope, ops compute values and record nothing.
#pragma once
#include <any>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace ad {

class Tape;

/// What a Var handle points to: its value, gradient and the tape node that produced it.
struct VarState {
  Tensor value;  ///< the forward value
  Tensor grad;  ///< size 0 until a backward pass reaches this value
  /// Whether a backward pass reached this value: grad then holds its gradient, which has no
  /// elements when the value has none (so size 0 alone cannot tell).
  bool grad_reached = false;
  bool requires_grad = false;  ///< true for parameters and for results of ops on them
  Tape* tape = nullptr;  ///< the tape that recorded the op producing this value, if any
  uint64_t tape_generation = 0;  ///< the tape's generation() when recorded: a cleared tape's nodes are stale
  int64_t node = -1;  ///< index of that op's node on the tape
};
/// Shared ownership of a VarState: copies of a Var are the same variable.
using VarRef = std::shared_ptr<VarState>;

/// A value in a differentiable computation: a tensor, its gradient and its history on the
/// active tape. Copies are handles to the same variable.
class Var {
 public:
  Var() = default;
  /// A leaf holding `value` (param() and constant() say which kind).
  explicit Var(Tensor value, bool requires_grad = false);
  /// A handle on existing state (for custom ops).
  explicit Var(VarRef state) : state_(std::move(state)) {}

  /// The forward value.
  const Tensor& value() const& { return state().value; }
  /// The data of a parameter may be changed in place (optimizers do); keep its shape.
  Tensor& value() & { return state().value; }
  /// On a temporary Var (the result of an op), a handle: a reference could outlive the state.
  Tensor value() const&& { return state().value; }
  /// The gradient accumulated by backward(), of value()'s shape; size 0 before any.
  const Tensor& grad() const& { return state().grad; }
  /// On a temporary Var, a handle of the gradient.
  Tensor grad() const&& { return state().grad; }
  /// Whether a backward pass has reached this value.
  bool has_grad() const { return state().grad.size() > 0; }
  /// Whether gradients flow to this value (parameters and what depends on them).
  bool requires_grad() const { return state_ && state_->requires_grad; }
  /// value().shape() (a copy on a temporary Var).
  /// @{
  const Shape& shape() const& { return state().value.shape(); }
  Shape shape() const&& { return state().value.shape(); }
  /// @}
  /// value().size().
  int64_t size() const { return state().value.size(); }
  /// The single value of a one-element Var (a loss); throws ad::Error otherwise.
  float item() const { return state().value.item(); }
  /// False for a default-constructed Var, which holds nothing.
  bool defined() const { return state_ != nullptr; }

  /// Back-propagates from this value: a one-element value gets gradient 1, any other value
  /// needs an explicit output gradient of its shape.
  void backward() const;
  /// Back-propagates with `grad_output` (value()'s shape) as the seed, for non-scalar outputs.
  void backward(const Tensor& grad_output) const;
  void zero_grad();                 ///< forgets the accumulated gradient
  Var detach() const;               ///< same value, no history, no gradient
  void set_requires_grad(bool on);  ///< leaves only

  /// The shared state (for custom ops and the graph capture).
  const VarRef& ref() const { return state_; }
  /// The state; throws ad::Error for an undefined Var.
  VarState& state() const;

 private:
  void backward_from_seed(Tensor grad_output) const;  ///< takes the seed over
  VarRef state_;
};

/// A trainable leaf (requires_grad): a parameter that backward() computes a gradient for.
Var param(Tensor value);
/// A leaf that needs no gradient (inputs, targets).
Var constant(Tensor value);

struct OpDef;

/// One recorded op on the tape: enough to run its backward (op.h's run_backward()).
struct Node {
  const OpDef* op = nullptr;       ///< the registry entry (op.h)
  std::any attrs;                  ///< the op's attributes, as its OpDef expects them
  std::array<Var, 4> inputs{};     ///< unused slots are undefined
  int num_inputs = 0;              ///< the used slots of inputs
  Var output;                      ///< the op's result
  const char* name() const;        ///< the op's name
};

/// The Wengert list of one computation: ops append nodes while this tape is the thread's
/// active one (see the file's description). Not copyable.
class Tape {
 public:
  Tape();   ///< becomes this thread's active tape
  ~Tape();  ///< the previously active tape becomes active again
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// Forgets all nodes but keeps their storage, ready for the next step.
  void clear();
  /// Number of recorded nodes.
  size_t size() const { return nodes_.size(); }
  /// The nodes in recording order (graph::Graph::from reads them).
  const std::vector<Node>& nodes() const { return nodes_; }
  /// Incremented by clear(): tells a Var recorded before the clear that its node is gone.
  uint64_t generation() const { return generation_; }

  /// The thread's active tape, or null.
  static Tape* active();
  /// Appends a node and ties its output to it.
  void record(Node&& node);
  /// Reverse sweep from nodes_[last] down, starting with output's gradient already set. Throws
  /// ad::Error, naming the op, when a gradient reaches an op result recorded on another tape (an
  /// outer one, or one cleared or destroyed): it could not flow on to the parameters behind it.
  void backward_from(int64_t last);

 private:
  void check_same_tape(const Node& node, int input) const;

  std::vector<Node> nodes_;
  Tape* previous_;
  uint64_t generation_;
};

/// While alive, ops on this thread record nothing (inference, optimizer updates).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};
/// While alive, ops on this thread record again inside a NoGrad scope (graph differentiation
/// traces backward rules with it).
class EnableGrad {
 public:
  EnableGrad();
  ~EnableGrad();
  EnableGrad(const EnableGrad&) = delete;
  EnableGrad& operator=(const EnableGrad&) = delete;

 private:
  bool previous_;
};

/// Whether ops record: a tape is active and no NoGrad scope is open on this thread.
bool grad_enabled();

// ---- For the registry (op.h) ----
/// True when an op with these inputs must be recorded: a tape is active, gradients are
/// enabled and at least one input requires a gradient.
bool should_record(std::span<const Var> inputs);
/// Adds `contribution`'s value to the gradient of input i of the node when that input
/// requires one; throws ad::Error naming the op when its shape is not the input's.
void accumulate_grad(const Node& node, int i, Var contribution);

}  // namespace ad
