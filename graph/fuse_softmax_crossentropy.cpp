// fuse_softmax_crossentropy: softmax then a cross-entropy on its probabilities computes
// log(softmax), which loses everything below 1e-7 to the clip and overflows for large logits.
// The fused node works from the logits with log-sum-exp, and its gradient is simply
// (softmax - onehot) / rows: no division by a probability, no softmax Jacobian.
#include <fmt/format.h>

#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/graph/passes.h"

namespace graph {

void fuse_softmax_crossentropy(Graph& g) {
  const char* pass = "fuse_softmax_crossentropy";
  int count = 0;
  for (size_t li = 0; li < g.nodes.size(); ++li) {
    Node& loss = g.nodes[li];
    if (loss.removed || loss.origin >= 0) continue;
    bool sparse = loss.is(ad::defs::sparse_categorical_crossentropy);
    if (!sparse && !loss.is(ad::defs::categorical_crossentropy)) continue;
    int l = static_cast<int>(li);
    const char* loss_name = loss.name();
    if (ad::attrs_as<ad::FromLogitsAttrs>(loss.attrs, loss_name).from_logits) {
      g.note(pass, fmt::format("{}#{} already works from logits", loss_name, l));
      continue;
    }
    int p = loss.inputs[0];
    int si = g.values[static_cast<size_t>(p)].producer;
    if (si < 0 || !g.nodes[static_cast<size_t>(si)].is(ad::defs::softmax)) {
      g.note(pass, fmt::format("{}#{} left alone: its prediction is not made by a softmax", loss_name, l));
      continue;
    }
    auto users = g.consumers();
    // Forward readers of the probabilities other than the loss would see them no earlier.
    int forward_readers = 0;
    for (int u : users[static_cast<size_t>(p)])
      if (g.nodes[static_cast<size_t>(u)].origin < 0) ++forward_readers;
    if (forward_readers != 1) {
      g.note(pass, fmt::format("softmax#{} left alone: its probabilities feed {} forward nodes", si, forward_readers));
      continue;
    }
    int loss_grad = g.backward_node(
        l, sparse ? ad::defs::sparse_categorical_crossentropy_grad : ad::defs::categorical_crossentropy_grad);
    int softmax_grad = g.backward_node(si, ad::defs::softmax_grad);
    std::string backward_note = "; no backward";
    if (loss_grad >= 0 || softmax_grad >= 0) {
      int dp = loss_grad >= 0 ? g.nodes[static_cast<size_t>(loss_grad)].outputs[0] : -1;
      bool chain = loss_grad >= 0 && softmax_grad >= 0 && users[static_cast<size_t>(dp)].size() == 1 &&
                   g.nodes[static_cast<size_t>(softmax_grad)].inputs[1] == dp;
      if (!chain) {
        g.note(pass, fmt::format("softmax#{} + {}#{} left alone: the probabilities' gradient has other contributions",
                                 si, loss_name, l));
        continue;
      }
      Node& lg = g.nodes[static_cast<size_t>(loss_grad)];
      Node& sg = g.nodes[static_cast<size_t>(softmax_grad)];
      Node fusedb;
      fusedb.op = &ops::softmax_crossentropy_grad;
      fusedb.attrs = SoftmaxCrossentropyAttrs{.sparse = sparse};
      fusedb.inputs = {p, lg.inputs[1], lg.inputs[2]};  // probabilities, target, dloss
      fusedb.outputs = sg.outputs;
      fusedb.origin = l;
      sg = fusedb;
      lg.removed = true;
      backward_note =
          fmt::format("; backward: {}_grad + softmax_grad -> softmax_crossentropy_grad (softmax - onehot)", loss_name);
    }
    Node& softmax = g.nodes[static_cast<size_t>(si)];
    Node fused;
    fused.op = &ops::softmax_crossentropy;
    fused.attrs = SoftmaxCrossentropyAttrs{.sparse = sparse};
    fused.inputs = {softmax.inputs[0], loss.inputs[1]};
    fused.outputs = {loss.outputs[0], p};
    fused.after = loss.after;
    softmax.removed = true;
    loss = fused;
    for (Node& n : g.nodes)
      if (n.origin == si) n.origin = l;
    g.note(pass, fmt::format("softmax#{} + {}#{} -> softmax_crossentropy {} (log-sum-exp){}", si,
                             loss_name, l, ad::to_string(g.values[static_cast<size_t>(p)].shape),
                             backward_note));
    ++count;
  }
  g.note(pass, fmt::format("{} softmax + cross-entropy pair(s) fused", count));
  g.compact();  // drops what the pass removed and renews the producers
}

}  // namespace graph
