// softmax and log_softmax along the last axis, shifted by the row maximum so that large
// logits (1e4) neither overflow nor lose the answer.
#include <utility>
#include <cmath>

#include "tapegrad/autodiff/kernels/softmax.h"
#include "tapegrad/autodiff/ops.h"
#include "tapegrad/autodiff/threading.h"

namespace ad {

namespace {
void check_has_axis(const Var& a, const char* op) {
  TG_CHECK(a.value().rank() >= 1, "{}: needs an axis to normalise along, got a scalar", op);
}
}  // namespace

Var log_softmax(const Var& a) {
  check_has_axis(a, "log_softmax");
  Node node;
  node.op = Op::LogSoftmax;
  // d/dx_j = g_j - softmax_j * sum_k g_k, with softmax = exp(output)
  node.backward = [](const Node& n) {
    const Tensor &y = n.output->value, &g = n.output->grad;
    int64_t w = y.shape().back(), rows = w ? y.size() / w : 0;
    Tensor d = Tensor::empty(y.shape());
    parallel_rows(rows, w, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        float s = 0;
        for (int64_t j = 0; j < w; ++j) s += g[i * w + j];
        for (int64_t j = 0; j < w; ++j) d[i * w + j] = g[i * w + j] - std::exp(y[i * w + j]) * s;
      }
    });
    accumulate_grad(n, 0, std::move(d));
  };
  return make_result(kernels::log_softmax(a.value()), std::move(node), {&a});
}

Var softmax(const Var& a) {
  check_has_axis(a, "softmax");
  Node node;
  node.op = Op::Softmax;
  // d/dx_j = y_j (g_j - sum_k g_k y_k)
  node.backward = [](const Node& n) {
    const Tensor &y = n.output->value, &g = n.output->grad;
    int64_t w = y.shape().back(), rows = w ? y.size() / w : 0;
    Tensor d = Tensor::empty(y.shape());
    parallel_rows(rows, w, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        float s = 0;
        for (int64_t j = 0; j < w; ++j) s += g[i * w + j] * y[i * w + j];
        for (int64_t j = 0; j < w; ++j) d[i * w + j] = y[i * w + j] * (g[i * w + j] - s);
      }
    });
    accumulate_grad(n, 0, std::move(d));
  };
  return make_result(kernels::softmax(a.value()), std::move(node), {&a});
}

}  // namespace ad
