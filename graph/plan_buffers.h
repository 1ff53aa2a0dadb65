/// @file
/// Buffer planning: every temporary value gets an offset in one arena, and two values share
/// memory only when every node touching the first is sure to finish before the second is
/// written, in the serial order and in any concurrent one; or when the second is an activation
/// gradient written element by element over its incoming gradient, whose last reader is that
/// very node. A compiled step then needs one allocation, made on its first run.
///
/// @code
/// // Given: const graph::Graph& g, float* arena, int value
/// graph::BufferPlan plan = graph::plan_buffers(g, graph::schedule(g), {g.loss});
/// float* y = arena + plan.offsets[value];   // plan.floats in total
/// @endcode
#pragma once
#include <cstdint>
#include <vector>

#include "tapegrad/graph/schedule.h"

namespace graph {

/// Offsets of the temporary values in the executor's one arena.
struct BufferPlan {
  std::vector<int64_t> offsets;  ///< per value, in floats; -1: not in the arena
  int64_t floats = 0;            ///< the arena's size
  int64_t unshared_floats = 0;   ///< what one buffer per value would take
};

/// `keep`: values read after the run (loss, predictions, gradients): never shared.
BufferPlan plan_buffers(const Graph& g, const Schedule& s, const std::vector<int>& keep);

}  // namespace graph
