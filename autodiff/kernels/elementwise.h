/// @file
/// Element-wise loops over tensors of equal shape, run in parallel TBB chunks above
/// kParallelThreshold elements (threading.h).
///
/// @code
/// ad::Tensor y = ad::kernels::map(x, [](float v) { return v > 0 ? v : 0.f; });
/// @endcode
#pragma once
#include "tapegrad/autodiff/tensor.h"
#include "tapegrad/autodiff/threading.h"

namespace ad::kernels {

template <typename F>
Tensor map(const Tensor& a, F f) {
  Tensor out = Tensor::empty(a.shape());
  const float* x = a.data();
  float* y = out.data();
  parallel_range(a.size(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
  return out;
}

/// f(a[i], b[i]) for tensors of the same element count.
template <typename F>
Tensor map2(const Tensor& a, const Tensor& b, F f) {
  Tensor out = Tensor::empty(a.shape());
  const float* x = a.data();
  const float* z = b.data();
  float* y = out.data();
  parallel_range(a.size(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i], z[i]);
  });
  return out;
}

/// f(a[i], b[i], c[i]) for tensors of the same element count.
template <typename F>
Tensor map3(const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  Tensor out = Tensor::empty(a.shape());
  const float* x = a.data();
  const float* z = b.data();
  const float* w = c.data();
  float* y = out.data();
  parallel_range(a.size(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i], z[i], w[i]);
  });
  return out;
}

}  // namespace ad::kernels
