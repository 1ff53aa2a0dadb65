#include "tapegrad/autodiff/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/threading.h"

namespace ad::kernels {

namespace {

// Calls f(row input, row output, width) for every row of the last axis, in parallel chunks.
template <typename F>
Tensor each_row(const Tensor& logits, const char* who, F f) {
  TG_CHECK(logits.rank() >= 1, "{}: needs at least one axis, got a scalar", who);
  Tensor out = Tensor::empty(logits.shape());
  int64_t width = logits.shape().back(), rows = width ? logits.size() / width : 0;
  const float* x = logits.data();
  float* o = out.data();
  parallel_rows(rows, width, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) f(x + r * width, o + r * width, width);
  });
  return out;
}

}  // namespace

Tensor log_softmax(const Tensor& logits) {
  return each_row(logits, "log_softmax", [](const float* x, float* o, int64_t width) {
    LogSumExp row = log_sum_exp(x, width);
    for (int64_t j = 0; j < width; ++j) o[j] = log_probability(x[j], row);
  });
}

Tensor softmax(const Tensor& logits) {
  return each_row(logits, "softmax", [](const float* x, float* o, int64_t width) {
    LogSumExp row = log_sum_exp(x, width);
    for (int64_t j = 0; j < width; ++j) o[j] = std::exp(log_probability(x[j], row));
  });
}

}  // namespace ad::kernels
