#include "tapegrad/autodiff/var.h"

#include <algorithm>
#include <atomic>

#include "tapegrad/autodiff/threading.h"

namespace ad {

namespace {

thread_local Tape* active_tape = nullptr;
thread_local bool gradients_enabled = true;
std::atomic<uint64_t> next_generation{1};

}  // namespace

// ---- Var ----

Var::Var(Tensor value, bool requires_grad) : state_(std::make_shared<VarState>()) {
  state_->value = std::move(value);
  state_->requires_grad = requires_grad;
}

VarState& Var::state() const {
  TG_CHECK(state_ != nullptr, "Var: used before it was given a value");
  return *state_;
}

Var param(Tensor value) { return Var(std::move(value), true); }
Var constant(Tensor value) { return Var(std::move(value), false); }

void Var::backward() const {
  TG_CHECK(value().size() == 1, "backward: needs a one-element value or an output gradient, value has shape {}",
           to_string(shape()));
  backward_from_seed(Tensor::ones(shape()));
}

void Var::backward(const Tensor& grad_output) const { backward_from_seed(grad_output.clone()); }

void Var::backward_from_seed(Tensor grad_output) const {
  ComputeScope flush_subnormals;  // the whole pass, loops outside parallel_range too
  VarState& s = state();
  TG_CHECK(grad_output.shape() == s.value.shape(), "backward: output gradient has shape {}, value has shape {}",
           to_string(grad_output.shape()), to_string(s.value.shape()));
  if (!s.requires_grad) fail("backward: value of shape {} does not require a gradient (no parameter leads to it)",
                             to_string(s.value.shape()));
  if (s.node < 0) {  // a leaf: its gradient is the output gradient itself
    if (s.grad.shape() == s.value.shape()) {
      for (int64_t i = 0; i < s.grad.size(); ++i) s.grad[i] += grad_output[i];
    } else {
      s.grad = std::move(grad_output);
    }
    return;
  }
  // A tape nulls its outputs' tape pointer when cleared or destroyed.
  TG_CHECK(s.tape && s.tape->generation() == s.tape_generation,
           "backward: the tape that recorded this value was cleared or destroyed");
  // Intermediate gradients belong to one pass: clear them, then seed the output.
  const auto& nodes = s.tape->nodes();
  for (int64_t i = 0; i <= s.node; ++i) nodes[static_cast<size_t>(i)].output->grad = Tensor();
  s.grad = std::move(grad_output);
  s.tape->backward_from(s.node);
}

void Var::zero_grad() {
  if (state_) state_->grad = Tensor();
}

Var Var::detach() const { return Var(value(), false); }

void Var::set_requires_grad(bool on) {
  TG_CHECK(state().node < 0, "set_requires_grad: only leaves (parameters and constants) can change it");
  state_->requires_grad = on;
}

// ---- Tape ----

Tape::Tape() : previous_(active_tape), generation_(next_generation++) {
  nodes_.reserve(64);
  active_tape = this;
}

Tape::~Tape() {
  for (Node& n : nodes_) n.output->tape = nullptr;
  // Tapes usually end in the reverse order of their start; one that ends early (held by a
  // unique_ptr, say) is unlinked from the chain so that no tape is left pointing at it.
  if (active_tape == this) {
    active_tape = previous_;
    return;
  }
  for (Tape* t = active_tape; t; t = t->previous_)
    if (t->previous_ == this) {
      t->previous_ = previous_;
      break;
    }
}

Tape* Tape::active() { return active_tape; }

void Tape::clear() {
  for (Node& n : nodes_) n.output->tape = nullptr;
  nodes_.clear();  // keeps capacity
  generation_ = next_generation++;
}

void Tape::record(Node&& node) {
  node.output->tape = this;
  node.output->tape_generation = generation_;
  node.output->node = static_cast<int64_t>(nodes_.size());
  nodes_.push_back(std::move(node));
}

void Tape::backward_from(int64_t last) {
  for (int64_t i = last; i >= 0; --i) {
    const Node& node = nodes_[static_cast<size_t>(i)];
    if (node.output->grad.size() == 0 && node.output->value.size() != 0) continue;  // not on a path to the output
    if (node.backward) node.backward(node);
  }
}

// ---- NoGrad ----

NoGrad::NoGrad() : previous_(gradients_enabled) { gradients_enabled = false; }
NoGrad::~NoGrad() { gradients_enabled = previous_; }
bool grad_enabled() { return gradients_enabled; }

// ---- For op implementations ----

bool should_record(std::initializer_list<const Var*> inputs) {
  if (!active_tape || !gradients_enabled) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const Var* v) { return v->requires_grad(); });
}

Var make_result(Tensor value, Node node, std::initializer_list<const Var*> inputs) {
  Var out(std::move(value), false);
  if (!should_record(inputs)) return out;
  out.ref()->requires_grad = true;
  int i = 0;
  for (const Var* v : inputs) node.inputs[static_cast<size_t>(i++)] = v->ref();
  node.num_inputs = i;
  node.output = out.ref();
  if (!*node.name) node.name = op_name(node.op);
  active_tape->record(std::move(node));
  return out;
}

bool needs_grad(const Node& node, int i) {
  const VarRef& in = node.inputs[static_cast<size_t>(i)];
  return in && in->requires_grad;
}

namespace {

VarState* gradient_target(const Node& node, int i, const Tensor& gradient) {
  if (!needs_grad(node, i)) return nullptr;
  VarState& in = *node.inputs[static_cast<size_t>(i)];
  TG_CHECK(gradient.shape() == in.value.shape(), "{}: backward produced a gradient of shape {} for input {} of shape {}",
           node.name, to_string(gradient.shape()), i, to_string(in.value.shape()));
  return &in;
}

void add_into(Tensor& grad, const Tensor& gradient) {
  float* g = grad.data();
  const float* d = gradient.data();
  parallel_range(gradient.size(), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) g[k] += d[k];
  });
}

}  // namespace

void accumulate_grad(const Node& node, int i, const Tensor& gradient) {
  VarState* in = gradient_target(node, i, gradient);
  if (!in) return;
  if (in->grad.shape() != in->value.shape()) in->grad = gradient.clone();
  else add_into(in->grad, gradient);
}

void accumulate_grad(const Node& node, int i, Tensor&& gradient) {
  VarState* in = gradient_target(node, i, gradient);
  if (!in) return;
  if (in->grad.shape() == in->value.shape()) add_into(in->grad, gradient);
  else if (gradient.sole_owner()) in->grad = std::move(gradient);
  else in->grad = gradient.clone();
}

const char* op_name(Op op) {
  static constexpr const char* names[] = {
      "matmul", "add", "sub", "mul", "div", "neg", "exp", "log", "square", "sqrt", "abs", "relu", "sigmoid",
      "tanh", "softplus", "heaviside", "sign", "softmax", "log_softmax", "sum", "mean", "reshape", "transpose",
      "maximum", "minimum", "clip", "mse_loss", "mae_loss", "huber_loss", "binary_crossentropy",
      "binary_crossentropy_logits", "categorical_crossentropy", "sparse_categorical_crossentropy",
      "sparse_categorical_crossentropy_logits", "custom"};
  return names[static_cast<size_t>(op)];
}

}  // namespace ad
