// The executor's kernels for every node kind but the GEMMs: the element-wise ops here, the
// losses, the fused softmax cross-entropy and the fused activation-and-bias backward in
// graph/kernels/. Where a node mirrors an eager op, it computes the same formula
// (autodiff/ops/*.cpp), so that compiled and eager steps agree to float rounding; the fused
// nodes use the stable forms the passes promise (log-sum-exp, softmax - onehot).
#include "tapegrad/graph/node_kernels.h"

#include <cmath>
#include <cstring>

#include "tapegrad/autodiff/kernels/updates.h"
#include "tapegrad/graph/kernels/activation_bias_grad.h"
#include "tapegrad/graph/kernels/common.h"
#include "tapegrad/graph/kernels/loss.h"
#include "tapegrad/graph/kernels/softmax_crossentropy.h"

namespace graph {

using namespace kernels;

void run_node(const Graph& g, const Node& n, const std::vector<float*>& ptr, const RunContext& ctx) {
  auto in = [&](size_t k) -> const float* { return ptr[static_cast<size_t>(n.inputs[k])]; };
  auto in_shape = [&](size_t k) -> const Shape& { return g.values[static_cast<size_t>(n.inputs[k])].shape; };
  float* out = n.outputs.empty() ? nullptr : ptr[static_cast<size_t>(n.outputs[0])];
  int64_t size = n.outputs.empty() ? 0 : g.values[static_cast<size_t>(n.outputs[0])].size();
  const UpdateRule& rule = g.update;
  float lr = ctx.learning_rate;
  switch (n.kind) {
    case Kind::Add:
    case Kind::Sub:
    case Kind::Mul: {
      // Either operand may be the whole shape, one element, or a row repeated (i % its size).
      const float *a = in(0), *b = in(1);
      int64_t sa = ad::element_count(in_shape(0)), sb = ad::element_count(in_shape(1));
      Kind k = n.kind;
      ad::parallel_range(size, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          float x = a[sa == size ? i : i % sa], z = b[sb == size ? i : i % sb];
          out[i] = k == Kind::Add ? x + z : (k == Kind::Sub ? x - z : x * z);
        }
      });
      return;
    }
    case Kind::Neg: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = -a[i]; }); return; }
    case Kind::Relu: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = relu(a[i]); }); return; }
    case Kind::Sigmoid: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = logistic(a[i]); }); return; }
    case Kind::Tanh: { const float* a = in(0); each(size, [&](int64_t i) { out[i] = std::tanh(a[i]); }); return; }
    case Kind::ReluGrad: { const float *y = in(0), *d = in(1); each(size, [&](int64_t i) { out[i] = relu_mask(y[i], d[i]); }); return; }
    case Kind::SigmoidGrad: { const float *y = in(0), *d = in(1); each(size, [&](int64_t i) { out[i] = d[i] * y[i] * (1 - y[i]); }); return; }
    case Kind::TanhGrad: { const float *y = in(0), *d = in(1); each(size, [&](int64_t i) { out[i] = d[i] * (1 - y[i] * y[i]); }); return; }
    case Kind::Softmax:
    case Kind::LogSoftmax: {
      Rows r = rows_of(in_shape(0));
      const float* z = in(0);
      for (int64_t i = 0; i < r.rows; ++i) {
        LogSumExp lse = log_sum_exp(z + i * r.width, r.width);
        for (int64_t j = 0; j < r.width; ++j) {
          float v = log_probability(z[i * r.width + j], lse);
          out[i * r.width + j] = n.kind == Kind::Softmax ? std::exp(v) : v;
        }
      }
      return;
    }
    case Kind::SoftmaxGrad:
    case Kind::LogSoftmaxGrad: {
      Rows r = rows_of(in_shape(0));
      const float *y = in(0), *d = in(1);
      for (int64_t i = 0; i < r.rows; ++i) {
        const float *yi = y + i * r.width, *gi = d + i * r.width;
        float* o = out + i * r.width;
        float s = 0;
        if (n.kind == Kind::SoftmaxGrad) {
          for (int64_t j = 0; j < r.width; ++j) s += gi[j] * yi[j];
          for (int64_t j = 0; j < r.width; ++j) o[j] = yi[j] * (gi[j] - s);
        } else {
          for (int64_t j = 0; j < r.width; ++j) s += gi[j];
          for (int64_t j = 0; j < r.width; ++j) o[j] = gi[j] - std::exp(yi[j]) * s;
        }
      }
      return;
    }
    case Kind::SumAll:
    case Kind::MeanAll: {
      int64_t n_in = ad::element_count(in_shape(0));
      double total = 0;
      for (int64_t i = 0; i < n_in; ++i) total += in(0)[i];
      if (n.kind == Kind::MeanAll) total /= static_cast<double>(n_in);
      out[0] = static_cast<float>(total);
      return;
    }
    case Kind::Reshape:
      if (out != in(0)) std::memcpy(out, in(0), static_cast<size_t>(size) * sizeof(float));
      return;
    case Kind::ColumnSum: {
      int64_t rows = size ? ad::element_count(in_shape(0)) / size : 0;
      const float* d = in(0);
      for (int64_t j = 0; j < size; ++j) out[j] = 0.f;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < size; ++j) out[j] += d[i * size + j];
      return;
    }
    case Kind::FillScalar: for (int64_t i = 0; i < size; ++i) out[i] = n.value; return;
    case Kind::BroadcastScalar: { float v = in(0)[0] * n.value; each(size, [&](int64_t i) { out[i] = v; }); return; }
    case Kind::AddN:
      ad::parallel_range(size, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          float s = 0;
          for (size_t k = 0; k < n.inputs.size(); ++k) s += in(k)[i];
          out[i] = s;
        }
      });
      return;
    case Kind::MseLoss:
    case Kind::BinaryCrossentropy:
    case Kind::CategoricalCrossentropy:
    case Kind::SparseCategoricalCrossentropy: out[0] = loss_value(n, in_shape(0), in(0), in(1)); return;
    case Kind::LossGrad: loss_grad(n, in_shape(0), in(0), in(1), in(2)[0], out); return;
    case Kind::SoftmaxCrossentropy:
      softmax_crossentropy(n, in_shape(0), in(0), in(1), out, ptr[static_cast<size_t>(n.outputs[1])]);
      return;
    case Kind::SoftmaxCrossentropyGrad: softmax_crossentropy_grad(n, in_shape(0), in(0), in(1), in(2)[0], out); return;
    case Kind::ActivationBiasGrad: {
      // With an activation: (y, dy) -> (dz, db). Without: (dy) -> (db), dz being dy itself.
      float scale = n.times_learning_rate ? n.update_scale * lr : n.update_scale;
      // A folded update at learning rate 0 leaves the bias as it is: the kernel would take
      // scale 0 for "no update folded in" and write the gradient over the bias.
      bool frozen = n.update_scale != 0.f && scale == 0.f;
      if (n.activation == Activation::None) {
        activation_bias_grad(n, in_shape(0), nullptr, in(0), const_cast<float*>(in(0)), frozen ? nullptr : out, scale);
      } else {
        float* db = n.outputs.size() > 1 && !frozen ? ptr[static_cast<size_t>(n.outputs[1])] : nullptr;
        activation_bias_grad(n, in_shape(0), in(0), in(1), out, db, scale);
      }
      return;
    }
    // The optimizers' kernels, shared with the eager optimizers (autodiff/kernels/updates.h).
    case Kind::SgdUpdate: ad::kernels::sgd_update(out, in(1), size, lr); return;
    case Kind::MomentumUpdate:
      ad::kernels::momentum_update(out, in(1), ptr[static_cast<size_t>(n.outputs[1])], size,
                                   {.learning_rate = lr, .momentum = rule.momentum, .nesterov = rule.nesterov});
      return;
    case Kind::AdamUpdate: {
      auto adam = ad::kernels::AdamCoefficients::at_step(
          {.learning_rate = lr, .beta_1 = rule.beta_1, .beta_2 = rule.beta_2, .epsilon = rule.epsilon}, ctx.iteration);
      ad::kernels::adam_update(out, in(1), ptr[static_cast<size_t>(n.outputs[1])],
                               ptr[static_cast<size_t>(n.outputs[2])], size, adam);
      return;
    }
    case Kind::RMSpropUpdate:
      ad::kernels::rmsprop_update(
          out, in(1), ptr[static_cast<size_t>(n.outputs[1])],
          n.outputs.size() > 2 ? ptr[static_cast<size_t>(n.outputs[2])] : nullptr, size,
          ad::kernels::RMSpropCoefficients::of(
              {.learning_rate = lr, .rho = rule.rho, .momentum = rule.momentum, .epsilon = rule.epsilon}));
      return;
    case Kind::MatMul:
    case Kind::FusedDense: ad::fail("run_node: {} runs as a MatmulPlan in the executor", kind_name(n.kind));
  }
}

}  // namespace graph
