/// @file
/// tanh over an array through glibc's vector math library (libmvec, glibc 2.35 and later on
/// x86-64): four lanes per call of its SSE variant of tanhf, which the library picks per
/// processor when it loads. Every element goes through the same vector call, the last partial
/// group too (padded), so that an element's result does not depend on its position or on how a
/// parallel loop splits the array (a compiler's vectorised loop would finish the tail with the
/// scalar tanhf, which differs from the vector one by an ulp for some inputs). Within 2 ulp of
/// the exact value; NaN, infinities and signed zeros come out as std::tanh gives them. Elsewhere
/// (other compilers and C libraries) it calls std::tanh per element.
///
/// @code
/// #include <tapegrad/autodiff/kernels/vector_math.h>
/// float x[10], y[10];
/// for (int i = 0; i < 10; ++i) x[i] = static_cast<float>(i) - 5.f;
/// ad::kernels::tanh_values(x, y, 10);  // y[i] = tanh(x[i])
/// @endcode
#pragma once
#include <cmath>
#include <cstdint>

/// @cond
#if defined(__x86_64__) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 35)
#define TAPEGRAD_LIBMVEC
#endif
#endif

#ifdef TAPEGRAD_LIBMVEC
#include <xmmintrin.h>
extern "C" __m128 _ZGVbN4v_tanhf(__m128 x);  // libmvec's 4-lane tanhf (x86-64 vector ABI)
#endif
/// @endcond

namespace ad::kernels {

/// y[i] = tanh(x[i]) for i in [0, n); x and y may be the same array.
inline void tanh_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _ZGVbN4v_tanhf(_mm_loadu_ps(x + i)));
  if (i < n) {
    alignas(16) float in[4] = {0.f, 0.f, 0.f, 0.f}, out[4];
    for (int64_t k = 0; i + k < n; ++k) in[k] = x[i + k];
    _mm_store_ps(out, _ZGVbN4v_tanhf(_mm_load_ps(in)));
    for (int64_t k = 0; i + k < n; ++k) y[i + k] = out[k];
  }
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
#endif
}

}  // namespace ad::kernels
