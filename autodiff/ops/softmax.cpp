// softmax and log_softmax along the last axis, shifted by the row maximum so that large
// logits (1e4) neither overflow nor lose the answer. Their backward rules are ops of their
// own, softmax_grad(y, dy) and log_softmax_grad(y, dy), computed from the output y.
#include <cmath>

#include "tapegrad/autodiff/kernels/softmax.h"
#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/autodiff/ops.h"
#include "tapegrad/autodiff/threading.h"

namespace ad {

namespace {

Shape has_axis(ShapeArgs s, const char* op) {
  TG_CHECK(!s.inputs[0]->empty(), "{}: needs an axis to normalise along, got a scalar", op);
  return *s.inputs[0];
}

// The gradient ops' inputs: the output y and its gradient dy, of one shape.
Shape same_as_output(ShapeArgs s, const char* op) {
  const Shape &y = *s.inputs[0], &dy = *s.inputs[1];
  TG_CHECK(y == dy, "{}: output {} and its gradient {} have different shapes", op, to_string(y), to_string(dy));
  return has_axis(s, op);
}

// Calls f(row of each input, row of the output, width) for every row of the last axis, in
// parallel chunks.
template <typename F>
void each_row(const KernelArgs& k, F f) {
  const View& out = k.out[0];
  int64_t width = out.shape->back(), rows = width ? out.size / width : 0;
  parallel_rows(rows, width, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t at = r * width;
      if (k.in.size() == 1) f(k.in[0].data + at, nullptr, out.data + at, width);
      else f(k.in[0].data + at, k.in[1].data + at, out.data + at, width);
    }
  });
}

}  // namespace

namespace defs {

const OpDef softmax{
    .name = "softmax",
    .num_inputs = 1,
    .infer = [](ShapeArgs s) { return has_axis(s, "softmax"); },
    .forward =
        [](const KernelArgs& k) {
          each_row(k, [](const float* x, const float*, float* o, int64_t w) {
            kernels::LogSumExp row = kernels::log_sum_exp(x, w);
            for (int64_t j = 0; j < w; ++j) o[j] = std::exp(kernels::log_probability(x[j], row));
          });
        },
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {apply(defs::softmax_grad, {b.output, b.grad})};
    }};

const OpDef log_softmax{
    .name = "log_softmax",
    .num_inputs = 1,
    .infer = [](ShapeArgs s) { return has_axis(s, "log_softmax"); },
    .forward =
        [](const KernelArgs& k) {
          each_row(k, [](const float* x, const float*, float* o, int64_t w) {
            kernels::LogSumExp row = kernels::log_sum_exp(x, w);
            for (int64_t j = 0; j < w; ++j) o[j] = kernels::log_probability(x[j], row);
          });
        },
    .backward = [](const BackwardArgs& b) -> Gradients {
      return {apply(defs::log_softmax_grad, {b.output, b.grad})};
    }};

// d/dx_j = y_j (g_j - sum_k g_k y_k)
const OpDef softmax_grad{
    .name = "softmax_grad",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return same_as_output(s, "softmax_grad"); },
    .forward =
        [](const KernelArgs& k) {
          each_row(k, [](const float* y, const float* g, float* d, int64_t w) {
            float s = 0;
            for (int64_t j = 0; j < w; ++j) s += g[j] * y[j];
            for (int64_t j = 0; j < w; ++j) d[j] = y[j] * (g[j] - s);
          });
        }};

// d/dx_j = g_j - softmax_j * sum_k g_k, with softmax = exp(output)
const OpDef log_softmax_grad{
    .name = "log_softmax_grad",
    .num_inputs = 2,
    .infer = [](ShapeArgs s) { return same_as_output(s, "log_softmax_grad"); },
    .forward =
        [](const KernelArgs& k) {
          each_row(k, [](const float* y, const float* g, float* d, int64_t w) {
            float s = 0;
            for (int64_t j = 0; j < w; ++j) s += g[j];
            for (int64_t j = 0; j < w; ++j) d[j] = g[j] - std::exp(y[j]) * s;
          });
        }};

}  // namespace defs

Var softmax(const Var& a) { return apply(defs::softmax, {a}); }

Var log_softmax(const Var& a) { return apply(defs::log_softmax, {a}); }

}  // namespace ad
