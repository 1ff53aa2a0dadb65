// Graph::from: reads the tape's nodes that lead to the loss and turns each into a graph node of
// the same registry entry, then appends the backward and the parameter updates (differentiate.cpp).
#include <fmt/format.h>

#include <unordered_map>

#include "tapegrad/graph/differentiate.h"
#include "tapegrad/graph/graph.h"

namespace graph {

namespace {

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
        if (const ad::VarState* in = n.inputs[static_cast<size_t>(k)].ref().get(); recorded_here(in)) needed[static_cast<size_t>(in->node)] = true;
    }
    for (int64_t i = 0; i <= r.node; ++i)
      if (needed[static_cast<size_t>(i)]) capture(nodes[static_cast<size_t>(i)]);
    int out = by_state_.at(&r);
    if (options_.backward) {
      TG_CHECK(r.value.size() == 1, "Graph::from: the loss must have one element, got shape {}",
               ad::to_string(r.value.shape()));
      g_.loss = out;
      const Node& last = g_.nodes[static_cast<size_t>(g_.values[static_cast<size_t>(out)].producer)];
      if (last.op->is_loss) g_.prediction = last.inputs[0];
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

  // A leaf tensor: a parameter's data, a declared input or target (by storage), else a
  // constant copied now.
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
      // A parameter's data read without its gradient (W.detach()): the live parameter, not a
      // copy frozen at capture.
      for (size_t i = 0; i < options_.parameters.size(); ++i) {
        const Tensor& p = options_.parameters[i].value();
        if (p.data() != t.data() || p.size() != t.size() || p.shape() != t.shape()) continue;
        Node n;
        n.op = &ops::stop_gradient;
        n.inputs = {g_.parameters[i]};
        n.outputs = {g_.add_value(t.shape(), Role::Temporary, fmt::format("{}_value", g_.values[static_cast<size_t>(g_.parameters[i])].name))};
        g_.add_node(std::move(n));
        return g_.nodes.back().outputs[0];
      }
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

  // The tape's node as a graph node: the same registry entry and attributes.
  void capture(const ad::Node& t) {
    Node n;
    n.op = t.op;
    n.attrs = t.attrs;
    for (int k = 0; k < t.num_inputs; ++k) n.inputs.push_back(input_value(t.inputs[static_cast<size_t>(k)].ref()));
    int out = g_.add_value(t.output.value().shape(), Role::Temporary, fmt::format("{}{}", t.name(), g_.nodes.size()));
    n.outputs = {out};
    g_.add_node(std::move(n));
    by_state_[t.output.ref().get()] = out;
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
