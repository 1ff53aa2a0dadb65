/// @file
/// Losses by Keras name or as objects: each takes the model's outputs and the targets and gives
/// the mean over samples as a scalar Var, built on the loss ops of autodiff/ops.h.
///
/// @code
/// #include <tapegrad/nn/sequential.h>
/// // Given: nn::Sequential& model
/// model.compile({.loss = "sparse_categorical_crossentropy"});
/// model.compile({.loss = nn::Huber({.delta = 2})});
/// model.compile({.loss = nn::BinaryCrossentropy({.from_logits = true})});
/// @endcode
///
/// A model whose last activation is softmax (sigmoid) with a cross-entropy on probabilities
/// computes the loss from the logits instead (on_logits_of), in fit, evaluate and the val_
/// figures alike, eager or compiled: the same numbers where the probabilities are not near 0
/// or 1, a gradient that stays finite when one rounds to 0 or 1, and no cap on the loss of a
/// confident mistake (logits [20, 0] with label 1 give 20, not the 16.1 of -log 1e-7). Keras
/// with its TensorFlow backend (tf.keras, the book's) does the same: its softmax and sigmoid
/// keep their logits on the output tensor and its cross-entropies take them (`_keras_logits`).
/// tf.keras takes them for any cross-entropy, also one that does not match the activation (a
/// softmax under binary_crossentropy gives the binary cross-entropy of sigmoid(logits), not of
/// the model's outputs); here only the matching pairs take the logits (sigmoid with binary,
/// softmax with the categorical ones), and a mismatched pair is computed on the outputs.
/// Keras 3 on JAX or NumPy clips the probabilities instead, so saturated outputs give other
/// losses there. PyTorch's cross_entropy takes logits only.
/// The probability form, clipped to [1e-7, 1 - 1e-7] as Keras clips (so that log never sees
/// 0), applies only where the model's outputs really are the probabilities the loss gets: a
/// last activation other than softmax/sigmoid, or a direct call of compute().
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/layer.h"

namespace nn {

/// The base of the losses that compile() takes, as Keras' keras.losses.Loss: a mean over the
/// batch's samples, comparable between batch sizes.
class Loss {
 public:
  virtual ~Loss() = default;
  /// The Keras name: "mean_squared_error", "sparse_categorical_crossentropy", ...
  virtual std::string name() const = 0;
  /// Mean loss over the samples of a batch; `target` is data (no gradient).
  virtual Var compute(const Var& prediction, const Tensor& target) const = 0;
  /// {"name": ..., and options such as "from_logits" or "delta"}.
  virtual Json get_config() const;
  /// An independent copy (a model's copy may be recompiled without touching the original).
  virtual std::shared_ptr<Loss> clone() const = 0;
  /// The same loss on the values before `activation`, when taking those is the stable way to
  /// compute it (softmax or sigmoid before a cross-entropy on probabilities); else nullptr.
  /// A cross-entropy with from_logits set answers the same for its activation: the outputs of
  /// a softmax or sigmoid are no logits, and tf.keras then takes the layer's logits (with a
  /// warning), so the loss is the one the model means either way.
  virtual std::shared_ptr<Loss> on_logits_of(const std::string& /*activation*/) const { return nullptr; }
  /// Whether compute() reads its predictions as logits (a cross-entropy's from_logits).
  virtual bool from_logits() const { return false; }
  /// Checks a whole target set against the model's per-sample output shape before training,
  /// naming `who` (e.g. "fit") and the first bad row.
  virtual void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const;
  /// Whether targets are class indices rather than values of the output's shape.
  virtual bool sparse_targets() const { return false; }
};

/// Losses are held by shared pointer.
using LossPtr = std::shared_ptr<Loss>;

/// Keras' option of the cross-entropy losses.
struct CrossentropyLossOptions {
  bool from_logits = false;  ///< the model outputs logits, not probabilities (Keras' default false)
};

/// Keras' MeanSquaredError ("mse"): mean of (prediction - target)², targets of the output's shape.
class MeanSquaredError : public Loss {
 public:
  std::string name() const override { return "mean_squared_error"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<MeanSquaredError>(*this); }
};

/// Keras' MeanAbsoluteError ("mae"): mean of |prediction - target|, robust to outliers.
class MeanAbsoluteError : public Loss {
 public:
  std::string name() const override { return "mean_absolute_error"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<MeanAbsoluteError>(*this); }
};

/// Keras' option of the Huber loss.
struct HuberOptions {
  double delta = 1.0;  ///< where the loss turns from quadratic to linear (Keras' default 1.0); must be positive
};

/// Keras' Huber loss: ½e² for |e| <= delta, delta(|e| - ½delta) beyond; quadratic near 0,
/// linear for outliers.
class Huber : public Loss {
 public:
  /// Throws ad::Error unless delta is positive and finite.
  explicit Huber(HuberOptions options = {});
  std::string name() const override { return "huber"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  Json get_config() const override;
  LossPtr clone() const override { return std::make_shared<Huber>(*this); }
  /// The option delta.
  double delta() const { return options_.delta; }

 private:
  HuberOptions options_;
};

/// Shared by the three cross-entropies: the from_logits option and its config.
class CrossentropyLoss : public Loss {
 public:
  /// With Keras' from_logits option.
  explicit CrossentropyLoss(CrossentropyLossOptions options) : options_(options) {}
  /// Whether predictions are logits.
  bool from_logits() const override { return options_.from_logits; }
  Json get_config() const override;

 protected:
  CrossentropyLossOptions options_;  ///< the options given
};

/// Keras' BinaryCrossentropy: -mean(t log p + (1-t) log(1-p)) per output, targets in [0,1] of
/// the output's shape (one sigmoid output per label). Probabilities are clipped to [1e-7, 1-1e-7]
/// and each log then reads p + 1e-7 and 1 - p + 1e-7, as tf.keras' backend does (Keras 3 leaves
/// that second 1e-7 out: at a clipped prediction its loss is 16.1 against tf.keras' 15.4).
class BinaryCrossentropy : public CrossentropyLoss {
 public:
  /// Keras' defaults: probabilities, not logits.
  explicit BinaryCrossentropy(CrossentropyLossOptions options = {}) : CrossentropyLoss(options) {}
  std::string name() const override { return "binary_crossentropy"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<BinaryCrossentropy>(*this); }
  LossPtr on_logits_of(const std::string& activation) const override;
  void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const override;
};

/// Keras' CategoricalCrossentropy: -Σ t log p over classes, targets one-hot (or any
/// distribution) of the output's shape [classes]. From probabilities each row of p is divided
/// by its sum first, as Keras does.
class CategoricalCrossentropy : public CrossentropyLoss {
 public:
  /// Keras' defaults: probabilities, not logits.
  explicit CategoricalCrossentropy(CrossentropyLossOptions options = {}) : CrossentropyLoss(options) {}
  std::string name() const override { return "categorical_crossentropy"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<CategoricalCrossentropy>(*this); }
  LossPtr on_logits_of(const std::string& activation) const override;
  void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const override;
};

/// Keras' SparseCategoricalCrossentropy: -log p[label], targets class indices [n] (floats
/// holding integers in [0, classes)). From probabilities each value is clipped to
/// [1e-7, 1-1e-7] and the row then divided by its clipped sum, in that order, as Keras does
/// (the reverse of CategoricalCrossentropy's order, also Keras'): a row of zeros, as relu
/// outputs give, costs log(classes), and a negative value counts as 1e-7.
class SparseCategoricalCrossentropy : public CrossentropyLoss {
 public:
  /// Keras' defaults: probabilities, not logits.
  explicit SparseCategoricalCrossentropy(CrossentropyLossOptions options = {}) : CrossentropyLoss(options) {}
  std::string name() const override { return "sparse_categorical_crossentropy"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<SparseCategoricalCrossentropy>(*this); }
  LossPtr on_logits_of(const std::string& activation) const override;
  void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const override;
  bool sparse_targets() const override { return true; }
};

/// A loss by Keras name ("mse", "mean_squared_error", "mae", "huber", "binary_crossentropy",
/// "categorical_crossentropy", "sparse_categorical_crossentropy"); throws listing them.
LossPtr loss_by_name(const std::string& name);
/// Rebuilds a loss from get_config().
LossPtr loss_from_config(const Json& config);
/// The names loss_by_name() accepts.
const std::vector<std::string>& known_losses();

/// Accepts a Keras name or a Loss object, as OptimizerRef does.
class LossRef {
 public:
  /// A loss by name (see loss_by_name()); throws listing the known names, and ad::Error for a
  /// null name, as a null LossPtr does in compile().
  /// @{
  LossRef(const char* name) : loss_(loss_by_name(name ? name : throw ad::Error("LossRef: the loss name is null"))) {}
  LossRef(const std::string& name) : loss_(loss_by_name(name)) {}
  /// @}
  /// A loss object given by value.
  template <typename L>
    requires std::derived_from<L, Loss>
  LossRef(L loss) : loss_(std::make_shared<L>(std::move(loss))) {}
  /// A loss shared with the caller.
  LossRef(LossPtr loss) : loss_(std::move(loss)) {}
  /// The loss.
  const LossPtr& get() const { return loss_; }

 private:
  LossPtr loss_;
};

}  // namespace nn
