/// @file
/// Reverse-mode differentiation on the graph itself: the gradient of every value on a path from
/// a parameter to the loss becomes a value of the same graph, made by tracing each forward
/// node's backward rule (the registry's, autodiff/op.h: the code the eager tape runs) into
/// nodes; then the update rule adds one in-place update per parameter.
///
/// @code
/// // Given: graph::Graph& g
/// // (graph::Graph::from does both already; a pass that builds a graph by hand calls them)
/// graph::append_backward(g);   // g.gradients[i]: dloss/dparameter i (-1 when the loss ignores it)
/// graph::append_updates(g);   // sgd_update / momentum_update / adam_update / rmsprop_update nodes
/// @endcode
#pragma once
#include "tapegrad/graph/graph.h"

namespace graph {

/// Appends the gradient nodes of every parameter's path to the loss and sets g.gradients.
/// Throws ad::Error naming an op without a backward on a parameter's path.
void append_backward(Graph& g);
/// Appends one in-place update node per parameter with a gradient, for g.update (nothing
/// for UpdateKind::None), adding the optimizer's slot values.
void append_updates(Graph& g);

}  // namespace graph
