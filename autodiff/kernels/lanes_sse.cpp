// The 4-lane kernels: libmvec's sse variants (_ZGVbN4v_*) and the 12-bit reciprocal-square-root
// estimate (_mm_rsqrt_ps), built for the baseline, SSE2 (autodiff/CMakeLists.txt), and run only
// where the processor has it.
#include "tapegrad/autodiff/kernels/update_lanes.h"
#include "tapegrad/autodiff/kernels/vector_math_lanes.h"

#ifdef TAPEGRAD_LIBMVEC
#include <immintrin.h>

extern "C" __m128 _ZGVbN4v_tanhf(__m128 x);
extern "C" __m128 _ZGVbN4v_expf(__m128 x);
extern "C" __m128 _ZGVbN4v_log1pf(__m128 x);
extern "C" __m128 _ZGVbN4v_expm1f(__m128 x);

namespace ad::kernels::detail {
namespace {
struct Lanes4 {
  using V = __m128;
  static V tanh(V v) { return _ZGVbN4v_tanhf(v); }
  static V exp(V v) { return _ZGVbN4v_expf(v); }
  static V log1p(V v) { return _ZGVbN4v_log1pf(v); }
  static V expm1(V v) { return _ZGVbN4v_expm1f(v); }
  static V rsqrt_estimate(V v) { return _mm_rsqrt_ps(v); }
  static bool all_set(V mask) { return _mm_movemask_ps(mask) == 0xF; }  // every lane all ones
};
}  // namespace

const VectorMathTable sse_vector_math = lanes_table<Lanes4>("sse (4 lanes)");
const UpdateTable sse_updates = updates_table<Lanes4>("sse (4 lanes)");
}  // namespace ad::kernels::detail
#endif
