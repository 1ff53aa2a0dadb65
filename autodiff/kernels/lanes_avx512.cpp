// The 16-lane kernels: libmvec's avx512 variants (_ZGVeN16v_*) and the 14-bit
// reciprocal-square-root estimate (_mm512_rsqrt14_ps), built for -mavx512f
// (autodiff/CMakeLists.txt) and run only where the processor has it.
#include "tapegrad/autodiff/kernels/update_lanes.h"
#include "tapegrad/autodiff/kernels/vector_math_lanes.h"

#ifdef TAPEGRAD_LIBMVEC
#include <immintrin.h>

extern "C" __m512 _ZGVeN16v_tanhf(__m512 x);
extern "C" __m512 _ZGVeN16v_expf(__m512 x);
extern "C" __m512 _ZGVeN16v_log1pf(__m512 x);
extern "C" __m512 _ZGVeN16v_expm1f(__m512 x);

namespace ad::kernels::detail {
namespace {
struct Lanes16 {
  using V = __m512;
  static V tanh(V v) { return _ZGVeN16v_tanhf(v); }
  static V exp(V v) { return _ZGVeN16v_expf(v); }
  static V log1p(V v) { return _ZGVeN16v_log1pf(v); }
  static V expm1(V v) { return _ZGVeN16v_expm1f(v); }
  // The zero-masked form: g++ 12's unmasked one trips -Wmaybe-uninitialized.
  static V rsqrt_estimate(V v) { return _mm512_maskz_rsqrt14_ps(0xFFFF, v); }
  static bool all_set(V mask) {  // every lane all ones
    return _mm512_cmpneq_epi32_mask(_mm512_castps_si512(mask), _mm512_setzero_si512()) == 0xFFFF;
  }
};
}  // namespace

const VectorMathTable avx512_vector_math = lanes_table<Lanes16>("avx512 (16 lanes)");
const UpdateTable avx512_updates = updates_table<Lanes16>("avx512 (16 lanes)");
}  // namespace ad::kernels::detail
#endif
