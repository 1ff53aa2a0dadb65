// The backward of each forward node, as graph nodes: the op's own backward rule (the registry's,
// the same code the eager tape runs) is traced on placeholder values, and the ops it applies
// become nodes. Where a value feeds several nodes, its gradient is the sum (add_n) of their
// contributions, made once all of them exist: nodes are visited in reverse, so every consumer
// of a value comes before its producer.
#include "tapegrad/graph/differentiate.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <unordered_map>

#include "tapegrad/autodiff/op_defs.h"

namespace graph {

namespace {

class Differentiator {
 public:
  explicit Differentiator(Graph& g) : g_(g), parts_(g.values.size()), needs_(g.values.size(), false) {}

  void run() {
    for (int p : g_.parameters) needs_[static_cast<size_t>(p)] = true;
    size_t forward = g_.nodes.size();
    for (size_t i = 0; i < forward; ++i) {
      const Node& n = g_.nodes[i];
      bool any = false;
      for (int in : n.inputs) any = any || needs_[static_cast<size_t>(in)];
      for (int out : n.outputs) needs_[static_cast<size_t>(out)] = any && !n.is(ops::stop_gradient);
    }
    // The seed: dloss/dloss = 1.
    int seed = g_.add_value(g_.values[static_cast<size_t>(g_.loss)].shape, Role::Constant, "dloss");
    g_.values[static_cast<size_t>(seed)].data = Tensor::ones(g_.values[static_cast<size_t>(g_.loss)].shape);
    grow();
    parts_[static_cast<size_t>(g_.loss)].push_back(seed);
    for (size_t i = forward; i-- > 0;) backward_of(static_cast<int>(i));
    for (int p : g_.parameters) g_.gradients.push_back(total(p, -1));
  }

 private:
  void grow() {
    parts_.resize(g_.values.size());
    needs_.resize(g_.values.size(), false);
  }

  const Shape& shape(int value) const { return g_.values[static_cast<size_t>(value)].shape; }

  int total(int value, int origin) {
    auto p = parts_[static_cast<size_t>(value)];
    if (p.empty()) return -1;
    if (p.size() == 1) return p[0];
    int out = g_.add_value(shape(value), Role::Temporary, fmt::format("d{}", g_.values.size()));
    Node n;
    n.op = &ad::defs::add_n;
    n.inputs = p;
    n.outputs = {out};
    n.origin = origin;
    g_.add_node(std::move(n));
    grow();
    return out;
  }

  // Traces node i's backward rule: the ops it applies on placeholders of its inputs, output and
  // output gradient are recorded on a tape of their own, then copied in as nodes.
  void backward_of(int i) {
    Node n = g_.nodes[static_cast<size_t>(i)];  // a copy: the node list grows
    int grad = total(n.outputs[0], i);
    if (grad < 0) return;
    const ad::OpDef& op = *n.op;
    std::vector<bool> needs(n.inputs.size());
    bool any = false;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      needs[k] = needs_[static_cast<size_t>(n.inputs[k])] && !(op.data_inputs >> k & 1u);
      any = any || needs[k];
    }
    if (!any) return;
    TG_CHECK(op.backward, "Graph::from: {} (node {}) has no gradient, but a parameter's gradient passes through it",
             op.name, i);
    std::unordered_map<const ad::VarState*, int> ids;
    // Placeholders hold NaN: a rule that reads values instead of applying ops (detach(),
    // value(), a NoGrad scope) would bake them into the graph, and value_of() refuses that.
    auto placeholder = [&](int value) {
      ad::Var v(Tensor::full(shape(value), std::numeric_limits<float>::quiet_NaN()), true);
      ids[v.ref().get()] = value;
      return v;
    };
    std::vector<ad::Var> inputs;
    for (int in : n.inputs) inputs.push_back(placeholder(in));
    ad::Var output = placeholder(n.outputs[0]), dy = placeholder(grad);
    ad::Gradients grads;
    ad::Tape tape;
    {
      ad::EnableGrad recording;
      ad::ShapeOnly no_kernels;
      std::unique_ptr<bool[]> flags(new bool[needs.size()]);
      for (size_t k = 0; k < needs.size(); ++k) flags[k] = needs[k];
      grads = op.backward({inputs, output, dy, n.attrs, std::span<const bool>(flags.get(), needs.size())});
    }
    ad::check_gradient_count(op, grads, n.inputs.size());
    current_op_ = op.name;
    for (const ad::Node& t : tape.nodes()) {
      Node m;
      m.op = t.op;
      m.attrs = t.attrs;
      m.origin = i;
      for (int k = 0; k < t.num_inputs; ++k) m.inputs.push_back(value_of(ids, t.inputs[static_cast<size_t>(k)].ref()));
      int out = g_.add_value(t.output.value().shape(), Role::Temporary, fmt::format("d{}", g_.values.size()));
      grow();
      ids[t.output.ref().get()] = out;
      m.outputs = {out};
      g_.add_node(std::move(m));
    }
    for (size_t k = 0; k < n.inputs.size() && k < grads.size(); ++k) {
      if (!needs[k] || !grads[k].defined()) continue;
      TG_CHECK(grads[k].shape() == shape(n.inputs[k]), "{}: backward gave a gradient of shape {} for input {} of shape {}",
               op.name, ad::to_string(grads[k].shape()), k, ad::to_string(shape(n.inputs[k])));
      parts_[static_cast<size_t>(n.inputs[k])].push_back(value_of(ids, grads[k].ref()));
    }
  }

  // The graph value of a Var the rule used: a placeholder, a traced op's output, or a constant
  // the rule made (a scalar factor), copied into the graph.
  int value_of(std::unordered_map<const ad::VarState*, int>& ids, const ad::VarRef& ref) {
    auto it = ids.find(ref.get());
    if (it != ids.end()) return it->second;
    for (float v : ref->value.values())
      TG_CHECK(!std::isnan(v), "Graph::from: the backward rule of {} made a value from its inputs' data outside "
               "recorded ops (detach(), value() or a NoGrad scope); a backward rule must be written with ops only",
               current_op_);
    int id = g_.add_value(ref->value.shape(), Role::Constant, fmt::format("c{}", g_.values.size()));
    g_.values[static_cast<size_t>(id)].data = ref->value.clone();
    grow();
    ids[ref.get()] = id;
    return id;
  }

  Graph& g_;
  const char* current_op_ = "";
  std::vector<std::vector<int>> parts_;
  std::vector<bool> needs_;
};

}  // namespace

void append_backward(Graph& g) {
  TG_CHECK(g.loss >= 0, "append_backward: the graph has no loss");
  Differentiator(g).run();
}

void append_updates(Graph& g) {
  const UpdateRule& rule = g.update;
  auto names = rule.slot_names();
  g.slots.assign(g.parameters.size(), {});
  for (size_t i = 0; i < g.parameters.size(); ++i) {
    int p = g.parameters[i];
    for (size_t j = 0; j < names.size(); ++j) {
      int s = g.add_value(g.values[static_cast<size_t>(p)].shape, Role::Slot,
                          fmt::format("{}/{}", g.values[static_cast<size_t>(p)].name, names[j]));
      g.values[static_cast<size_t>(s)].binding = static_cast<int>(i * names.size() + j);
      g.slots[i].push_back(s);
    }
    int grad = g.gradients[i];
    if (rule.kind == UpdateKind::None || grad < 0) continue;
    Node n;
    n.op = ops::update_op(rule);
    n.attrs = rule;
    n.inputs = {p, grad};
    n.outputs = {p};
    for (int s : g.slots[i]) {
      n.inputs.push_back(s);
      n.outputs.push_back(s);
    }
    g.add_node(std::move(n));
  }
}

}  // namespace graph
