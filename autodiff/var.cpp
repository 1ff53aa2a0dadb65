#include "tapegrad/autodiff/var.h"

#include <algorithm>
#include <atomic>

#include "tapegrad/autodiff/block_pool.h"
#include "tapegrad/autodiff/op.h"
#include "tapegrad/autodiff/threading.h"

namespace ad {

namespace {

thread_local Tape* active_tape = nullptr;
thread_local bool gradients_enabled = true;
std::atomic<uint64_t> next_generation{1};

}  // namespace

// ---- Var ----

Var::Var(Tensor value, bool requires_grad) : state_(std::allocate_shared<VarState>(BlockAllocator<VarState>{})) {
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
    if (s.grad_reached) {
      for (int64_t i = 0; i < s.grad.size(); ++i) s.grad[i] += grad_output[i];
    } else {
      s.grad = std::move(grad_output);
    }
    s.grad_reached = true;
    return;
  }
  // A tape nulls its outputs' tape pointer when cleared or destroyed.
  TG_CHECK(s.tape && s.tape->generation() == s.tape_generation,
           "backward: the tape that recorded this value was cleared or destroyed");
  // Intermediate gradients belong to one pass: clear them, then seed the output.
  const auto& nodes = s.tape->nodes();
  for (int64_t i = 0; i <= s.node; ++i) {
    VarState& out = *nodes[static_cast<size_t>(i)].output.ref();
    out.grad = Tensor();
    out.grad_reached = false;
  }
  s.grad = std::move(grad_output);
  s.grad_reached = true;
  s.tape->backward_from(s.node);
}

void Var::zero_grad() {
  if (!state_) return;
  state_->grad = Tensor();
  state_->grad_reached = false;
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
  for (Node& n : nodes_) n.output.ref()->tape = nullptr;
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
  for (Node& n : nodes_) n.output.ref()->tape = nullptr;
  nodes_.clear();  // keeps capacity
  generation_ = next_generation++;
}

void Tape::record(Node&& node) {
  VarState& out = *node.output.ref();
  out.tape = this;
  out.tape_generation = generation_;
  out.node = static_cast<int64_t>(nodes_.size());
  nodes_.push_back(std::move(node));
}

// A gradient reaching an op result recorded on another tape (an outer one, or one since cleared
// or destroyed) would stop there: that op's node is not on this tape, so the parameters behind
// it would silently get no gradient. Throws instead, naming the op.
void Tape::check_same_tape(const Node& node, int input) const {
  const VarState& in = *node.inputs[static_cast<size_t>(input)].ref();
  if (in.node < 0 || !in.requires_grad) return;  // a leaf: it keeps its gradient itself
  if (in.tape == this && in.tape_generation == generation_) return;
  fail("backward: input {} of {} (shape {}) was computed on {}; gradients do not cross tapes: record the "
       "whole computation, from the parameters to the loss, on one tape (or detach() that input)",
       input, node.name(), to_string(in.value.shape()),
       in.tape ? "another tape, still active" : "a tape since cleared or destroyed");
}

void Tape::backward_from(int64_t last) {
  for (int64_t i = last; i >= 0; --i) {
    const Node& node = nodes_[static_cast<size_t>(i)];
    const VarState& out = *node.output.ref();
    if (!out.grad_reached) continue;  // not on a path to the output
    Gradients grads = run_backward(node);
    for (int k = 0; k < node.num_inputs && k < static_cast<int>(grads.size()); ++k)
      if (grads[static_cast<size_t>(k)].defined() && !(node.op->data_inputs >> k & 1u)) {
        check_same_tape(node, k);
        accumulate_grad(node, k, std::move(grads[static_cast<size_t>(k)]));
      }
  }
}

// ---- NoGrad ----

NoGrad::NoGrad() : previous_(gradients_enabled) { gradients_enabled = false; }
NoGrad::~NoGrad() { gradients_enabled = previous_; }
bool grad_enabled() { return gradients_enabled; }
EnableGrad::EnableGrad() : previous_(gradients_enabled) { gradients_enabled = true; }
EnableGrad::~EnableGrad() { gradients_enabled = previous_; }

// ---- For the registry ----

bool should_record(std::span<const Var> inputs) {
  if (!active_tape || !gradients_enabled) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const Var& v) { return v.requires_grad(); });
}

const char* Node::name() const { return op ? op->name : ""; }

void accumulate_grad(const Node& node, int i, Var contribution) {
  const Tensor& gradient = contribution.value();
  const VarRef& ref = node.inputs[static_cast<size_t>(i)].ref();
  if (!ref || !ref->requires_grad) return;
  VarState& in = *ref;
  TG_CHECK(gradient.shape() == in.value.shape(), "{}: backward produced a gradient of shape {} for input {} of shape {}",
           node.name(), to_string(gradient.shape()), i, to_string(in.value.shape()));
  if (!in.grad_reached) {
    in.grad_reached = true;
    // The first contribution: taken over when nothing else holds it (the usual case), else copied.
    // Only a fresh op result (no other handle on its Var or its storage) is safe to take.
    bool fresh = contribution.ref().use_count() == 1 && gradient.sole_owner();
    in.grad = fresh ? std::move(contribution.state().value) : gradient.clone();
    return;
  }
  float* g = in.grad.data();
  const float* d = gradient.data();
  parallel_range(gradient.size(), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) g[k] += d[k];
  });
}

}  // namespace ad
