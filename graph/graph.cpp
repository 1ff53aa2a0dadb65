// The graph's bookkeeping: names, adding values and nodes, compaction, and the text and
// Graphviz views that show a graph before and after the passes.
#include "tapegrad/graph/graph.h"

#include <fmt/format.h>

#include <unordered_map>

namespace graph {

const char* kind_name(Kind kind) {
  static constexpr const char* names[] = {
      "matmul", "add", "sub", "mul", "neg", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "sum_all",
      "mean_all", "reshape", "mse_loss", "binary_crossentropy", "categorical_crossentropy",
      "sparse_categorical_crossentropy", "relu_grad", "sigmoid_grad", "tanh_grad", "softmax_grad",
      "log_softmax_grad", "column_sum", "fill_scalar", "broadcast_scalar", "add_n", "loss_grad", "fused_dense",
      "activation_bias_grad", "softmax_crossentropy", "softmax_crossentropy_grad", "sgd_update", "momentum_update",
      "adam_update", "rmsprop_update"};
  return names[static_cast<size_t>(kind)];
}

const char* role_name(Role role) {
  static constexpr const char* names[] = {"input", "target", "parameter", "slot", "constant", "temporary"};
  return names[static_cast<size_t>(role)];
}

std::vector<std::string> UpdateRule::slot_names() const {
  if (kind == UpdateKind::SGD && momentum != 0.f) return {"momentum"};
  if (kind == UpdateKind::Adam) return {"m", "v"};
  if (kind == UpdateKind::RMSprop) return momentum != 0.f ? std::vector<std::string>{"velocity", "momentum"}
                                                          : std::vector<std::string>{"velocity"};
  return {};
}

int Graph::add_value(Shape shape, Role role, std::string name) {
  Value v;
  v.shape = std::move(shape);
  v.role = role;
  v.name = std::move(name);
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_node(Node node) {
  int id = static_cast<int>(nodes.size());
  for (int out : node.outputs)
    if (values[static_cast<size_t>(out)].role == Role::Temporary) values[static_cast<size_t>(out)].producer = id;
  nodes.push_back(std::move(node));
  return id;
}

void Graph::compact() {
  std::vector<int> renumber(nodes.size(), -1);
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!nodes[i].removed) {
      renumber[i] = static_cast<int>(kept.size());
      kept.push_back(std::move(nodes[i]));
    }
  for (Node& n : kept) {
    std::vector<int> after;
    for (int a : n.after)
      if (renumber[static_cast<size_t>(a)] >= 0) after.push_back(renumber[static_cast<size_t>(a)]);
    n.after = std::move(after);
    if (n.origin >= 0) n.origin = renumber[static_cast<size_t>(n.origin)];
  }
  nodes = std::move(kept);
  for (Value& v : values) v.producer = -1;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int out : nodes[i].outputs)
      if (values[static_cast<size_t>(out)].role == Role::Temporary) values[static_cast<size_t>(out)].producer = static_cast<int>(i);
}

int Graph::backward_node(int origin, Kind kind) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!nodes[i].removed && nodes[i].origin == origin && nodes[i].kind == kind) return static_cast<int>(i);
  return -1;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> users(values.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].removed) continue;
    for (int in : nodes[i].inputs) {
      auto& u = users[static_cast<size_t>(in)];
      if (u.empty() || u.back() != static_cast<int>(i)) u.push_back(static_cast<int>(i));
    }
  }
  return users;
}

namespace {

std::string value_label(const Graph& g, int id) {
  const Value& v = g.values[static_cast<size_t>(id)];
  std::string name = v.name.empty() ? fmt::format("v{}", id) : v.name;
  return fmt::format("{}{}", name, ad::to_string(v.shape));
}

std::string attributes(const Node& n) {
  std::string s;
  if (n.kind == Kind::MatMul || n.kind == Kind::FusedDense) {
    if (n.trans_a) s += " trans_a";
    if (n.trans_b) s += " trans_b";
    if (n.scale != 1.f) s += fmt::format(" scale={}{}", n.scale, n.times_learning_rate ? "*lr" : "");
    if (n.accumulate) s += " accumulate";
  }
  if (n.activation != ad::kernels::Activation::None) {
    static constexpr const char* names[] = {"none", "relu", "sigmoid", "tanh"};
    s += fmt::format(" activation={}", names[static_cast<size_t>(n.activation)]);
  }
  if (n.kind == Kind::LossGrad) s += fmt::format(" loss={}", kind_name(n.loss));
  if (n.from_logits) s += " from_logits";
  if (n.update_scale != 0.f) s += fmt::format(" bias_update={}{}", n.update_scale, n.times_learning_rate ? "*lr" : "");
  if (n.kind == Kind::FillScalar || n.kind == Kind::BroadcastScalar) s += fmt::format(" value={}", n.value);
  if (!n.after.empty()) s += fmt::format(" after={}", fmt::join(n.after, ","));
  return s;
}

}  // namespace

std::string Graph::dump() const {
  std::string out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.removed) continue;
    std::vector<std::string> ins, outs;
    for (int v : n.inputs) ins.push_back(value_label(*this, v));
    for (int v : n.outputs) outs.push_back(value_label(*this, v));
    out += fmt::format("{:3}: {} = {}({}){}\n", i, fmt::join(outs, ", "), kind_name(n.kind), fmt::join(ins, ", "),
                       attributes(n));
  }
  return out;
}

std::string Graph::to_dot() const {
  std::string out = "digraph step {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n";
  auto consumers_of = consumers();
  std::vector<bool> shown(values.size(), false);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.removed) continue;
    out += fmt::format("  n{} [shape=box, style=filled, fillcolor=\"{}\", label=\"{}{}\"];\n", i,
                       n.origin >= 0 ? "#fde0c5" : (n.kind >= Kind::SgdUpdate ? "#d5e8d4" : "#dae8fc"),
                       kind_name(n.kind), attributes(n));
    for (int v : n.inputs) shown[static_cast<size_t>(v)] = true;
    for (int v : n.outputs) shown[static_cast<size_t>(v)] = true;
    for (int a : n.after) out += fmt::format("  n{} -> n{} [style=dashed];\n", a, i);
  }
  for (size_t v = 0; v < values.size(); ++v) {
    if (!shown[v]) continue;
    const Value& val = values[v];
    out += fmt::format("  v{} [shape=ellipse, label=\"{}\\n{}\"];\n", v, value_label(*this, static_cast<int>(v)),
                       role_name(val.role));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.removed) continue;
    for (int v : n.inputs) out += fmt::format("  v{} -> n{};\n", v, i);
    for (int v : n.outputs) out += fmt::format("  n{} -> v{};\n", i, v);
  }
  out += "}\n";
  return out;
}

std::string Graph::report() const {
  std::string out;
  for (const ReportLine& l : report_lines) out += fmt::format("[{}] {}\n", l.pass, l.message);
  return out;
}

}  // namespace graph
