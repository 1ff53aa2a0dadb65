// The vector_math.h functions: the widest libmvec table this processor runs (AVX-512, AVX2 or
// SSE, lanes_<isa>.cpp), picked once; without libmvec, the C library's scalar functions.
#include "tapegrad/autodiff/kernels/vector_math.h"

#include <cmath>

#include "tapegrad/autodiff/kernels/vector_math_lanes.h"

namespace ad::kernels {

namespace detail {

const VectorMathTable* vector_math_tables(int* count) {
  *count = lanes_width_count();
#ifdef TAPEGRAD_LIBMVEC
  static const VectorMathTable tables[] = {sse_vector_math, avx2_vector_math, avx512_vector_math};
  return tables;
#else
  return nullptr;
#endif
}

namespace {

#ifdef TAPEGRAD_LIBMVEC
const VectorMathTable& widest() {
  static const VectorMathTable& table = [] () -> const VectorMathTable& {
    int count = 0;
    const VectorMathTable* tables = vector_math_tables(&count);
    return tables[count - 1];
  }();
  return table;
}
#endif

}  // namespace
}  // namespace detail

void tanh_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::widest().tanh(x, y, n);
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
#endif
}

void exp_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::widest().exp(x, y, n);
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
#endif
}

void sigmoid_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::widest().sigmoid(x, y, n);
#else
  for (int64_t i = 0; i < n; ++i) {
    float e = std::exp(-std::fabs(x[i])), s = 1.f / (1.f + e);
    y[i] = x[i] < 0 ? e * s : s;
  }
#endif
}

void softplus_values(const float* x, float* y, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::widest().softplus(x, y, n);
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::fmax(x[i], 0.f) + std::log1p(std::exp(-std::fabs(x[i])));
#endif
}

void softplus_derivative_values(const float* y, const float* dy, float* dx, int64_t n) {
#ifdef TAPEGRAD_LIBMVEC
  detail::widest().softplus_derivative(y, dy, dx, n);
#else
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * -std::expm1(-y[i]);
#endif
}

}  // namespace ad::kernels
