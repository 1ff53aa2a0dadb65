// The losses as single ops: value and gradient side by side, each the mean over samples.
// Targets are data: they get no gradient, and NaN or out-of-range targets are errors.
// Probabilities are clipped to [eps, 1-eps] (eps = 1e-7, as Keras does) before a log;
// from_logits variants use the stable log-sum-exp form and have gradient p - target.
// A NaN prediction gives a NaN loss and a NaN gradient (never a clipped or 0 one).
#include <utility>
#include <cmath>

#include "tapegrad/autodiff/kernels/elementwise.h"
#include "tapegrad/autodiff/kernels/softmax.h"
#include "tapegrad/autodiff/ops.h"

namespace ad {

namespace {

constexpr float kEpsilon = 1e-7f;

float clip_probability(float p) { return p < kEpsilon ? kEpsilon : (p > 1 - kEpsilon ? 1 - kEpsilon : p); }

void check_no_nan(const Tensor& t, const char* op, const char* what) {
  for (int64_t i = 0; i < t.size(); ++i)
    if (std::isnan(t[i])) fail("{}: {} has NaN at flat index {} (shape {})", op, what, i, to_string(t.shape()));
}

// The target as a tensor of the prediction's shape: equal shapes, or equal element count
// with the same number of rows ([n] against [n,1]).
Tensor matched_target(const Var& prediction, const Var& target, const char* op) {
  const Shape &p = prediction.shape(), &t = target.shape();
  bool same_rows = !p.empty() && !t.empty() && p[0] == t[0];
  TG_CHECK(p == t || (same_rows && prediction.size() == target.size()),
           "{}: prediction {} and target {} have different shapes", op, to_string(p), to_string(t));
  TG_CHECK(prediction.size() > 0, "{}: empty prediction {}", op, to_string(p));
  check_no_nan(target.value(), op, "target");
  return target.value().reshape(p);
}

// A loss whose value is mean(f(p, t)) over all elements and whose gradient is f'(p, t) / N.
template <typename F>
Var pointwise_loss(Op op, const Var& prediction, const Var& target, double attr, F f, BackwardFn backward) {
  Tensor t = matched_target(prediction, target, op_name(op));
  double total = 0;
  const Tensor& p = prediction.value();
  for (int64_t i = 0; i < p.size(); ++i) total += f(p[i], t[i]);
  Node node;
  node.op = op;
  node.saved[0] = t;
  node.attrs[0] = attr;
  node.backward = backward;
  return make_result(Tensor::scalar(static_cast<float>(total / static_cast<double>(p.size()))), std::move(node),
                     {&prediction});
}

// Gradient g * d(p, t) / N for the pointwise losses.
template <typename D>
void pointwise_backward(const Node& n, D d) {
  const Tensor &p = n.inputs[0]->value, &t = n.saved[0];
  float scale = n.output->grad[0] / static_cast<float>(p.size());
  accumulate_grad(n, 0, kernels::map2(p, t, [&](float x, float y) { return scale * d(x, y); }));
}

float huber(float d, float delta) {
  float a = std::fabs(d);
  return a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
}

float bce_logits(float x, float t) { return std::fmax(x, 0.f) - x * t + std::log1p(std::exp(-std::fabs(x))); }
float logistic(float x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

void check_probability_targets(const Tensor& t, const char* op) {
  for (int64_t i = 0; i < t.size(); ++i)
    TG_CHECK(t[i] >= 0 && t[i] <= 1, "{}: target {} at flat index {} is outside [0, 1]", op, t[i], i);
}

void check_matrix(const Var& prediction, const char* op) {
  TG_CHECK(prediction.value().rank() == 2, "{}: prediction must be [samples, classes], got {}", op,
           to_string(prediction.shape()));
  TG_CHECK(prediction.shape()[0] > 0 && prediction.shape()[1] > 0, "{}: empty prediction {}", op,
           to_string(prediction.shape()));
}

}  // namespace

Var mse_loss(const Var& prediction, const Var& target) {
  return pointwise_loss(Op::MseLoss, prediction, target, 0, [](float p, float t) { return (p - t) * (p - t); },
                        [](const Node& n) { pointwise_backward(n, [](float p, float t) { return 2 * (p - t); }); });
}

Var mae_loss(const Var& prediction, const Var& target) {
  return pointwise_loss(Op::MaeLoss, prediction, target, 0, [](float p, float t) { return std::fabs(p - t); },
                        [](const Node& n) {
                          pointwise_backward(n, [](float p, float t) { return p > t ? 1.f : (p < t ? -1.f : (p - t) * 0.f); });
                        });
}

Var huber_loss(const Var& prediction, const Var& target, float delta) {
  TG_CHECK(delta > 0, "huber_loss: delta must be positive, got {}", delta);
  return pointwise_loss(Op::HuberLoss, prediction, target, delta,
                        [delta](float p, float t) { return huber(p - t, delta); }, [](const Node& n) {
                          float dl = static_cast<float>(n.attrs[0]);
                          pointwise_backward(n, [dl](float p, float t) {
                            float d = p - t;
                            return std::fabs(d) <= dl ? d : (d > 0 ? dl : (d < 0 ? -dl : d));  // d NaN: NaN
                          });
                        });
}

Var binary_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options) {
  const char* name = "binary_crossentropy";
  Tensor t = matched_target(prediction, target, name);
  check_probability_targets(t, name);
  if (options.from_logits) {
    return pointwise_loss(Op::BinaryCrossentropyLogits, prediction, target, 0, bce_logits, [](const Node& n) {
      pointwise_backward(n, [](float x, float y) { return logistic(x) - y; });
    });
  }
  return pointwise_loss(Op::BinaryCrossentropy, prediction, target, 0,
                        [](float p, float y) {
                          float q = clip_probability(p);
                          return -(y * std::log(q) + (1 - y) * std::log(1 - q));
                        },
                        [](const Node& n) {
                          pointwise_backward(n, [](float p, float y) {
                            if (p < kEpsilon || p > 1 - kEpsilon) return 0.f;  // clipped: flat
                            return (p - y) / (p * (1 - p));
                          });
                        });
}

Var categorical_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options) {
  const char* name = "categorical_crossentropy";
  check_matrix(prediction, name);
  TG_CHECK(prediction.shape() == target.shape(), "{}: prediction {} and one-hot target {} have different shapes",
           name, to_string(prediction.shape()), to_string(target.shape()));
  check_no_nan(target.value(), name, "target");
  check_probability_targets(target.value(), name);
  const Tensor &p = prediction.value(), &t = target.value();
  int64_t n = p.shape()[0];
  Node node;
  node.saved[0] = t;
  double total = 0;
  if (options.from_logits) {
    node.op = Op::CategoricalCrossentropy;
    node.attrs[0] = 1;  // from logits
    Tensor logp = kernels::log_softmax(p);
    for (int64_t i = 0; i < p.size(); ++i) total -= t[i] * logp[i];
    node.saved[1] = logp;
  } else {
    node.op = Op::CategoricalCrossentropy;
    for (int64_t i = 0; i < p.size(); ++i) total -= t[i] * std::log(clip_probability(p[i]));
  }
  node.backward = [](const Node& nd) {
    const Tensor &p = nd.inputs[0]->value, &t = nd.saved[0];
    int64_t rows = p.shape()[0], w = p.shape()[1];
    float scale = nd.output->grad[0] / static_cast<float>(rows);
    Tensor d = Tensor::empty(p.shape());
    if (nd.attrs[0] != 0) {  // logits: softmax * sum(t) - t
      const Tensor& logp = nd.saved[1];
      for (int64_t i = 0; i < rows; ++i) {
        float ts = 0;
        for (int64_t j = 0; j < w; ++j) ts += t[i * w + j];
        for (int64_t j = 0; j < w; ++j) d[i * w + j] = scale * (std::exp(logp[i * w + j]) * ts - t[i * w + j]);
      }
    } else {
      for (int64_t i = 0; i < p.size(); ++i)
        d[i] = (p[i] < kEpsilon || p[i] > 1 - kEpsilon) ? 0.f : -scale * t[i] / p[i];
    }
    accumulate_grad(nd, 0, std::move(d));
  };
  return make_result(Tensor::scalar(static_cast<float>(total / static_cast<double>(n))), std::move(node),
                     {&prediction});
}

Var sparse_categorical_crossentropy(const Var& prediction, const Tensor& labels, CrossentropyOptions options) {
  const char* name = "sparse_categorical_crossentropy";
  check_matrix(prediction, name);
  int64_t n = prediction.shape()[0], classes = prediction.shape()[1];
  TG_CHECK(labels.size() == n && (labels.rank() == 1 || (labels.rank() == 2 && labels.shape()[1] == 1)),
           "{}: needs one label per row: {} labels {} for predictions {}", name, labels.size(),
           to_string(labels.shape()), to_string(prediction.shape()));
  for (int64_t i = 0; i < n; ++i) {
    float l = labels[i];
    if (!(l >= 0 && l < static_cast<float>(classes)))
      fail("{}: label {} in row {} is outside [0, {})", name, l, i, classes);
    if (l != std::floor(l)) fail("{}: label {} in row {} is not a whole number", name, l, i);
  }
  const Tensor& p = prediction.value();
  Node node;
  node.op = options.from_logits ? Op::SparseCategoricalCrossentropyLogits : Op::SparseCategoricalCrossentropy;
  node.saved[0] = labels;
  double total = 0;
  if (options.from_logits) {
    Tensor logp = kernels::log_softmax(p);
    for (int64_t i = 0; i < n; ++i) total -= logp[i * classes + static_cast<int64_t>(labels[i])];
    node.saved[1] = logp;
  } else {
    for (int64_t i = 0; i < n; ++i) total -= std::log(clip_probability(p[i * classes + static_cast<int64_t>(labels[i])]));
  }
  node.backward = [](const Node& nd) {
    const Tensor &p = nd.inputs[0]->value, &labels = nd.saved[0];
    int64_t rows = p.shape()[0], w = p.shape()[1];
    float scale = nd.output->grad[0] / static_cast<float>(rows);
    Tensor d = Tensor::zeros(p.shape());
    for (int64_t i = 0; i < rows; ++i) {
      int64_t l = static_cast<int64_t>(labels[i]);
      if (nd.op == Op::SparseCategoricalCrossentropyLogits) {  // softmax - onehot
        const Tensor& logp = nd.saved[1];
        for (int64_t j = 0; j < w; ++j) d[i * w + j] = scale * std::exp(logp[i * w + j]);
        d[i * w + l] -= scale;
      } else {
        float q = p[i * w + l];
        d[i * w + l] = (q < kEpsilon || q > 1 - kEpsilon) ? 0.f : -scale / q;
      }
    }
    accumulate_grad(nd, 0, std::move(d));
  };
  return make_result(Tensor::scalar(static_cast<float>(total / static_cast<double>(n))), std::move(node),
                     {&prediction});
}

}  // namespace ad
