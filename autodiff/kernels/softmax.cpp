#include "tapegrad/autodiff/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tapegrad/autodiff/threading.h"

namespace ad::kernels {

Tensor log_softmax(const Tensor& logits) {
  TG_CHECK(logits.rank() >= 1, "log_softmax: needs at least one axis, got a scalar");
  Tensor out = Tensor::empty(logits.shape());
  int64_t width = logits.shape().back(), rows = width ? logits.size() / width : 0;
  const float* x = logits.data();
  float* o = out.data();
  parallel_rows(rows, width, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * width;
      float* orow = o + r * width;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < width; ++j) m = std::max(m, xr[j]);
      float s = 0;
      for (int64_t j = 0; j < width; ++j) s += std::exp(xr[j] - m);
      float lse = m + std::log(s);
      for (int64_t j = 0; j < width; ++j) orow[j] = xr[j] - lse;
    }
  });
  return out;
}

Tensor softmax(const Tensor& logits) {
  Tensor out = log_softmax(logits);
  float* o = out.data();
  parallel_range(out.size(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) o[i] = std::exp(o[i]);
  });
  return out;
}

}  // namespace ad::kernels
