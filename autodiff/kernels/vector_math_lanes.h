// The vector_math.h functions for one vector width, written once over the width's Lanes
// (lanes.h); lanes_sse.cpp, lanes_avx2.cpp and lanes_avx512.cpp instantiate them.
#pragma once
#include "tapegrad/autodiff/kernels/lanes.h"

namespace ad::kernels::detail {

/// The array functions of one vector width; see vector_math.h for what each computes.
struct VectorMathTable {
  const char* name;  ///< "sse (4 lanes)", ...
  void (*tanh)(const float* x, float* y, int64_t n);
  void (*exp)(const float* x, float* y, int64_t n);
  void (*sigmoid)(const float* x, float* y, int64_t n);
  void (*softplus)(const float* x, float* y, int64_t n);
  void (*softplus_derivative)(const float* y, const float* dy, float* dx, int64_t n);
};

/// The tables this processor can run, narrowest first (the last is the one used); `count`
/// receives their number (0 without libmvec: the functions then run the C library's scalar ones).
const VectorMathTable* vector_math_tables(int* count);

#ifdef TAPEGRAD_LIBMVEC
extern const VectorMathTable sse_vector_math, avx2_vector_math, avx512_vector_math;
#endif

#ifdef TAPEGRAD_LIBMVEC
namespace {

// Lanes is a struct with `using V` (the vector type) and static exp, log1p, expm1 and tanh
// calling libmvec's functions of that width.

// y[i] = f(x[i], extra[i]) a vector at a time; the last partial vector goes through the same
// call with zeros padded in, so that a value never depends on its position.
template <class V, class F>
inline void map_lanes(const float* x, const float* extra, float* y, int64_t n, F f) {
  constexpr int64_t kLanes = sizeof(V) / sizeof(float);
  int64_t i = 0;
  V a{}, b{};
  for (; i + kLanes <= n; i += kLanes) {
    std::memcpy(&a, x + i, sizeof a);
    if (extra) std::memcpy(&b, extra + i, sizeof b);
    a = f(a, b);
    std::memcpy(y + i, &a, sizeof a);
  }
  if (i < n) {
    auto bytes = static_cast<size_t>(n - i) * sizeof(float);
    a = V{}, b = V{};
    std::memcpy(&a, x + i, bytes);
    if (extra) std::memcpy(&b, extra + i, bytes);
    a = f(a, b);
    std::memcpy(y + i, &a, bytes);
  }
}

template <class Lanes>
void tanh_lanes(const float* x, float* y, int64_t n) {
  using V = typename Lanes::V;
  map_lanes<V>(x, nullptr, y, n, [](V v, V) { return Lanes::tanh(v); });
}

template <class Lanes>
void exp_lanes(const float* x, float* y, int64_t n) {
  using V = typename Lanes::V;
  map_lanes<V>(x, nullptr, y, n, [](V v, V) { return Lanes::exp(v); });
}

// sigmoid(x) = 1 / (1 + e) for x ≥ 0 and e / (1 + e) for x < 0, e = exp(-|x|).
template <class Lanes>
void sigmoid_lanes(const float* x, float* y, int64_t n) {
  using V = typename Lanes::V;
  map_lanes<V>(x, nullptr, y, n, [](V v, V) {
    V e = Lanes::exp(negative_abs(v));
    V s = (V{} + 1.f) / (e + 1.f);  // sigmoid(|x|)
    return select_lanes(v < V{}, e * s, s);  // false for NaN: s, which is NaN
  });
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)).
template <class Lanes>
void softplus_lanes(const float* x, float* y, int64_t n) {
  using V = typename Lanes::V;
  map_lanes<V>(x, nullptr, y, n, [](V v, V) { return max_zero(v) + Lanes::log1p(Lanes::exp(negative_abs(v))); });
}

// dx = dy · -expm1(-y), softplus' from the output y.
template <class Lanes>
void softplus_derivative_lanes(const float* y, const float* dy, float* dx, int64_t n) {
  using V = typename Lanes::V;
  // Negation flips the sign bit: signed zeros are kept.
  map_lanes<V>(y, dy, dx, n, [](V out, V grad) { return grad * -Lanes::expm1(-out); });
}

template <class Lanes>
constexpr VectorMathTable lanes_table(const char* name) {
  return {name, tanh_lanes<Lanes>, exp_lanes<Lanes>, sigmoid_lanes<Lanes>, softplus_lanes<Lanes>,
          softplus_derivative_lanes<Lanes>};
}

}  // namespace
#endif

}  // namespace ad::kernels::detail
