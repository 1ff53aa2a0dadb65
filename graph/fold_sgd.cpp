// fold_sgd: with plain SGD, W -= lr * Xᵀ·dZ is one oneDNN matmul with a runtime source scale
// of -lr and a sum post-op into W itself, so the weight gradient never exists as a buffer;
// the bias update rides on the bias reduction's pass. The input gradient dZ·Wᵀ still reads
// the old W: the executor orders every reader of W before the write (schedule.h).
// With SGD's (heavy-ball) momentum, the GEMM accumulates into the velocity instead,
// V = μV - lr·Xᵀ·dZ (the sum post-op's scale is μ), and apply_velocity adds V to W: the
// gradient never exists either, and the update pass reads two arrays instead of three.
// Nesterov's step needs the gradient itself (w += μv - lr·g), as do Adam and RMSprop.
#include <fmt/format.h>

#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/graph/passes.h"

namespace graph {

void fold_sgd(Graph& g) {
  const char* pass = "fold_sgd";
  const UpdateRule& rule = g.update;
  const bool momentum = rule.kind == UpdateKind::SGD && rule.momentum != 0.f;
  if (rule.kind != UpdateKind::SGD || (momentum && rule.nesterov)) {
    g.note(pass, rule.kind == UpdateKind::None ? "no update rule: nothing to fold"
                 : momentum                     ? "Nesterov momentum needs the gradient itself: update nodes stay, in place"
                                                : "the update needs the gradient itself (Adam or RMSprop state): update nodes stay, in place");
    return;
  }
  const ad::OpDef& update_op = momentum ? ops::momentum_update : ops::sgd_update;
  int folded = 0;
  for (size_t i = 0; i < g.parameters.size(); ++i) {
    int p = g.parameters[i], grad = g.gradients[i];
    if (grad < 0) continue;
    const std::string& name = g.values[static_cast<size_t>(p)].name;
    auto users = g.consumers();
    int update = -1;
    for (int u : users[static_cast<size_t>(grad)])
      if (g.nodes[static_cast<size_t>(u)].is(update_op)) update = u;
    int producer = g.values[static_cast<size_t>(grad)].producer;
    if (update < 0 || producer < 0 || users[static_cast<size_t>(grad)].size() != 1) {
      g.note(pass, fmt::format("{}: left alone, its gradient is read by {} nodes", name, users[static_cast<size_t>(grad)].size()));
      continue;
    }
    // Every other reader of the parameter must come before the folded write.
    bool readers_first = true;
    for (int u : users[static_cast<size_t>(p)])
      if (u != update && u > producer) readers_first = false;
    if (!readers_first) {
      g.note(pass, fmt::format("{}: left alone, it is read after its gradient is made (a shared weight?)", name));
      continue;
    }
    Node& n = g.nodes[static_cast<size_t>(producer)];
    if (n.is(ad::defs::matmul) && momentum) {
      const auto& m = ad::attrs_as<ad::MatmulAttrs>(n.attrs, "matmul");
      Node& u = g.nodes[static_cast<size_t>(update)];
      int velocity = u.inputs[2];  // momentum_update: (W, g, V) -> (W, V)
      n.op = &ops::matmul_momentum_update;
      n.attrs = MatmulMomentumAttrs{.trans_a = m.trans_a, .trans_b = m.trans_b, .momentum = rule.momentum};
      n.outputs = {velocity};
      u.op = &ops::apply_velocity;
      u.attrs = {};
      u.inputs = {p, velocity};
      u.outputs = {p};
      g.note(pass, fmt::format("{}: matmul#{} writes its velocity {} = {}·V - lr * op(a)·op(b) in place, no gradient "
                               "buffer; apply_velocity#{} adds it to the weights",
                               name, producer, ad::to_string(g.values[static_cast<size_t>(p)].shape), rule.momentum, update));
    } else if (n.is(ad::defs::matmul)) {
      const auto& m = ad::attrs_as<ad::MatmulAttrs>(n.attrs, "matmul");
      n.op = &ops::matmul_sgd_update;
      n.attrs = MatmulUpdateAttrs{.trans_a = m.trans_a, .trans_b = m.trans_b};
      n.outputs = {p};
      g.nodes[static_cast<size_t>(update)].removed = true;
      g.note(pass, fmt::format("{}: matmul#{} writes {} += -lr * op(a)·op(b) in place, no gradient buffer", name,
                               producer, ad::to_string(g.values[static_cast<size_t>(p)].shape)));
    } else if (n.is(ops::activation_bias_grad) && n.outputs.back() == grad && !momentum) {
      n.outputs.back() = p;
      auto a = ad::attrs_as<ActivationBiasGradAttrs>(n.attrs, "activation_bias_grad");
      a.update_bias = true;
      n.attrs = a;
      g.nodes[static_cast<size_t>(update)].removed = true;
      g.note(pass, fmt::format("{}: activation_bias_grad#{} adds -lr * column sums into it", name, producer));
    } else {
      g.note(pass, fmt::format("{}: left alone, its gradient comes from {} (only GEMMs{} fold)", name, n.name(),
                               momentum ? "" : " and fused bias reductions"));
      continue;
    }
    g.values[static_cast<size_t>(grad)].producer = -1;
    g.gradients[i] = -1;
    ++folded;
  }
  g.note(pass, fmt::format("{} of {} parameter update(s) folded", folded, g.parameters.size()));
  g.compact();  // drops what the pass removed and renews the producers
}

}  // namespace graph
