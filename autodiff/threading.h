/// @file
/// The one setting for the number of threads: TBB runs our element-wise loops, the graph
/// executor's tasks and (through oneDNN's TBB runtime) oneDNN's own parallel loops, so one
/// tbb::global_control decides for all of them.
///
/// @code
/// ad::set_num_threads(2);   // apps: --threads 2
/// @endcode
#pragma once
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstdint>

namespace ad {

/// 0 means all cores (the default).
void set_num_threads(int threads);
/// The thread count now in effect (set_num_threads' value, or the number of cores).
int num_threads();

/// Below this many elements an element-wise loop runs on the calling thread: splitting it
/// costs more than it saves.
inline constexpr int64_t kParallelThreshold = 1 << 15;

/// Calls body(begin, end) over [0, n), in parallel chunks when n is large.
template <typename Body>
void parallel_range(int64_t n, Body&& body) {
  if (n < kParallelThreshold) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, kParallelThreshold / 4),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

/// Calls body(begin, end) over rows [0, rows) of `width` elements each, in parallel chunks
/// when the whole is large.
template <typename Body>
void parallel_rows(int64_t rows, int64_t width, Body&& body) {
  if (rows * width < kParallelThreshold) {
    if (rows > 0) body(int64_t{0}, rows);
    return;
  }
  int64_t grain = kParallelThreshold / 4 / (width > 0 ? width : 1);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, grain > 0 ? grain : 1),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

}  // namespace ad
