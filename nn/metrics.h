/// @file
/// Metrics by Keras name, averaged over the samples seen since the last reset (an epoch, or an
/// evaluate call). "accuracy" becomes binary, categorical or sparse categorical accuracy from
/// the shapes alone, as Keras decides (tf.keras since 2.2, and Keras 3): binary for one output,
/// sparse for class indices, categorical otherwise. So several sigmoid outputs under
/// binary_crossentropy (multi-label) get categorical accuracy, the arg-max's, as in Keras; ask
/// for "binary_accuracy" to count each label. A prediction holding a NaN counts as wrong in the
/// accuracies (no class), and makes mae and mse NaN.
///
/// @code
/// // Given: const nn::Loss& loss, const ad::Tensor& probabilities, const ad::Tensor& labels
/// auto acc = nn::make_metric("accuracy", /*output_shape=*/{10}, /*target_shape=*/{32});
/// acc->update(probabilities, labels);   // per batch
/// double value = acc->result();         // mean over all samples so far
/// @endcode
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/loss.h"

namespace nn {

/// The base of the metrics: a running mean of a per-sample value, as Keras' stateful metrics.
class Metric {
 public:
  virtual ~Metric() = default;
  /// The key in logs and History: the name asked for ("accuracy", "mae", "mse").
  const std::string& name() const { return name_; }
  /// Adds a batch: `prediction` [n, ...] the model's outputs, `target` as given to fit.
  void update(const Tensor& prediction, const Tensor& target);
  /// The mean over every sample since the last reset (0 before any).
  double result() const { return count_ ? total_ / static_cast<double>(count_) : 0.0; }
  /// Forgets the samples seen (at the start of each epoch and evaluation).
  void reset() { total_ = 0, count_ = 0; }

 protected:
  /// A metric reported under `name`.
  explicit Metric(std::string name) : name_(std::move(name)) {}
  /// The sum over the batch's samples of the per-sample value.
  virtual double batch_total(const Tensor& prediction, const Tensor& target) const = 0;

 private:
  std::string name_;
  double total_ = 0;
  int64_t count_ = 0;
};

/// Metrics are held by shared pointer.
using MetricPtr = std::shared_ptr<Metric>;

/// Per output: 1 when output and target fall on the same side of the threshold; averaged over
/// a sample's outputs. Keras' binary_accuracy for targets of 0 and 1; Keras compares a soft
/// target (0.9, 0.3) with the thresholded output as it is, so counts it wrong whatever the
/// output, where this thresholds the target too.
class BinaryAccuracy : public Metric {
 public:
  /// Outputs above `threshold` count as 1 (Keras' default 0.5, for probabilities).
  explicit BinaryAccuracy(std::string name = "binary_accuracy", double threshold = 0.5)
      : Metric(std::move(name)), threshold_(threshold) {}

 protected:
  double batch_total(const Tensor& prediction, const Tensor& target) const override;

 private:
  double threshold_;
};

/// argmax of the output against argmax of a one-hot target.
class CategoricalAccuracy : public Metric {
 public:
  /// Reported as `name`.
  explicit CategoricalAccuracy(std::string name = "categorical_accuracy") : Metric(std::move(name)) {}

 protected:
  double batch_total(const Tensor& prediction, const Tensor& target) const override;
};

/// argmax of the output against a class index.
class SparseCategoricalAccuracy : public Metric {
 public:
  /// Reported as `name`.
  explicit SparseCategoricalAccuracy(std::string name = "sparse_categorical_accuracy") : Metric(std::move(name)) {}

 protected:
  double batch_total(const Tensor& prediction, const Tensor& target) const override;
};

/// Mean absolute (squared) error over a sample's outputs.
class MeanAbsoluteErrorMetric : public Metric {
 public:
  /// Reported as `name`.
  explicit MeanAbsoluteErrorMetric(std::string name = "mae") : Metric(std::move(name)) {}

 protected:
  double batch_total(const Tensor& prediction, const Tensor& target) const override;
};

/// Mean squared error over a sample's outputs (Keras' "mse" metric).
class MeanSquaredErrorMetric : public Metric {
 public:
  /// Reported as `name`.
  explicit MeanSquaredErrorMetric(std::string name = "mse") : Metric(std::move(name)) {}

 protected:
  double batch_total(const Tensor& prediction, const Tensor& target) const override;
};

/// A metric by Keras name ("accuracy"/"acc", "binary_accuracy", "categorical_accuracy",
/// "sparse_categorical_accuracy", "mae"/"mean_absolute_error", "mse"/"mean_squared_error").
/// `output_shape` and `target_shape` are per sample / whole-target shapes used to choose the
/// accuracy; throws listing the known names.
MetricPtr make_metric(const std::string& name, const Shape& output_shape, const Shape& target_shape);
/// Throws listing the known names when `name` is not one (checked at compile time).
void check_metric_name(const std::string& name);

}  // namespace nn
