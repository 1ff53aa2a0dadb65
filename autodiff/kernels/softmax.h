/// @file
/// Row-wise log-softmax, max-shifted for stability: the kernel behind softmax, log_softmax and
/// the cross-entropy losses, eager and compiled (graph/kernels/ use log_sum_exp per row).
#pragma once
#include <cmath>
#include <cstdint>

#include "tapegrad/autodiff/tensor.h"

namespace ad::kernels {

/// log_softmax along the last axis of `logits` (rank >= 1); throws on a scalar.
Tensor log_softmax(const Tensor& logits);
/// softmax along the last axis.
Tensor softmax(const Tensor& logits);

/// One row's largest value (NaN when the row holds a NaN, so that the whole row comes out NaN)
/// and the log of the sum of exp(z - max), which lies in [0, log width].
struct LogSumExp {
  float max, log_sum;
};
inline LogSumExp log_sum_exp(const float* z, int64_t width) {
  float m = -INFINITY;
  for (int64_t j = 0; j < width; ++j) m = (z[j] > m || std::isnan(z[j])) ? z[j] : m;
  float s = 0;
  for (int64_t j = 0; j < width; ++j) s += std::exp(z[j] - m);
  return {m, std::log(s)};
}

/// A log-probability is (z - max) - log_sum, never z - (max + log_sum): that sum rounds log_sum
/// away when max is large (at 2^24 the float spacing is 2 and ln 2 = 0.69 vanishes, so that a
/// row [m, m] came out [0, 0] instead of [-ln 2, -ln 2]). z - max is exact near the max.
inline float log_probability(float z, LogSumExp row) { return (z - row.max) - row.log_sum; }

}  // namespace ad::kernels
