// fuse_dense: matmul + bias add (+ activation) -> fused_dense, and backward the activation
// derivative + bias reduction -> activation_bias_grad. The weight and input gradient GEMMs are
// already single oneDNN calls with transposed layouts; they stay, and stay independent.
#include <fmt/format.h>

#include <optional>

#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/graph/passes.h"

namespace graph {

namespace {

using ad::kernels::Activation;

std::optional<Activation> activation_of(const Node& n) {
  if (n.is(ad::defs::relu)) return Activation::Relu;
  if (n.is(ad::defs::sigmoid)) return Activation::Sigmoid;
  if (n.is(ad::defs::tanh)) return Activation::Tanh;
  if (n.is(ad::defs::softplus)) return Activation::Softplus;
  return std::nullopt;
}

const ad::OpDef& gradient_of(Activation a) {
  switch (a) {
    case Activation::Relu: return ad::defs::relu_grad;
    case Activation::Sigmoid: return ad::defs::sigmoid_grad;
    case Activation::Tanh: return ad::defs::tanh_grad;
    case Activation::Softplus: return ad::defs::softplus_grad;
    case Activation::None: break;
  }
  throw ad::Error("fuse_dense: no gradient op for activation none");
}

bool plain_matmul(const Node& n) {
  if (!n.is(ad::defs::matmul)) return false;
  const auto& m = ad::attrs_as<ad::MatmulAttrs>(n.attrs, "matmul");
  return !m.trans_a && !m.trans_b;
}

// The only live node reading `value`, or -1.
int sole_consumer(const std::vector<std::vector<int>>& users, int value) {
  const auto& u = users[static_cast<size_t>(value)];
  return u.size() == 1 ? u[0] : -1;
}

std::string label(const Graph& g, int node) {
  return fmt::format("{}#{}", g.nodes[static_cast<size_t>(node)].name(), node);
}

}  // namespace

void fuse_dense(Graph& g) {
  const char* pass = "fuse_dense";
  int count = 0;
  for (size_t mi = 0; mi < g.nodes.size(); ++mi) {
    Node& m = g.nodes[mi];
    if (m.removed || !m.is(ad::defs::matmul) || m.origin >= 0) continue;
    auto users = g.consumers();
    int mm = static_cast<int>(mi);
    int z1 = m.outputs[0];
    const Shape& zs = g.values[static_cast<size_t>(z1)].shape;
    if (!plain_matmul(m)) {
      g.note(pass, fmt::format("{} left alone: an operand is transposed", label(g, mm)));
      continue;
    }
    int ai = sole_consumer(users, z1);
    if (ai < 0 || !g.nodes[static_cast<size_t>(ai)].is(ad::defs::add)) {
      g.note(pass, fmt::format("{} {} left alone: its output feeds {} node(s), not one bias add", label(g, mm),
                               ad::to_string(zs), users[static_cast<size_t>(z1)].size()));
      continue;
    }
    Node& add = g.nodes[static_cast<size_t>(ai)];
    int bias = add.inputs[0] == z1 ? add.inputs[1] : add.inputs[0];
    const Shape& bs = g.values[static_cast<size_t>(bias)].shape;
    int64_t units = zs.size() == 2 ? zs[1] : -1;
    bool row = (bs == Shape{units} || bs == Shape{1, units}) && g.values[static_cast<size_t>(add.outputs[0])].shape == zs;
    if (!row || add.inputs[0] == add.inputs[1]) {
      g.note(pass, fmt::format("{} left alone: the add's other operand {} is not a bias of {} units", label(g, mm),
                               ad::to_string(bs), units));
      continue;
    }
    int z2 = add.outputs[0];
    int last = ai;
    Activation activation = Activation::None;
    std::string why_no_activation;
    int ri = sole_consumer(users, z2);
    if (ri >= 0 && activation_of(g.nodes[static_cast<size_t>(ri)])) {
      activation = *activation_of(g.nodes[static_cast<size_t>(ri)]);
      last = ri;
    } else if (users[static_cast<size_t>(z2)].size() > 1) {
      why_no_activation = fmt::format("; the pre-activation value feeds {} nodes, so no activation was fused",
                                      users[static_cast<size_t>(z2)].size());
    } else if (ri >= 0) {
      why_no_activation = fmt::format("; the next node ({}) is not relu, sigmoid, tanh or softplus",
                                      g.nodes[static_cast<size_t>(ri)].name());
    }
    int y = g.nodes[static_cast<size_t>(last)].outputs[0];
    // Backward first: find the pieces before the forward nodes change.
    int act_grad = activation == Activation::None ? -1 : g.backward_node(last, gradient_of(activation));
    int bias_sum = g.backward_node(ai, ad::defs::sum_to);
    std::string backward_note;
    if (bias_sum >= 0) {
      Node& cs = g.nodes[static_cast<size_t>(bias_sum)];
      int dz = cs.inputs[0];
      if (activation == Activation::None || (act_grad >= 0 && g.nodes[static_cast<size_t>(act_grad)].outputs[0] == dz)) {
        Node fusedb;
        fusedb.op = &ops::activation_bias_grad;
        fusedb.attrs = ActivationBiasGradAttrs{.activation = activation};
        fusedb.origin = last;
        if (activation == Activation::None) {
          fusedb.inputs = {dz};
          fusedb.outputs = {cs.outputs[0]};
          cs = fusedb;
          backward_note = "; backward: sum_to -> activation_bias_grad (dz read in place)";
        } else {
          Node& ag = g.nodes[static_cast<size_t>(act_grad)];
          fusedb.inputs = ag.inputs;  // (y, dy)
          fusedb.outputs = {dz, cs.outputs[0]};
          ag = fusedb;
          cs.removed = true;
          backward_note = fmt::format("; backward: {} + sum_to -> activation_bias_grad", gradient_of(activation).name);
        }
      } else {
        backward_note = "; backward left unfused: the activation gradient does not feed the bias reduction";
      }
    } else {
      backward_note = "; no bias gradient is needed, backward left as is";
    }
    std::string activation_part =
        activation == Activation::None ? "" : fmt::format(" + {}#{}", g.nodes[static_cast<size_t>(ri)].name(), ri);
    Node fused;
    fused.op = &ops::fused_dense;
    fused.attrs = FusedDenseAttrs{.activation = activation};
    fused.inputs = {m.inputs[0], m.inputs[1], bias};
    fused.outputs = {y};
    Node& at = g.nodes[static_cast<size_t>(last)];
    fused.origin = -1;
    fused.after = at.after;
    for (int k : {mm, ai, ri})
      if (k >= 0 && k != last && (k != ri || activation != Activation::None)) g.nodes[static_cast<size_t>(k)].removed = true;
    at = fused;
    // Backward nodes made for the replaced forward nodes now belong to the fused one.
    for (Node& n : g.nodes)
      if (n.origin == mm || n.origin == ai) n.origin = last;
    g.note(pass, fmt::format("matmul#{} + add#{}{} -> fused_dense {} activation={}{}{}", mm, ai, activation_part,
                             ad::to_string(g.values[static_cast<size_t>(y)].shape), activation_name(activation),
                             why_no_activation, backward_note));
    ++count;
  }
  g.note(pass, fmt::format("{} dense layer(s) fused", count));
  g.compact();  // drops what the pass removed and renews the producers
}

}  // namespace graph
