// optimize(): the passes in their order. Softmax and cross-entropy fuse first (the dense
// fusion then sees the logits' layer), SGD folds into the fused layers' GEMMs and bias
// reductions, and dead nodes go last.
#include "tapegrad/graph/passes.h"

namespace graph {

void optimize(Graph& g, OptimizeOptions options) {
  if (options.fuse_softmax_crossentropy) fuse_softmax_crossentropy(g);
  if (options.fuse_dense) fuse_dense(g);
  if (options.fold_sgd) fold_sgd(g);
  remove_dead_nodes(g);
}

}  // namespace graph
