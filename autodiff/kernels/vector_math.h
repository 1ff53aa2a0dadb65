/// @file
/// Transcendental functions over arrays through glibc's vector math library (libmvec, glibc
/// 2.35 and later on x86-64): its tanhf, expf, log1pf and expm1f in the widest vectors the
/// processor runs (16 lanes with AVX-512, 8 with AVX2 and FMA, else 4), picked once when first
/// used. Every element goes through the same vector call, the last partial vector too (padded),
/// so that an element's result does not depend on its position or on how a parallel loop splits
/// the array (a compiler's vectorised loop would finish the tail with the scalar function, which
/// differs from the vector one by an ulp for some inputs). Each result is within 4 ulp of the
/// exact value (tanh within 2); NaN propagates, and infinities and signed zeros come out as the
/// scalar formulas give them. The widths' results may differ by an ulp, so the same input gives
/// the same value on one machine, not on every machine. Elsewhere (other compilers and C
/// libraries) the same formulas run per element through the C library's scalar functions.
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
#include <cstdint>

namespace ad::kernels {

/// y[i] = tanh(x[i]) for i in [0, n); x and y may be the same array.
void tanh_values(const float* x, float* y, int64_t n);

/// y[i] = exp(x[i]) for i in [0, n); x and y may be the same array.
void exp_values(const float* x, float* y, int64_t n);

/// y[i] = 1 / (1 + exp(-x[i])), the logistic sigmoid, for i in [0, n); x and y may be the same.
void sigmoid_values(const float* x, float* y, int64_t n);

/// y[i] = log(1 + exp(x[i])), softplus, for i in [0, n); x and y may be the same array.
void softplus_values(const float* x, float* y, int64_t n);

/// dx[i] = dy[i] · softplus'(x[i]) from the output y[i] = softplus(x[i]): dy[i] · -expm1(-y[i]),
/// for i in [0, n); dx may be the same array as dy.
void softplus_derivative_values(const float* y, const float* dy, float* dx, int64_t n);

}  // namespace ad::kernels
