/// @file
/// Transcendental functions over arrays through glibc's vector math library (libmvec, glibc
/// 2.35 and later on x86-64): four lanes per call of its SSE variants of tanhf, expf, log1pf
/// and expm1f, which the library picks per processor when it loads. Every element goes through
/// the same vector call, the last partial group too (padded), so that an element's result does
/// not depend on its position or on how a parallel loop splits the array (a compiler's
/// vectorised loop would finish the tail with the scalar function, which differs from the
/// vector one by an ulp for some inputs). Each result is within 4 ulp of the exact value (tanh
/// within 2); NaN propagates, and infinities and signed zeros come out as the scalar formulas
/// give them. Elsewhere (other compilers and C libraries) the same formulas run per element
/// through the C library's scalar functions.
///
/// The formulas, chosen so that nothing overflows or cancels:
/// - sigmoid(x) = 1 / (1 + e), x ≥ 0, and e / (1 + e), x < 0, with e = exp(-|x|);
/// - softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|));
/// - softplus'(x) = sigmoid(x) = 1 - exp(-softplus(x)) = -expm1(-y) from the output y, so that a
///   layer's backward needs only its output (as relu's, sigmoid's and tanh's).
///
/// @code
/// #include <tapegrad/autodiff/kernels/vector_math.h>
/// float x[10], y[10];
/// for (int i = 0; i < 10; ++i) x[i] = static_cast<float>(i) - 5.f;
/// ad::kernels::tanh_values(x, y, 10);      // y[i] = tanh(x[i])
/// ad::kernels::softplus_values(x, y, 10);  // y[i] = log(1 + exp(x[i]))
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
// libmvec's 4-lane functions (x86-64 vector function ABI, SSE variant).
extern "C" __m128 _ZGVbN4v_tanhf(__m128 x);
extern "C" __m128 _ZGVbN4v_expf(__m128 x);
extern "C" __m128 _ZGVbN4v_log1pf(__m128 x);
extern "C" __m128 _ZGVbN4v_expm1f(__m128 x);
#endif
/// @endcond

namespace ad::kernels {

/// @cond
namespace detail {

#ifdef TAPEGRAD_LIBMVEC
// y[i] = F(x[i]) four lanes at a time, the tail through the same call with zeros padded in.
// F is any callable taking and returning __m128; `extra` is a second input read in step with x
// (nullptr: none), handed to F as its second argument.
template <class F>
inline void map_lanes(const float* x, const float* extra, float* y, int64_t n, F f) {
  int64_t i = 0;
  const __m128 zero = _mm_setzero_ps();
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, f(_mm_loadu_ps(x + i), extra ? _mm_loadu_ps(extra + i) : zero));
  if (i < n) {
    alignas(16) float in[4] = {0.f, 0.f, 0.f, 0.f}, in2[4] = {0.f, 0.f, 0.f, 0.f}, out[4];
    for (int64_t k = 0; i + k < n; ++k) {
      in[k] = x[i + k];
      if (extra) in2[k] = extra[i + k];
    }
    _mm_store_ps(out, f(_mm_load_ps(in), _mm_load_ps(in2)));
    for (int64_t k = 0; i + k < n; ++k) y[i + k] = out[k];
  }
}

inline __m128 negative_abs(__m128 v) { return _mm_or_ps(v, _mm_set1_ps(-0.f)); }  // -|v|, NaN stays NaN
#endif

}  // namespace detail
/// @endcond

/// y[i] = tanh(x[i]) for i in [0, n); x and y may be the same array.
inline void tanh_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::map_lanes(x, nullptr, y, n, [](__m128 v, __m128) { return _ZGVbN4v_tanhf(v); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
#endif
}

/// y[i] = exp(x[i]) for i in [0, n); x and y may be the same array.
inline void exp_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::map_lanes(x, nullptr, y, n, [](__m128 v, __m128) { return _ZGVbN4v_expf(v); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
#endif
}

/// y[i] = 1 / (1 + exp(-x[i])), the logistic sigmoid, for i in [0, n); x and y may be the same.
inline void sigmoid_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::map_lanes(x, nullptr, y, n, [](__m128 v, __m128) {
    __m128 e = _ZGVbN4v_expf(detail::negative_abs(v));
    __m128 s = _mm_div_ps(_mm_set1_ps(1.f), _mm_add_ps(_mm_set1_ps(1.f), e));  // sigmoid(|x|)
    __m128 negative = _mm_cmplt_ps(v, _mm_setzero_ps());                       // false for NaN
    return _mm_or_ps(_mm_and_ps(negative, _mm_mul_ps(e, s)), _mm_andnot_ps(negative, s));
  });
#else
  for (int64_t i = 0; i < n; ++i) {
    float e = std::exp(-std::fabs(x[i])), s = 1.f / (1.f + e);
    y[i] = x[i] < 0 ? e * s : s;
  }
#endif
}

/// y[i] = log(1 + exp(x[i])), softplus, for i in [0, n); x and y may be the same array.
inline void softplus_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::map_lanes(x, nullptr, y, n, [](__m128 v, __m128) {
    __m128 tail = _ZGVbN4v_log1pf(_ZGVbN4v_expf(detail::negative_abs(v)));
    // max returns its second operand when the first is NaN; the NaN then comes through `tail`.
    return _mm_add_ps(_mm_max_ps(v, _mm_setzero_ps()), tail);
  });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::fmax(x[i], 0.f) + std::log1p(std::exp(-std::fabs(x[i])));
#endif
}

/// dx[i] = dy[i] · softplus'(x[i]) from the output y[i] = softplus(x[i]): dy[i] · -expm1(-y[i]),
/// for i in [0, n); dx may be the same array as dy.
inline void softplus_derivative_values(const float* y, const float* dy, float* dx, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::map_lanes(y, dy, dx, n, [](__m128 out, __m128 grad) {
    const __m128 sign = _mm_set1_ps(-0.f);  // negation by the sign bit keeps -expm1(-y)'s signed zeros
    __m128 derivative = _mm_xor_ps(_ZGVbN4v_expm1f(_mm_xor_ps(out, sign)), sign);
    return _mm_mul_ps(grad, derivative);
  });
#else
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * -std::expm1(-y[i]);
#endif
}

}  // namespace ad::kernels
