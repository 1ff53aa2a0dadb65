// Which of the lanes_<isa>.cpp widths this processor runs, checked once.
#include "tapegrad/autodiff/kernels/lanes.h"

namespace ad::kernels::detail {

int lanes_width_count() {
#ifdef TAPEGRAD_LIBMVEC
  static const int count = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
    return 1;  // SSE2 is in every x86-64
  }();
  return count;
#else
  return 0;
#endif
}

}  // namespace ad::kernels::detail
