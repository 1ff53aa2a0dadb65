/// @file
/// The passes that rewrite a training-step graph, each in its own file, each noting in the
/// graph's report what it changed and what it left alone and why.
///
/// @code
/// // Given: graph::Graph& g
/// graph::optimize(g);                              // all of them, in order
/// graph::optimize(g, {.fuse_dense = false});       // the unfused reference
/// fmt::print("{}", g.report());
/// @endcode
#pragma once
#include "tapegrad/graph/graph.h"

namespace graph {

/// matmul + bias add + {relu, sigmoid, tanh, none} -> fused_dense (one oneDNN matmul with bias
/// and an eltwise post-op); backward: the activation derivative from the saved output and the
/// bias reduction -> activation_bias_grad (one pass); the two gradient GEMMs stay GEMMs.
void fuse_dense(Graph& g);
/// softmax followed by (sparse) categorical cross-entropy -> softmax_crossentropy (log-sum-exp
/// form) and, backward, softmax_crossentropy_grad (softmax - onehot).
void fuse_softmax_crossentropy(Graph& g);
/// Plain SGD: the weight-gradient GEMM writes W += -lr * Xᵀ dZ itself (no gradient buffer),
/// the bias reduction adds -lr * column sums into b; their sgd_update nodes go.
void fold_sgd(Graph& g);
/// Nodes whose outputs nobody reads (and that write no parameter) go.
void remove_dead_nodes(Graph& g);

/// Which passes optimize() runs: all by default; switching one off gives the reference it is
/// tested against.
struct OptimizeOptions {
  bool fuse_dense = true;  ///< run fuse_dense()
  bool fuse_softmax_crossentropy = true;  ///< run fuse_softmax_crossentropy()
  bool fold_sgd = true;  ///< run fold_sgd() (only plain SGD updates are folded)
};
/// Runs the chosen passes, then remove_dead_nodes(), each noting in g.report() what it did.
void optimize(Graph& g, OptimizeOptions options = {});

}  // namespace graph
