// The backward of each forward kind, as graph nodes. Where a value feeds several nodes, its
// gradient is the sum (add_n) of their contributions, made once all of them exist: nodes are
// visited in reverse, so every consumer of a value comes before its producer.
#include "tapegrad/graph/differentiate.h"

#include <fmt/format.h>

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
      for (int out : n.outputs) needs_[static_cast<size_t>(out)] = any;
    }
    Node seed;
    seed.kind = Kind::FillScalar;
    seed.value = 1.f;
    seed.outputs = {temporary(g_.values[static_cast<size_t>(g_.loss)].shape, "dloss")};
    add(g_.loss, g_.add_node(std::move(seed)));
    for (size_t i = forward; i-- > 0;) backward_of(static_cast<int>(i));
    for (int p : g_.parameters) g_.gradients.push_back(total(p, -1));
  }

 private:
  int temporary(const Shape& shape, std::string name) {
    int id = g_.add_value(shape, Role::Temporary, std::move(name));
    parts_.emplace_back();
    needs_.push_back(false);
    return id;
  }

  // Records the output of node `node` as a contribution to value's gradient.
  void add(int value, int node) { parts_[static_cast<size_t>(value)].push_back(g_.nodes[static_cast<size_t>(node)].outputs[0]); }
  void add_value(int value, int grad) { parts_[static_cast<size_t>(value)].push_back(grad); }

  int emit(Kind kind, std::vector<int> inputs, const Shape& shape, int origin, Node node = {}) {
    node.kind = kind;
    node.inputs = std::move(inputs);
    node.origin = origin;
    int out = temporary(shape, fmt::format("d{}", g_.values.size()));
    node.outputs = {out};
    g_.add_node(std::move(node));
    return out;
  }

  const Shape& shape(int value) const { return g_.values[static_cast<size_t>(value)].shape; }

  // The gradient of a broadcast operand: summed back to its own shape.
  int sum_to(int grad, int operand, int origin) {
    const Shape& s = shape(operand);
    if (s == shape(grad)) return grad;
    if (ad::element_count(s) == 1) return emit(Kind::SumAll, {grad}, s, origin);
    return emit(Kind::ColumnSum, {grad}, s, origin);
  }

  int total(int value, int origin) {
    auto& p = parts_[static_cast<size_t>(value)];
    if (p.empty()) return -1;
    if (p.size() == 1) return p[0];
    return emit(Kind::AddN, p, shape(value), origin);
  }

  void backward_of(int i) {
    Node n = g_.nodes[static_cast<size_t>(i)];  // a copy: emit() grows the node list
    int grad = total(n.outputs[0], i);
    if (grad < 0) return;
    auto needs = [&](size_t k) { return k < n.inputs.size() && needs_[static_cast<size_t>(n.inputs[k])]; };
    int a = n.inputs[0], b = n.inputs.size() > 1 ? n.inputs[1] : -1, y = n.outputs[0];
    switch (n.kind) {
      case Kind::MatMul: {
        if (needs(0)) {
          Node m;
          m.trans_b = true;
          add_value(a, emit(Kind::MatMul, {grad, b}, shape(a), i, m));
        }
        if (needs(1)) {
          Node m;
          m.trans_a = true;
          add_value(b, emit(Kind::MatMul, {a, grad}, shape(b), i, m));
        }
        break;
      }
      case Kind::Add:
        if (needs(0)) add_value(a, sum_to(grad, a, i));
        if (needs(1)) add_value(b, sum_to(grad, b, i));
        break;
      case Kind::Sub:
        if (needs(0)) add_value(a, sum_to(grad, a, i));
        if (needs(1)) add_value(b, sum_to(emit(Kind::Neg, {grad}, shape(grad), i), b, i));
        break;
      case Kind::Mul:
        if (needs(0)) add_value(a, sum_to(emit(Kind::Mul, {grad, b}, shape(grad), i), a, i));
        if (needs(1)) add_value(b, sum_to(emit(Kind::Mul, {grad, a}, shape(grad), i), b, i));
        break;
      case Kind::Neg: add_value(a, emit(Kind::Neg, {grad}, shape(a), i)); break;
      case Kind::Relu: add_value(a, emit(Kind::ReluGrad, {y, grad}, shape(a), i)); break;
      case Kind::Sigmoid: add_value(a, emit(Kind::SigmoidGrad, {y, grad}, shape(a), i)); break;
      case Kind::Tanh: add_value(a, emit(Kind::TanhGrad, {y, grad}, shape(a), i)); break;
      case Kind::Softmax: add_value(a, emit(Kind::SoftmaxGrad, {y, grad}, shape(a), i)); break;
      case Kind::LogSoftmax: add_value(a, emit(Kind::LogSoftmaxGrad, {y, grad}, shape(a), i)); break;
      case Kind::Reshape: add_value(a, emit(Kind::Reshape, {grad}, shape(a), i)); break;
      case Kind::SumAll:
      case Kind::MeanAll: {
        Node m;
        m.value = n.kind == Kind::SumAll ? 1.f : 1.f / static_cast<float>(ad::element_count(shape(a)));
        add_value(a, emit(Kind::BroadcastScalar, {grad}, shape(a), i, m));
        break;
      }
      case Kind::MseLoss:
      case Kind::BinaryCrossentropy:
      case Kind::CategoricalCrossentropy:
      case Kind::SparseCategoricalCrossentropy: {
        Node m;
        m.loss = n.kind;
        m.from_logits = n.from_logits;
        add_value(a, emit(Kind::LossGrad, {a, b, grad}, shape(a), i, m));
        break;
      }
      default: ad::fail("append_backward: no backward for {} (node {})", kind_name(n.kind), i);
    }
  }

  Graph& g_;
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
    n.inputs = {p, grad};
    n.outputs = {p};
    if (rule.kind == UpdateKind::SGD) {
      n.kind = rule.momentum != 0.f ? Kind::MomentumUpdate : Kind::SgdUpdate;
    } else if (rule.kind == UpdateKind::Adam) {
      n.kind = Kind::AdamUpdate;
    } else {
      n.kind = Kind::RMSpropUpdate;
    }
    for (int s : g.slots[i]) {
      n.inputs.push_back(s);
      n.outputs.push_back(s);
    }
    g.add_node(std::move(n));
  }
}

}  // namespace graph
