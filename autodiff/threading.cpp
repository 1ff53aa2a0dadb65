#include "tapegrad/autodiff/threading.h"

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "tapegrad/autodiff/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define TG_HAVE_MXCSR 1
#else
#define TG_HAVE_MXCSR 0
#endif

namespace ad {

namespace {

std::unique_ptr<tbb::global_control> thread_limit;
std::mutex thread_limit_mutex;  // set_num_threads from several threads at once replaced it concurrently
std::atomic<bool> flush{true};

// MXCSR bit 15 is flush-to-zero, bit 6 denormals-are-zero (Intel SDM vol. 1, 10.2.3).
constexpr unsigned kFlushBits = 0x8040u;

unsigned read_flags() {
#if TG_HAVE_MXCSR
  return _mm_getcsr();
#else
  return 0;
#endif
}

void write_flags([[maybe_unused]] unsigned flags) {
#if TG_HAVE_MXCSR
  _mm_setcsr(flags);
#endif
}

}  // namespace

void set_num_threads(int threads) {
  TG_CHECK(threads >= 0 && threads <= kMaxThreads,
           "set_num_threads: thread count must be in [0, {}] (0 = all cores), got {}", kMaxThreads, threads);
  std::lock_guard lock(thread_limit_mutex);
  thread_limit.reset();
  if (threads > 0)
    thread_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                         static_cast<size_t>(threads));
}

int num_threads() {
  return static_cast<int>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

void set_flush_denormals(bool on) { flush.store(on, std::memory_order_relaxed); }

bool flush_denormals() { return flush.load(std::memory_order_relaxed); }

bool denormals_flushed_here() { return TG_HAVE_MXCSR && (read_flags() & kFlushBits) == kFlushBits; }

ComputeScope::ComputeScope() {
  if (!TG_HAVE_MXCSR || !flush_denormals()) return;
  saved_ = read_flags();
  if ((saved_ & kFlushBits) == kFlushBits) return;
  // TBB's arena for this thread captures the thread's flags when it is made, and gives them to
  // every task started here without a context of its own, the user's too: it must be made
  // with the user's flags, not ours. isolate() makes it (once per thread; later calls find it).
  thread_local bool arena_made = false;
  if (!arena_made) {
    tbb::this_task_arena::isolate([] {});
    arena_made = true;
  }
  write_flags(saved_ | kFlushBits);
  restore_ = true;
}

// Only the two mode bits go back: the status bits raised meanwhile stay raised.
ComputeScope::~ComputeScope() {
  if (restore_) write_flags((read_flags() & ~kFlushBits) | (saved_ & kFlushBits));
}

ComputeContext::ComputeContext()
    : context_(tbb::task_group_context::bound,
               tbb::task_group_context::default_traits |
                   (flush_denormals() ? std::uintptr_t{tbb::task_group_context::fp_settings} : std::uintptr_t{0})) {}

}  // namespace ad
