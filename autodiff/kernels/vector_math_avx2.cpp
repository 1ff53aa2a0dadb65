// The vector_math.h functions in 8 lanes, through libmvec's avx2 variants (_ZGVdN8v_*),
// built for -mavx2 -mfma (autodiff/CMakeLists.txt) and used only where the processor has it.
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
};
}  // namespace

extern const VectorMathTable avx2_vector_math = lanes_table<Lanes8>("avx2 (8 lanes)");
}  // namespace ad::kernels::detail
#endif
