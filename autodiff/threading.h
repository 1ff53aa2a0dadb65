/// @file
/// The thread settings of every computation: one tbb::global_control decides the number of
/// threads for our element-wise loops, the graph executor's tasks and (through oneDNN's TBB
/// runtime) oneDNN's own parallel loops; and subnormal floats are flushed to zero in all of them.
///
/// @code
/// ad::set_num_threads(2);          // apps: --threads 2
/// ad::set_flush_denormals(false);  // keep subnormal numbers (the default flushes them)
/// @endcode
///
/// Subnormal numbers (magnitudes below 1.18e-38) are slow on x86: an operation on one takes a
/// microcode assist of ~100 cycles. Adam's slowly decaying moment estimates turn subnormal
/// after some epochs, which made a training step 1.4-2.1x slower. So, as TensorFlow does in
/// every thread it computes on, the library sets flush-to-zero (FTZ: subnormal results become
/// 0) and denormals-are-zero (DAZ: subnormal inputs are read as 0) while it computes: on the
/// calling thread for the time of the call (its previous flags are restored on return) and on
/// the TBB threads that run the library's tasks (carried there by the tasks' TBB context, as TBB
/// applies a context's floating-point settings to its tasks). The user's own code outside the
/// library's calls keeps its flags. x86 only: elsewhere the setting is accepted and does nothing.
#pragma once
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <cstdint>

namespace ad {

/// The most threads set_num_threads() takes: TBB and the executor keep per-thread state sized
/// by the limit (10 million threads took 1.3 GB for one element-wise op; 2^30 ran out of memory).
inline constexpr int kMaxThreads = 4096;
/// 0 means all cores (the default); more threads than cores are allowed, up to kMaxThreads.
/// Throws ad::Error for a count outside [0, kMaxThreads].
void set_num_threads(int threads);
/// The thread count now in effect: set_num_threads' value, or the number of cores. TBB may
/// allow fewer than asked: it caps its parallelism at its own limit (257 on a 2-core machine
/// when 4096 was asked), and this reports what TBB allows.
int num_threads();

/// On by default; off: the library leaves the threads' floating-point flags as they are.
void set_flush_denormals(bool on);
/// The setting in effect (true unless set_flush_denormals(false) was called).
bool flush_denormals();
/// Whether this thread has flush-to-zero and denormals-are-zero set now (false off x86).
bool denormals_flushed_here();

/// While it lives, the calling thread flushes subnormals (when the setting is on); its flags
/// are restored when it ends. Cheap (a read of the control register) when already set, so
/// nested scopes cost nothing. Every entry into the library's computing code opens one.
class ComputeScope {
 public:
  /// Sets FTZ/DAZ on this thread when the setting is on, remembering the previous flags.
  ComputeScope();
  /// Restores the flags this scope found.
  ~ComputeScope();
  ComputeScope(const ComputeScope&) = delete;
  ComputeScope& operator=(const ComputeScope&) = delete;

 private:
  unsigned saved_ = 0;
  bool restore_ = false;
};

/// A TBB context for parallel work started on this thread: with the setting on, it captures this
/// thread's floating-point flags (set by a ComputeScope) and TBB applies them to every task run
/// under it and under contexts nested in it (oneDNN's loops), on whichever thread. Without it a
/// task gets the flags of the thread that first used TBB, captured when TBB made its arena.
class ComputeContext {
 public:
  /// Captures this thread's floating-point flags when the setting is on.
  ComputeContext();
  /// The context to pass to tbb::parallel_for or a tbb::task_group.
  tbb::task_group_context& get() { return context_; }

 private:
  tbb::task_group_context context_;
};

/// Runs f on the calling thread inside a ComputeScope and, as a TBB task, under a ComputeContext,
/// so that parallel loops f starts without a context of their own (oneDNN's) carry the flags.
template <typename F>
void run_computation(F&& f) {
  ComputeScope scope;
  if (!flush_denormals()) return static_cast<void>(f());
  ComputeContext context;
  tbb::task_group group(context.get());
  group.run_and_wait([&] { f(); });
}

/// @cond
namespace detail {
inline thread_local bool serial_loops = false;  // set by SerialScope
}  // namespace detail
/// @endcond

/// While it lives, the library's parallel loops started on the calling thread (parallel_range,
/// parallel_rows, parallel_blocks) run on that thread alone: for work its caller has already
/// split between the threads, as the executor's row-split parts are, which must stay on their
/// thread to keep their rows in its cache.
class SerialScope {
 public:
  SerialScope() : previous_(detail::serial_loops) { detail::serial_loops = true; }
  ~SerialScope() { detail::serial_loops = previous_; }
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  bool previous_;
};

/// Below this many elements an element-wise loop runs on the calling thread: splitting it
/// costs more than it saves.
inline constexpr int64_t kParallelThreshold = 1 << 15;

/// Calls body(begin, end) over [0, n), in parallel chunks when n is large.
template <typename Body>
void parallel_range(int64_t n, Body&& body) {
  ComputeScope scope;
  if (n < kParallelThreshold || detail::serial_loops) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
  ComputeContext context;
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, n, kParallelThreshold / 4),
      [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); }, tbb::auto_partitioner(),
      context.get());
}

/// Calls body(begin, end) over [0, n): with at least `threshold` elements, in one contiguous
/// block per thread whose bounds are multiples of 16 elements (64 bytes: in arrays aligned to
/// 64 bytes, as tensors are, no cache line is written by two threads), each block on the same
/// thread slot every call
/// (tbb::static_partitioner). For loops that revisit the same arrays every step, as an
/// optimizer's update does its state: each block stays in the cache of the core that wrote it.
template <typename Body>
void parallel_blocks(int64_t n, int64_t threshold, Body&& body) {
  ComputeScope scope;
  constexpr int64_t kLine = 16;
  if (n < threshold || n < 2 * kLine || detail::serial_loops) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
  ComputeContext context;
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, (n + kLine - 1) / kLine),
      [&](const tbb::blocked_range<int64_t>& r) { body(r.begin() * kLine, std::min(n, r.end() * kLine)); },
      tbb::static_partitioner(), context.get());
}

/// Calls body(begin, end) over rows [0, rows) of `width` elements each, in parallel chunks
/// when the whole is large.
template <typename Body>
void parallel_rows(int64_t rows, int64_t width, Body&& body) {
  ComputeScope scope;
  if (rows * width < kParallelThreshold || detail::serial_loops) {
    if (rows > 0) body(int64_t{0}, rows);
    return;
  }
  int64_t grain = kParallelThreshold / 4 / (width > 0 ? width : 1);
  ComputeContext context;
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, rows, grain > 0 ? grain : 1),
      [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); }, tbb::auto_partitioner(),
      context.get());
}

}  // namespace ad
