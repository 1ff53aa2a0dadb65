// The 8-lane kernels: libmvec's avx2 variants (_ZGVdN8v_*) and the 12-bit reciprocal-square-root
// estimate (_mm256_rsqrt_ps), built for -mavx2 -mfma (autodiff/CMakeLists.txt) and run only
// where the processor has it.
#include "tapegrad/autodiff/kernels/update_lanes.h"
#include "tapegrad/autodiff/kernels/vector_math_lanes.h"

#ifdef TAPEGRAD_LIBMVEC
#include <immintrin.h>

extern "C" __m256 _ZGVdN8v_tanhf(__m256 x);
extern "C" __m256 _ZGVdN8v_expf(__m256 x);
extern "C" __m256 _ZGVdN8v_log1pf(__m256 x);
extern "C" __m256 _ZGVdN8v_expm1f(__m256 x);

namespace ad::kernels::detail {
namespace {
struct Lanes8 {
  using V = __m256;
  static V tanh(V v) { return _ZGVdN8v_tanhf(v); }
  static V exp(V v) { return _ZGVdN8v_expf(v); }
  static V log1p(V v) { return _ZGVdN8v_log1pf(v); }
  static V expm1(V v) { return _ZGVdN8v_expm1f(v); }
  static V rsqrt_estimate(V v) { return _mm256_rsqrt_ps(v); }
  static bool all_set(V mask) { return _mm256_movemask_ps(mask) == 0xFF; }  // every lane all ones
};
}  // namespace

const VectorMathTable avx2_vector_math = lanes_table<Lanes8>("avx2 (8 lanes)");
const UpdateTable avx2_updates = updates_table<Lanes8>("avx2 (8 lanes)");
}  // namespace ad::kernels::detail
#endif
