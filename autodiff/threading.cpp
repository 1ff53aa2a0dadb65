#include "tapegrad/autodiff/threading.h"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <memory>

#include "tapegrad/autodiff/error.h"

namespace ad {

namespace {
std::unique_ptr<tbb::global_control> thread_limit;
}

void set_num_threads(int threads) {
  TG_CHECK(threads >= 0, "set_num_threads: thread count must be >= 0 (0 = all cores), got {}", threads);
  thread_limit.reset();
  if (threads > 0)
    thread_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                         static_cast<size_t>(threads));
}

int num_threads() {
  return static_cast<int>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

}  // namespace ad
