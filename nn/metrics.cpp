#include "tapegrad/nn/metrics.h"

#include <cmath>

namespace nn {

namespace {

// Samples and values per sample of a batch.
struct Rows {
  int64_t n, width;
};

Rows rows_of(const Tensor& t) {
  int64_t n = t.rank() == 0 ? 1 : t.dim(0);
  return {n, n ? t.size() / n : 0};
}

// The index of the row's largest value, or -1 (no class) when the row holds a NaN: a NaN
// prediction is never counted as right.
int64_t argmax(const float* row, int64_t width) {
  int64_t best = 0;
  for (int64_t j = 0; j < width; ++j) {
    if (std::isnan(row[j])) return -1;
    if (row[j] > row[best]) best = j;
  }
  return best;
}

// Calls f(prediction value, target value) for every pair and sums, per sample averaged.
template <typename F>
double per_sample_mean_total(const Tensor& prediction, const Tensor& target, const char* who, F f) {
  Rows p = rows_of(prediction);
  TG_CHECK(target.size() == prediction.size(), "{}: prediction {} and target {} hold different numbers of values",
           who, ad::to_string(prediction.shape()), ad::to_string(target.shape()));
  double total = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    double row = 0;
    for (int64_t j = 0; j < p.width; ++j) row += f(prediction[i * p.width + j], target[i * p.width + j]);
    total += p.width ? row / static_cast<double>(p.width) : 0;
  }
  return total;
}

const std::vector<std::string> kKnown = {"accuracy", "acc", "binary_accuracy", "categorical_accuracy",
                                         "sparse_categorical_accuracy", "mae", "mean_absolute_error", "mse",
                                         "mean_squared_error"};

}  // namespace

void Metric::update(const Tensor& prediction, const Tensor& target) {
  total_ += batch_total(prediction, target);
  count_ += rows_of(prediction).n;
}

double BinaryAccuracy::batch_total(const Tensor& prediction, const Tensor& target) const {
  auto t = static_cast<float>(threshold_);
  return per_sample_mean_total(prediction, target, "binary_accuracy",
                               [t](float p, float y) {
                                 if (std::isnan(p)) return 0.0;  // never right
                                 return (p > t ? 1.f : 0.f) == (y > t ? 1.f : 0.f) ? 1.0 : 0.0;
                               });
}

double CategoricalAccuracy::batch_total(const Tensor& prediction, const Tensor& target) const {
  Rows p = rows_of(prediction);
  TG_CHECK(target.size() == prediction.size(), "categorical_accuracy: prediction {} and one-hot target {} differ",
           ad::to_string(prediction.shape()), ad::to_string(target.shape()));
  double total = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    int64_t predicted = argmax(prediction.data() + i * p.width, p.width);
    total += predicted >= 0 && predicted == argmax(target.data() + i * p.width, p.width);
  }
  return total;
}

double SparseCategoricalAccuracy::batch_total(const Tensor& prediction, const Tensor& target) const {
  Rows p = rows_of(prediction);
  TG_CHECK(target.size() == p.n, "sparse_categorical_accuracy: {} labels {} for {} predictions {}", target.size(),
           ad::to_string(target.shape()), p.n, ad::to_string(prediction.shape()));
  double total = 0;
  for (int64_t i = 0; i < p.n; ++i)
    total += static_cast<float>(argmax(prediction.data() + i * p.width, p.width)) == target[i];
  return total;
}

double MeanAbsoluteErrorMetric::batch_total(const Tensor& prediction, const Tensor& target) const {
  return per_sample_mean_total(prediction, target, "mae", [](float p, float y) { return std::fabs(double(p) - y); });
}

double MeanSquaredErrorMetric::batch_total(const Tensor& prediction, const Tensor& target) const {
  return per_sample_mean_total(prediction, target, "mse", [](float p, float y) {
    double d = double(p) - y;
    return d * d;
  });
}

void check_metric_name(const std::string& name) {
  for (const std::string& k : kKnown)
    if (name == k) return;
  ad::fail("compile: unknown metric '{}'; known: {}", name, fmt::join(kKnown, ", "));
}

MetricPtr make_metric(const std::string& name, const Shape& output_shape, const Shape& target_shape) {
  check_metric_name(name);
  if (name == "accuracy" || name == "acc") {
    // Keras' rule, by the shapes alone (tf.keras since 2.2 and Keras 3): one output -> binary;
    // targets of lower rank or a single column against several outputs -> sparse; else one-hot.
    int64_t output_last = output_shape.empty() ? 1 : output_shape.back();
    size_t output_rank = output_shape.size() + 1;  // with the batch axis
    int64_t target_last = target_shape.empty() ? 1 : target_shape.back();
    if (output_last == 1) return std::make_shared<BinaryAccuracy>(name);
    if (target_shape.size() < output_rank || (target_last == 1 && output_last > 1))
      return std::make_shared<SparseCategoricalAccuracy>(name);
    return std::make_shared<CategoricalAccuracy>(name);
  }
  if (name == "binary_accuracy") return std::make_shared<BinaryAccuracy>(name);
  if (name == "categorical_accuracy") return std::make_shared<CategoricalAccuracy>(name);
  if (name == "sparse_categorical_accuracy") return std::make_shared<SparseCategoricalAccuracy>(name);
  if (name == "mae" || name == "mean_absolute_error") return std::make_shared<MeanAbsoluteErrorMetric>(name);
  return std::make_shared<MeanSquaredErrorMetric>(name);
}

}  // namespace nn
