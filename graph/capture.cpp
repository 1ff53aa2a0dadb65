// Graph::from: reads the tape's nodes that lead to the loss and turns each into a graph node,
// then appends the backward and the parameter updates (differentiate.cpp).
#include <fmt/format.h>

#include <unordered_map>

#include "tapegrad/graph/differentiate.h"
#include "tapegrad/graph/graph.h"

namespace graph {

namespace {

bool is_row_broadcast(const Shape& full, const Shape& b) {
  if (full.empty() || b.empty() || b.size() > full.size() || b.back() != full.back()) return false;
  for (size_t i = 0; i + 1 < b.size(); ++i)
    if (b[i] != 1) return false;
  return true;
}

// The broadcasts the executor's binary kernel handles: equal shapes, a one-element operand,
// or a row (bias) repeated over the other operand's rows.
bool supported_broadcast(const Shape& out, const Shape& a, const Shape& b) {
  auto fits = [&](const Shape& s) {
    return s == out || ad::element_count(s) == 1 || is_row_broadcast(out, s);
  };
  return (a == out && fits(b)) || (b == out && fits(a));
}

class Capture {
 public:
  Capture(const ad::Tape& tape, const FromOptions& options) : tape_(tape), options_(options) {}

  Graph run(const ad::Var& root) {
    TG_CHECK(root.defined(), "Graph::from: the loss Var is empty");
    const ad::VarState& r = root.state();
    TG_CHECK(r.tape == &tape_ && r.tape_generation == tape_.generation() && r.node >= 0,
             "Graph::from: the loss of shape {} was not recorded on this tape (is a parameter on its path?)",
             ad::to_string(r.value.shape()));
    for (size_t i = 0; i < options_.parameters.size(); ++i) {
      const ad::Var& p = options_.parameters[i];
      std::string name = i < options_.parameter_names.size() ? options_.parameter_names[i] : fmt::format("param{}", i);
      int id = g_.add_value(p.shape(), Role::Parameter, name);
      g_.values[static_cast<size_t>(id)].binding = static_cast<int>(i);
      g_.parameters.push_back(id);
      by_state_[p.ref().get()] = id;
    }
    const auto& nodes = tape_.nodes();
    std::vector<bool> needed(static_cast<size_t>(r.node) + 1, false);
    needed[static_cast<size_t>(r.node)] = true;
    for (int64_t i = r.node; i >= 0; --i) {
      if (!needed[static_cast<size_t>(i)]) continue;
      const ad::Node& n = nodes[static_cast<size_t>(i)];
      for (int k = 0; k < n.num_inputs; ++k)
        if (const ad::VarState* in = n.inputs[static_cast<size_t>(k)].get(); recorded_here(in)) needed[static_cast<size_t>(in->node)] = true;
    }
    for (int64_t i = 0; i <= r.node; ++i)
      if (needed[static_cast<size_t>(i)]) capture(nodes[static_cast<size_t>(i)]);
    int out = by_state_.at(&r);
    if (options_.backward) {
      TG_CHECK(r.value.size() == 1, "Graph::from: the loss must have one element, got shape {}",
               ad::to_string(r.value.shape()));
      g_.loss = out;
      const Node& last = g_.nodes[static_cast<size_t>(g_.values[static_cast<size_t>(out)].producer)];
      if (last.kind >= Kind::MseLoss && last.kind <= Kind::SparseCategoricalCrossentropy) g_.prediction = last.inputs[0];
      g_.update = options_.update;
      append_backward(g_);
      append_updates(g_);
    } else {
      g_.prediction = out;
    }
    return std::move(g_);
  }

 private:
  bool recorded_here(const ad::VarState* s) const {
    return s && s->tape == &tape_ && s->tape_generation == tape_.generation() && s->node >= 0;
  }

  // A leaf tensor: a declared input or target (by storage), else a constant copied now.
  int leaf_tensor(const Tensor& t, const std::string& hint) {
    auto bind = [&](const std::vector<Tensor>& list, Role role, std::vector<int>& ids, const char* prefix) -> int {
      for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].data() != t.data() || list[i].size() != t.size()) continue;
        int id = g_.add_value(t.shape(), role, fmt::format("{}{}", prefix, i));
        g_.values[static_cast<size_t>(id)].binding = static_cast<int>(i);
        ids.push_back(id);
        return id;
      }
      return -1;
    };
    if (t.size() > 0) {
      if (int id = bind(options_.inputs, Role::Input, g_.inputs, "x"); id >= 0) return id;
      if (int id = bind(options_.targets, Role::Target, g_.targets, "y"); id >= 0) return id;
    }
    int id = g_.add_value(t.shape(), Role::Constant, hint);
    g_.values[static_cast<size_t>(id)].data = t.clone();
    return id;
  }

  int input_value(const ad::VarRef& ref) {
    auto it = by_state_.find(ref.get());
    if (it != by_state_.end()) return it->second;
    // Not a parameter and not recorded here: data the step reads (an input, or a constant).
    int id = leaf_tensor(ref->value, fmt::format("c{}", g_.values.size()));
    by_state_[ref.get()] = id;
    return id;
  }

  void capture(const ad::Node& t) {
    std::vector<int> in;
    for (int k = 0; k < t.num_inputs; ++k) in.push_back(input_value(t.inputs[static_cast<size_t>(k)]));
    const Shape& out_shape = t.output->value.shape();
    auto shape_of = [&](int k) -> const Shape& { return g_.values[static_cast<size_t>(in[static_cast<size_t>(k)])].shape; };
    Node n;
    n.inputs = in;
    switch (t.op) {
      case ad::Op::Matmul: n.kind = Kind::MatMul; break;
      case ad::Op::Add:
      case ad::Op::Sub:
      case ad::Op::Mul:
        n.kind = t.op == ad::Op::Add ? Kind::Add : (t.op == ad::Op::Sub ? Kind::Sub : Kind::Mul);
        TG_CHECK(supported_broadcast(out_shape, shape_of(0), shape_of(1)),
                 "Graph::from: {} of {} and {} broadcasts in a way the compiled graph does not support", t.name,
                 ad::to_string(shape_of(0)), ad::to_string(shape_of(1)));
        break;
      case ad::Op::Neg: n.kind = Kind::Neg; break;
      case ad::Op::Relu: n.kind = Kind::Relu; break;
      case ad::Op::Sigmoid: n.kind = Kind::Sigmoid; break;
      case ad::Op::Tanh: n.kind = Kind::Tanh; break;
      case ad::Op::Softmax: n.kind = Kind::Softmax; break;
      case ad::Op::LogSoftmax: n.kind = Kind::LogSoftmax; break;
      case ad::Op::Reshape: n.kind = Kind::Reshape; break;
      case ad::Op::Sum:
      case ad::Op::Mean:
        TG_CHECK(t.axis == -1, "Graph::from: {} along axis {} is not supported by the compiled graph (only over all elements)",
                 t.name, t.axis);
        n.kind = t.op == ad::Op::Sum ? Kind::SumAll : Kind::MeanAll;
        break;
      case ad::Op::MseLoss: n.kind = Kind::MseLoss; break;
      case ad::Op::BinaryCrossentropy:
      case ad::Op::BinaryCrossentropyLogits:
        n.kind = Kind::BinaryCrossentropy;
        n.from_logits = t.op == ad::Op::BinaryCrossentropyLogits;
        break;
      case ad::Op::CategoricalCrossentropy:
        n.kind = Kind::CategoricalCrossentropy;
        n.from_logits = t.attrs[0] != 0;
        break;
      case ad::Op::SparseCategoricalCrossentropy:
      case ad::Op::SparseCategoricalCrossentropyLogits:
        n.kind = Kind::SparseCategoricalCrossentropy;
        n.from_logits = t.op == ad::Op::SparseCategoricalCrossentropyLogits;
        break;
      default:
        ad::fail("Graph::from: op '{}' (output {}) is not supported by the compiled graph", t.name,
                 ad::to_string(out_shape));
    }
    // The losses keep their target among the saved tensors, not the inputs.
    if (n.kind >= Kind::MseLoss && n.kind <= Kind::SparseCategoricalCrossentropy)
      n.inputs.push_back(leaf_tensor(t.saved[0], fmt::format("target{}", g_.values.size())));
    int out = g_.add_value(out_shape, Role::Temporary, fmt::format("{}{}", kind_name(n.kind), g_.nodes.size()));
    n.outputs = {out};
    n.loss = n.kind;
    g_.add_node(std::move(n));
    by_state_[t.output.get()] = out;
  }

  const ad::Tape& tape_;
  const FromOptions& options_;
  Graph g_;
  std::unordered_map<const ad::VarState*, int> by_state_;
};

}  // namespace

Graph Graph::from(const ad::Tape& tape, const ad::Var& loss, const FromOptions& options) {
  return Capture(tape, options).run(loss);
}

}  // namespace graph
