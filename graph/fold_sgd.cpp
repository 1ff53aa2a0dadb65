// fold_sgd: with plain SGD, W -= lr * Xᵀ·dZ is one oneDNN matmul with a runtime source scale
// of -lr and a sum post-op into W itself, so the weight gradient never exists as a buffer;
// the bias update rides on the bias reduction's pass. The input gradient dZ·Wᵀ still reads
// the old W: the executor orders every reader of W before the write (schedule.h).
#include <fmt/format.h>

#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/graph/passes.h"

namespace graph {

void fold_sgd(Graph& g) {
  const char* pass = "fold_sgd";
  if (g.update.kind != UpdateKind::SGD || g.update.momentum != 0.f) {
    g.note(pass, g.update.kind == UpdateKind::None
                     ? "no update rule: nothing to fold"
                     : "the update needs the gradient itself (momentum or Adam state): update nodes stay, in place");
    return;
  }
  int folded = 0;
  for (size_t i = 0; i < g.parameters.size(); ++i) {
    int p = g.parameters[i], grad = g.gradients[i];
    if (grad < 0) continue;
    const std::string& name = g.values[static_cast<size_t>(p)].name;
    auto users = g.consumers();
    int update = -1;
    for (int u : users[static_cast<size_t>(grad)])
      if (g.nodes[static_cast<size_t>(u)].is(ops::sgd_update)) update = u;
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
    if (n.is(ad::defs::matmul)) {
      const auto& m = ad::attrs_as<ad::MatmulAttrs>(n.attrs, "matmul");
      n.op = &ops::matmul_sgd_update;
      n.attrs = MatmulUpdateAttrs{.trans_a = m.trans_a, .trans_b = m.trans_b};
      n.outputs = {p};
      g.note(pass, fmt::format("{}: matmul#{} writes {} += -lr * op(a)·op(b) in place, no gradient buffer", name,
                               producer, ad::to_string(g.values[static_cast<size_t>(p)].shape)));
    } else if (n.is(ops::activation_bias_grad) && n.outputs.back() == grad) {
      n.outputs.back() = p;
      auto a = ad::attrs_as<ActivationBiasGradAttrs>(n.attrs, "activation_bias_grad");
      a.update_bias = true;
      n.attrs = a;
      g.note(pass, fmt::format("{}: activation_bias_grad#{} adds -lr * column sums into it", name, producer));
    } else {
      g.note(pass, fmt::format("{}: left alone, its gradient comes from {} (only GEMMs and fused bias reductions fold)",
                               name, n.name()));
      continue;
    }
    g.nodes[static_cast<size_t>(update)].removed = true;
    g.values[static_cast<size_t>(grad)].producer = -1;
    g.gradients[i] = -1;
    ++folded;
  }
  g.note(pass, fmt::format("{} of {} parameter update(s) folded", folded, g.parameters.size()));
  g.compact();  // drops what the pass removed and renews the producers
}

}  // namespace graph
