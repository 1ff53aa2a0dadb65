// The losses as single ops: value and gradient side by side, each the mean over samples.
// Targets are data: they get no gradient, and NaN or out-of-range targets are errors.
// Probabilities are clipped to [eps, 1-eps] (eps = 1e-7, as Keras does) before a log, in the
// order of tf.keras' backend: binary adds eps again inside each log, categorical divides each
// row by its sum and then clips, sparse categorical clips and then divides by the clipped sum;
// from_logits variants use the stable log-sum-exp form and have gradient p - target.
// A NaN prediction gives a NaN loss and a NaN gradient (never a clipped or 0 one).
// Each loss L(prediction, target) has its gradient op L_grad(prediction, target, dloss) =
// dloss * dL/dprediction. Both kernels check the target data (not the shape rules, which see
// no data), so that a compiled graph refuses bad targets as the eager tape does, and so that
// a gradient kernel never indexes a row with a label outside it.
#include <cmath>

#include "tapegrad/autodiff/kernels/softmax.h"
#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/autodiff/ops.h"
#include "tapegrad/autodiff/threading.h"

namespace ad {

namespace {

constexpr float kEpsilon = 1e-7f;

float clip_probability(float p) { return p < kEpsilon ? kEpsilon : (p > 1 - kEpsilon ? 1 - kEpsilon : p); }
// Where a probability was clipped the loss is flat: gradient 0. False for NaN, whose gradient
// stays NaN.
bool clipped(float p) { return p < kEpsilon || p > 1 - kEpsilon; }

// The categorical cross-entropies from probabilities read a row that is not a distribution
// (sigmoid or relu outputs, scores) as one, by dividing it by its sum, as Keras does; a row of
// softmax outputs is unchanged up to rounding. categorical_crossentropy divides first and then
// clips (output / sum(output, axis=-1)), so a row summing to 0 gives NaN, as in Keras;
// sparse_categorical_crossentropy clips first (its log of the clipped row goes through a
// softmax), so a row of zeros gives log(classes), as in Keras.
float row_sum(const float* row, int64_t width) {
  double sum = 0;
  for (int64_t j = 0; j < width; ++j) sum += row[j];
  return static_cast<float>(sum);
}
float clipped_sum(const float* row, int64_t width) {
  double sum = 0;
  for (int64_t j = 0; j < width; ++j) sum += clip_probability(row[j]);
  return static_cast<float>(sum);
}

// ---- Checks: shapes in the shape rules, target data in the kernels ----

void check_no_nan(const View& t, const char* op, const char* what) {
  for (int64_t i = 0; i < t.size; ++i)
    if (std::isnan(t.data[i])) fail("{}: {} has NaN at flat index {} (shape {})", op, what, i, to_string(*t.shape));
}

// Free of NaN first (that message names it), then in [0, 1].
void check_probability_targets(const View& t, const char* op) {
  check_no_nan(t, op, "target");
  for (int64_t i = 0; i < t.size; ++i)
    TG_CHECK(t.data[i] >= 0 && t.data[i] <= 1, "{}: target {} at flat index {} is outside [0, 1]", op, t.data[i], i);
}

// The target fits the prediction: equal shapes, or equal element count with the same number
// of rows ([n] against [n,1]); the kernels then read both as flat arrays.
void check_matched_target(const Shape& p, const Shape& t, const char* op) {
  bool same_rows = !p.empty() && !t.empty() && p[0] == t[0];
  int64_t size = element_count(p, op);
  TG_CHECK(p == t || (same_rows && size == element_count(t, op)),
           "{}: prediction {} and target {} have different shapes", op, to_string(p), to_string(t));
  TG_CHECK(size > 0, "{}: empty prediction {}", op, to_string(p));
}

void check_matrix(const Shape& p, const char* op) {
  TG_CHECK(p.size() == 2, "{}: prediction must be [samples, classes], got {}", op, to_string(p));
  TG_CHECK(p[0] > 0 && p[1] > 0, "{}: empty prediction {}", op, to_string(p));
}

// The gradient ops' third input: the loss's own (scalar) gradient.
void check_dloss(const Shape& g, const char* op) {
  TG_CHECK(element_count(g, op) == 1, "{}: the loss gradient must hold one value, got shape {}", op, to_string(g));
}

// ---- The losses ----
// Each is a struct that the generic rules below read: `from` (its attributes, checked), its
// shape check, its target check, `value` (the mean) and `gradient` (dloss * d value / d p).

// A pointwise loss's mean: sum of f(p, t) over all elements, accumulated in double.
template <typename F>
float pointwise_mean(const View& p, const View& t, F f) {
  double total = 0;
  for (int64_t i = 0; i < p.size; ++i) total += f(p.data[i], t.data[i]);
  return static_cast<float>(total / static_cast<double>(p.size));
}

// A pointwise loss's gradient: dloss * d(p, t) / N.
template <typename D>
void pointwise_gradient(const View& p, const View& t, float dloss, const View& out, D d) {
  float scale = dloss / static_cast<float>(p.size);
  parallel_range(p.size, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out.data[i] = scale * d(p.data[i], t.data[i]);
  });
}

// What the pointwise losses share: shapes and a target free of NaN.
struct Pointwise {
  static void check_shapes(const Shape& p, const Shape& t, const char* op) { check_matched_target(p, t, op); }
  static void check_target(const View&, const View& t, const char* op) { check_no_nan(t, op, "target"); }
};

struct MseLoss : Pointwise {
  static constexpr const char* name = "mse_loss";
  static constexpr const char* grad_name = "mse_loss_grad";
  static MseLoss from(const Attrs&, const char*) { return {}; }
  float value(const View& p, const View& t) const {
    return pointwise_mean(p, t, [](float x, float y) { return (x - y) * (x - y); });
  }
  void gradient(const View& p, const View& t, float dloss, const View& out) const {
    pointwise_gradient(p, t, dloss, out, [](float x, float y) { return 2 * (x - y); });
  }
};

struct MaeLoss : Pointwise {
  static constexpr const char* name = "mae_loss";
  static constexpr const char* grad_name = "mae_loss_grad";
  static MaeLoss from(const Attrs&, const char*) { return {}; }
  float value(const View& p, const View& t) const {
    return pointwise_mean(p, t, [](float x, float y) { return std::fabs(x - y); });
  }
  void gradient(const View& p, const View& t, float dloss, const View& out) const {
    pointwise_gradient(p, t, dloss, out,
                       [](float x, float y) { return x > y ? 1.f : (x < y ? -1.f : (x - y) * 0.f); });
  }
};

float huber(float d, float delta) {
  float a = std::fabs(d);
  return a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
}

struct HuberLoss : Pointwise {
  static constexpr const char* name = "huber_loss";
  static constexpr const char* grad_name = "huber_loss_grad";
  float delta;
  static HuberLoss from(const Attrs& attrs, const char* op) {
    float delta = attrs_as<HuberAttrs>(attrs, op).delta;
    TG_CHECK(delta > 0, "{}: delta must be positive, got {}", op, delta);
    return {{}, delta};
  }
  float value(const View& p, const View& t) const {
    return pointwise_mean(p, t, [this](float x, float y) { return huber(x - y, delta); });
  }
  void gradient(const View& p, const View& t, float dloss, const View& out) const {
    pointwise_gradient(p, t, dloss, out, [this](float x, float y) {
      float d = x - y;
      return std::fabs(d) <= delta ? d : (d > 0 ? delta : (d < 0 ? -delta : d));  // d NaN: NaN
    });
  }
};

// What the cross-entropies share: their one attribute, logits or probabilities.
template <typename Self>
struct Crossentropy {
  bool from_logits = false;
  static Self from(const Attrs& attrs, const char* op) {
    Self loss;
    loss.from_logits = attrs_as<FromLogitsAttrs>(attrs, op).from_logits;
    return loss;
  }
};

float bce_logits(float x, float t) { return std::fmax(x, 0.f) - x * t + std::log1p(std::exp(-std::fabs(x))); }
float logistic(float x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

struct BinaryCrossentropy : Crossentropy<BinaryCrossentropy> {
  static constexpr const char* name = "binary_crossentropy";
  static constexpr const char* grad_name = "binary_crossentropy_grad";
  static void check_shapes(const Shape& p, const Shape& t, const char* op) { check_matched_target(p, t, op); }
  static void check_target(const View&, const View& t, const char* op) { check_probability_targets(t, op); }
  float value(const View& p, const View& t) const {
    if (from_logits) return pointwise_mean(p, t, bce_logits);
    // tf.keras' backend: log(q + eps) and log(1 - q + eps) after the clip (Keras 3 leaves the
    // second eps out: at the clip, 15.4 against its 16.1).
    return pointwise_mean(p, t, [](float x, float y) {
      float q = clip_probability(x);
      return -(y * std::log(q + kEpsilon) + (1 - y) * std::log(1 - q + kEpsilon));
    });
  }
  void gradient(const View& p, const View& t, float dloss, const View& out) const {
    if (from_logits) return pointwise_gradient(p, t, dloss, out, [](float x, float y) { return logistic(x) - y; });
    pointwise_gradient(p, t, dloss, out, [](float x, float y) {
      if (clipped(x)) return 0.f;  // clipped: flat
      return (1 - y) / (1 - x + kEpsilon) - y / (x + kEpsilon);
    });
  }
};

struct CategoricalCrossentropy : Crossentropy<CategoricalCrossentropy> {
  static constexpr const char* name = "categorical_crossentropy";
  static constexpr const char* grad_name = "categorical_crossentropy_grad";
  static void check_shapes(const Shape& p, const Shape& t, const char* op) {
    check_matrix(p, op);
    TG_CHECK(p == t, "{}: prediction {} and one-hot target {} have different shapes", op, to_string(p),
             to_string(t));
  }
  static void check_target(const View&, const View& t, const char* op) { check_probability_targets(t, op); }
  // -Σ t log p over all elements, divided by the rows (samples).
  float value(const View& p, const View& t) const {
    int64_t rows = (*p.shape)[0], w = (*p.shape)[1];
    double total = 0;
    if (from_logits) {
      for (int64_t i = 0; i < rows; ++i) {
        kernels::LogSumExp row = kernels::log_sum_exp(p.data + i * w, w);
        for (int64_t j = 0; j < w; ++j)
          total -= t.data[i * w + j] * kernels::log_probability(p.data[i * w + j], row);
      }
    } else {
      for (int64_t i = 0; i < rows; ++i) {
        const float* row = p.data + i * w;
        float sum = row_sum(row, w);
        for (int64_t j = 0; j < w; ++j) total -= t.data[i * w + j] * std::log(clip_probability(row[j] / sum));
      }
    }
    return static_cast<float>(total / static_cast<double>(rows));
  }
  void gradient(const View& p, const View& t, float dloss, const View& out) const {
    int64_t rows = (*p.shape)[0], w = (*p.shape)[1];
    float scale = dloss / static_cast<float>(rows);
    const float *x = p.data, *y = t.data;
    float* d = out.data;
    if (from_logits) {  // softmax * sum(t) - t
      parallel_rows(rows, w, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          kernels::LogSumExp row = kernels::log_sum_exp(x + i * w, w);
          float ts = 0;
          for (int64_t j = 0; j < w; ++j) ts += y[i * w + j];
          for (int64_t j = 0; j < w; ++j)
            d[i * w + j] = scale * (std::exp(kernels::log_probability(x[i * w + j], row)) * ts - y[i * w + j]);
        }
      });
      return;
    }
    parallel_rows(rows, w, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const float* row = x + i * w;
        float sum = row_sum(row, w), unclipped_target = 0;
        for (int64_t j = 0; j < w; ++j)
          if (!clipped(row[j] / sum)) unclipped_target += y[i * w + j];
        for (int64_t j = 0; j < w; ++j) {
          float own = clipped(row[j] / sum) ? 0.f : -y[i * w + j] / row[j];
          d[i * w + j] = scale * (own + unclipped_target / sum);
        }
      }
    });
  }
};

struct SparseCategoricalCrossentropy : Crossentropy<SparseCategoricalCrossentropy> {
  static constexpr const char* name = "sparse_categorical_crossentropy";
  static constexpr const char* grad_name = "sparse_categorical_crossentropy_grad";
  // The labels: one per row, [n] or [n,1].
  static void check_shapes(const Shape& p, const Shape& labels, const char* op) {
    check_matrix(p, op);
    int64_t count = element_count(labels, op);
    TG_CHECK(count == p[0] && (labels.size() == 1 || (labels.size() == 2 && labels[1] == 1)),
             "{}: needs one label per row: {} labels {} for predictions {}", op, count, to_string(labels),
             to_string(p));
  }
  // Whole numbers in [0, classes); NaN is outside.
  static void check_target(const View& p, const View& labels, const char* op) {
    int64_t classes = (*p.shape)[1];
    for (int64_t i = 0; i < labels.size; ++i) {
      float l = labels.data[i];
      if (!(l >= 0 && l < static_cast<float>(classes)))
        fail("{}: label {} in row {} is outside [0, {})", op, l, i, classes);
      if (l != std::floor(l)) fail("{}: label {} in row {} is not a whole number", op, l, i);
    }
  }
  float value(const View& p, const View& labels) const {
    int64_t n = (*p.shape)[0], classes = (*p.shape)[1];
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* row = p.data + i * classes;
      float z = row[static_cast<int64_t>(labels.data[i])];
      if (from_logits) total -= kernels::log_probability(z, kernels::log_sum_exp(row, classes));
      else total -= std::log(clip_probability(z)) - std::log(clipped_sum(row, classes));
    }
    return static_cast<float>(total / static_cast<double>(n));
  }
  void gradient(const View& p, const View& labels, float dloss, const View& out) const {
    int64_t rows = (*p.shape)[0], w = (*p.shape)[1];
    float scale = dloss / static_cast<float>(rows);
    const float* x = p.data;
    float* d = out.data;
    parallel_rows(rows, w, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        int64_t l = static_cast<int64_t>(labels.data[i]);
        if (from_logits) {  // softmax - onehot
          kernels::LogSumExp row = kernels::log_sum_exp(x + i * w, w);
          for (int64_t j = 0; j < w; ++j) d[i * w + j] = scale * std::exp(kernels::log_probability(x[i * w + j], row));
          d[i * w + l] -= scale;
        } else {  // d/dp_j of -log(q_l / Σq), q = clip(p): 1/Σq, less 1/q_l at the label; 0 where clipped
          const float* row = x + i * w;
          float sum = clipped_sum(row, w);
          for (int64_t j = 0; j < w; ++j) d[i * w + j] = clipped(row[j]) ? 0.f : scale / sum;
          if (!clipped(row[l])) d[i * w + l] -= scale / row[l];
        }
      }
    });
  }
};

// ---- The rules every loss L shares ----

template <typename L>
Shape loss_shape(ShapeArgs s) {
  L::from(s.attrs, L::name);
  L::check_shapes(*s.inputs[0], *s.inputs[1], L::name);
  return {};
}

template <typename L>
void loss_kernel(const KernelArgs& k) {
  L loss = L::from(k.attrs, L::name);
  L::check_target(k.in[0], k.in[1], L::name);
  k.out[0].data[0] = loss.value(k.in[0], k.in[1]);
}

// (prediction, target, dloss) -> the prediction's gradient.
template <typename L>
Shape grad_shape(ShapeArgs s) {
  L::from(s.attrs, L::grad_name);
  L::check_shapes(*s.inputs[0], *s.inputs[1], L::grad_name);
  check_dloss(*s.inputs[2], L::grad_name);
  return *s.inputs[0];
}

template <typename L>
void grad_kernel(const KernelArgs& k) {
  L loss = L::from(k.attrs, L::grad_name);
  L::check_target(k.in[0], k.in[1], L::grad_name);
  loss.gradient(k.in[0], k.in[1], k.in[2].data[0], k.out[0]);
}

// The target (input 1) is data: only the prediction gets a gradient.
template <const OpDef& Grad>
Gradients loss_backward(const BackwardArgs& b) {
  if (!b.needs[0]) return {Var(), Var()};
  return {apply(Grad, {b.inputs[0], b.inputs[1], b.grad}, b.attrs), Var()};
}

// The entries. constexpr, so that they are constant-initialised: no other file's static
// initialisation can see one before it is set.
template <typename L, const OpDef& Grad>
constexpr OpDef loss_def() {
  return {.name = L::name,
          .num_inputs = 2,
          .infer = loss_shape<L>,
          .forward = loss_kernel<L>,
          .backward = loss_backward<Grad>,
          .data_inputs = 0b10,
          .is_loss = true};
}

// No backward, as every *_grad op: the library takes first derivatives only.
template <typename L>
constexpr OpDef grad_def() {
  return {.name = L::grad_name,
          .num_inputs = 3,
          .infer = grad_shape<L>,
          .forward = grad_kernel<L>,
          .data_inputs = 0b110};
}

}  // namespace

namespace defs {

const OpDef mse_loss = loss_def<MseLoss, mse_loss_grad>();
const OpDef mae_loss = loss_def<MaeLoss, mae_loss_grad>();
const OpDef huber_loss = loss_def<HuberLoss, huber_loss_grad>();
const OpDef binary_crossentropy = loss_def<BinaryCrossentropy, binary_crossentropy_grad>();
const OpDef categorical_crossentropy = loss_def<CategoricalCrossentropy, categorical_crossentropy_grad>();
const OpDef sparse_categorical_crossentropy =
    loss_def<SparseCategoricalCrossentropy, sparse_categorical_crossentropy_grad>();

const OpDef mse_loss_grad = grad_def<MseLoss>();
const OpDef mae_loss_grad = grad_def<MaeLoss>();
const OpDef huber_loss_grad = grad_def<HuberLoss>();
const OpDef binary_crossentropy_grad = grad_def<BinaryCrossentropy>();
const OpDef categorical_crossentropy_grad = grad_def<CategoricalCrossentropy>();
const OpDef sparse_categorical_crossentropy_grad = grad_def<SparseCategoricalCrossentropy>();

}  // namespace defs

Var mse_loss(const Var& prediction, const Var& target) { return apply(defs::mse_loss, {prediction, target}); }

Var mae_loss(const Var& prediction, const Var& target) { return apply(defs::mae_loss, {prediction, target}); }

Var huber_loss(const Var& prediction, const Var& target, float delta) {
  return apply(defs::huber_loss, {prediction, target}, HuberAttrs{delta});  // delta > 0: checked by the shape rule
}

Var binary_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options) {
  return apply(defs::binary_crossentropy, {prediction, target}, FromLogitsAttrs{options.from_logits});
}

Var categorical_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options) {
  return apply(defs::categorical_crossentropy, {prediction, target}, FromLogitsAttrs{options.from_logits});
}

Var sparse_categorical_crossentropy(const Var& prediction, const Tensor& labels, CrossentropyOptions options) {
  return apply(defs::sparse_categorical_crossentropy, {prediction, constant(labels)},
               FromLogitsAttrs{options.from_logits});
}

}  // namespace ad
