/// @file
/// Schedule: which nodes must finish before which. Data edges come from values; control edges
/// order in-place writes of parameters and slots after every reader listed before them (the
/// input gradient dZ·Wᵀ must read W before the folded update W += -lr·Xᵀ·dZ overwrites it), and
/// readers listed after them after the write (apply_velocity reads the velocity its GEMM wrote).
///
/// @code
/// // Given: graph::Graph& g, int i, int j
/// graph::order_in_place_writes(g);         // adds those edges to Node::after
/// graph::Schedule s = graph::schedule(g);
/// s.before(i, j);                    // node i finishes before node j starts, in any run
/// @endcode
#pragma once
#include <cstdint>
#include <vector>

#include "tapegrad/graph/graph.h"

namespace graph {

/// Adds control edges (Node::after) for the in-place writes of parameters and slots, in program
/// (node) order: a write runs after every reader listed before it, and a reader listed after it
/// runs after the write.
void order_in_place_writes(Graph& g);

/// The happens-before relation of a graph's nodes, from data and control edges.
struct Schedule {
  /// Direct edges per node: the nodes it waits for and the nodes waiting for it.
  /// @{
  std::vector<std::vector<int>> predecessors, successors;
  /// @}
  std::vector<std::vector<uint64_t>> ancestors;  ///< bit sets: ancestors[j] holds i when i must precede j
  /// Whether node i finishes before node j starts in every order the executor may use.
  bool before(int i, int j) const {
    return (ancestors[static_cast<size_t>(j)][static_cast<size_t>(i) / 64] >> (static_cast<size_t>(i) % 64)) & 1u;
  }
};

/// Needs nodes in a topological order (every pass keeps one); throws if an edge points back.
Schedule schedule(const Graph& g);

}  // namespace graph
