/// @file
/// The executor's kernels for every node kind except the GEMMs (which run as MatmulPlans):
/// plain loops over the planned buffers, parallel above ad::kParallelThreshold elements.
/// They read and write only the arrays they are given, so nodes can run at the same time.
///
/// @code
/// // Given: const graph::Graph& g, int i, const std::vector<float*>& pointers
/// graph::run_node(g, g.nodes[i], pointers, {.learning_rate = 0.01f, .iteration = 1});
/// @endcode
#pragma once
#include <cstdint>
#include <vector>

#include "tapegrad/graph/graph.h"

namespace graph {

/// What changes between runs of the same graph without recompiling it.
struct RunContext {
  float learning_rate = 0.01f;  ///< multiplies updates marked times_learning_rate (a schedule may change it per step)
  int64_t iteration = 1;  ///< Adam's t, counting from 1
};

/// `pointers[v]` is value v's array. Throws ad::Error on bad data (labels out of range, ...).
void run_node(const Graph& g, const Node& node, const std::vector<float*>& pointers, const RunContext& context);

}  // namespace graph
