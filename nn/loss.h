// Losses by Keras name or as objects: each takes the model's outputs and the targets and gives
// the mean over samples as a scalar Var, built on the loss ops of autodiff/ops.h.
//
//   model.compile({.loss = "sparse_categorical_crossentropy"});
//   model.compile({.loss = nn::Huber({.delta = 2})});
//   model.compile({.loss = nn::BinaryCrossentropy({.from_logits = true})});
//
// A model whose last activation is softmax (sigmoid) trained with a cross-entropy on
// probabilities computes the loss from the logits instead (on_logits_of): the same numbers,
// and a gradient that stays finite when a probability rounds to 0 or 1.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layer.h"

namespace nn {

class Loss {
 public:
  virtual ~Loss() = default;
  // The Keras name: "mean_squared_error", "sparse_categorical_crossentropy", ...
  virtual std::string name() const = 0;
  // Mean loss over the samples of a batch; `target` is data (no gradient).
  virtual Var compute(const Var& prediction, const Tensor& target) const = 0;
  // {"name": ..., and options such as "from_logits" or "delta"}.
  virtual Json get_config() const;
  virtual std::shared_ptr<Loss> clone() const = 0;
  // The same loss on the values before `activation`, when taking those is the stable way to
  // compute it (softmax or sigmoid before a cross-entropy on probabilities); else nullptr.
  virtual std::shared_ptr<Loss> on_logits_of(const std::string& /*activation*/) const { return nullptr; }
  // Checks a whole target set against the model's per-sample output shape before training,
  // naming `who` (e.g. "fit") and the first bad row.
  virtual void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const;
  // Whether targets are class indices rather than values of the output's shape.
  virtual bool sparse_targets() const { return false; }
};

using LossPtr = std::shared_ptr<Loss>;

struct CrossentropyLossOptions {
  bool from_logits = false;
};

class MeanSquaredError : public Loss {
 public:
  std::string name() const override { return "mean_squared_error"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<MeanSquaredError>(*this); }
};

class MeanAbsoluteError : public Loss {
 public:
  std::string name() const override { return "mean_absolute_error"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<MeanAbsoluteError>(*this); }
};

struct HuberOptions {
  double delta = 1.0;
};

class Huber : public Loss {
 public:
  explicit Huber(HuberOptions options = {});
  std::string name() const override { return "huber"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  Json get_config() const override;
  LossPtr clone() const override { return std::make_shared<Huber>(*this); }
  double delta() const { return options_.delta; }

 private:
  HuberOptions options_;
};

// Shared by the three cross-entropies: the from_logits option and its config.
class CrossentropyLoss : public Loss {
 public:
  explicit CrossentropyLoss(CrossentropyLossOptions options) : options_(options) {}
  bool from_logits() const { return options_.from_logits; }
  Json get_config() const override;

 protected:
  CrossentropyLossOptions options_;
};

class BinaryCrossentropy : public CrossentropyLoss {
 public:
  explicit BinaryCrossentropy(CrossentropyLossOptions options = {}) : CrossentropyLoss(options) {}
  std::string name() const override { return "binary_crossentropy"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<BinaryCrossentropy>(*this); }
  LossPtr on_logits_of(const std::string& activation) const override;
  void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const override;
};

class CategoricalCrossentropy : public CrossentropyLoss {
 public:
  explicit CategoricalCrossentropy(CrossentropyLossOptions options = {}) : CrossentropyLoss(options) {}
  std::string name() const override { return "categorical_crossentropy"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<CategoricalCrossentropy>(*this); }
  LossPtr on_logits_of(const std::string& activation) const override;
  void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const override;
};

class SparseCategoricalCrossentropy : public CrossentropyLoss {
 public:
  explicit SparseCategoricalCrossentropy(CrossentropyLossOptions options = {}) : CrossentropyLoss(options) {}
  std::string name() const override { return "sparse_categorical_crossentropy"; }
  Var compute(const Var& prediction, const Tensor& target) const override;
  LossPtr clone() const override { return std::make_shared<SparseCategoricalCrossentropy>(*this); }
  LossPtr on_logits_of(const std::string& activation) const override;
  void check_targets(const Tensor& y, const Shape& output_shape, const char* who) const override;
  bool sparse_targets() const override { return true; }
};

// A loss by Keras name ("mse", "mean_squared_error", "mae", "huber", "binary_crossentropy",
// "categorical_crossentropy", "sparse_categorical_crossentropy"); throws listing them.
LossPtr loss_by_name(const std::string& name);
// Rebuilds a loss from get_config().
LossPtr loss_from_config(const Json& config);
const std::vector<std::string>& known_losses();

// Accepts a Keras name or a Loss object, as OptimizerRef does.
class LossRef {
 public:
  // A null name throws ad::Error, as a null LossPtr does in compile().
  LossRef(const char* name) : loss_(loss_by_name(name ? name : throw ad::Error("LossRef: the loss name is null"))) {}
  LossRef(const std::string& name) : loss_(loss_by_name(name)) {}
  template <typename L>
    requires std::derived_from<L, Loss>
  LossRef(L loss) : loss_(std::make_shared<L>(std::move(loss))) {}
  LossRef(LossPtr loss) : loss_(std::move(loss)) {}
  const LossPtr& get() const { return loss_; }

 private:
  LossPtr loss_;
};

}  // namespace nn
