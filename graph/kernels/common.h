/// @file
/// What the graph's node kernels share: the rows of a 2-D value, the parallel loop, the label
/// check, the logistic and relu-mask scalars, and the build of loops for AVX2 and the baseline.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

#include "tapegrad/autodiff/kernels/softmax.h"
#include "tapegrad/autodiff/threading.h"
#include "tapegrad/graph/graph.h"

// The loops marked with it are built for the baseline and for AVX2 (picked at load time), so
// the library runs anywhere and still uses 8-wide vectors where it can.
#define TG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))

namespace graph::kernels {

using ad::kernels::Activation;

inline float logistic(float x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

struct Rows {
  int64_t rows, width;
};
inline Rows rows_of(const Shape& s) {
  int64_t size = ad::element_count(s);
  int64_t rows = s.empty() ? 1 : s[0];
  return {rows, rows ? size / rows : 0};
}

template <typename F>
inline void each(int64_t n, F f) {
  ad::parallel_range(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) f(i);
  });
}

inline int64_t label_at(const float* labels, int64_t row, int64_t classes, const char* who) {
  float l = labels[row];
  // In range first, so that the cast is defined; the round trip then tells a whole number
  // without a call to floor per row.
  bool whole = l >= 0 && l < static_cast<float>(classes) && static_cast<float>(static_cast<int64_t>(l)) == l;
  if (!whole) ad::fail("{}: label {} in row {} is outside [0, {})", who, l, row, classes);
  return static_cast<int64_t>(l);
}

using ad::kernels::log_probability;
using ad::kernels::log_sum_exp;
using ad::kernels::LogSumExp;

/// relu masks the bits: written as a select or a multiply by 0/1, the compiler keeps a branch
/// (and mispredicts half the time on real data); an integer AND with a compare mask vectorises.
/// The gradient is dy where y > 0, 0 where y <= 0, and NaN (y itself) where y is NaN, as the
/// eager relu's: a comparison alone would turn NaN into 0 and hide it from fit's NaN check.
inline float relu_mask(float y, float dy) {
  uint32_t keep = 0u - static_cast<uint32_t>(y > 0), nan = 0u - static_cast<uint32_t>(y != y);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(dy) & keep) | (std::bit_cast<uint32_t>(y) & nan));
}

/// relu's value: x where x > 0, 0 where x <= 0, NaN where x is NaN (not 0, as `x > 0 ? x : 0`
/// would give).
inline float relu(float x) { return x <= 0 ? 0.f : x; }

}  // namespace graph::kernels
