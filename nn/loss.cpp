#include "tapegrad/nn/loss.h"

#include <cmath>
#include <functional>
#include <map>

#include "tapegrad/nn/config_reader.h"

namespace nn {

namespace {

// The number of target values per sample a target set holds, next to the output's.
int64_t per_sample(const Tensor& y) { return y.rank() == 0 || y.dim(0) == 0 ? 0 : y.size() / y.dim(0); }

void check_same_values_per_sample(const Tensor& y, const Shape& output_shape, const char* who, const std::string& loss) {
  int64_t expected = ad::element_count(output_shape);
  TG_CHECK(y.rank() >= 1 && per_sample(y) == expected,
           "{}: {} needs targets with {} values per sample (model output {} per sample), got y of shape {}", who, loss,
           expected, ad::to_string(output_shape), ad::to_string(y.shape()));
}

void check_finite(const Tensor& y, const char* who) {
  int64_t width = per_sample(y);
  for (int64_t i = 0; i < y.size(); ++i)
    TG_CHECK(std::isfinite(y[i]), "{}: target {} in row {} of y is not finite", who, y[i], width ? i / width : 0);
}

void check_probabilities(const Tensor& y, const char* who, const std::string& loss) {
  int64_t width = per_sample(y);
  for (int64_t i = 0; i < y.size(); ++i)
    TG_CHECK(y[i] >= 0 && y[i] <= 1, "{}: {} needs targets in [0, 1], got {} in row {} of y", who, loss, y[i],
             width ? i / width : 0);
}

}  // namespace

Json Loss::get_config() const { return {{"name", name()}}; }

void Loss::check_targets(const Tensor& y, const Shape& output_shape, const char* who) const {
  check_same_values_per_sample(y, output_shape, who, name());
  check_finite(y, who);
}

Var MeanSquaredError::compute(const Var& prediction, const Tensor& target) const {
  return ad::mse_loss(prediction, ad::constant(target));
}

Var MeanAbsoluteError::compute(const Var& prediction, const Tensor& target) const {
  return ad::mae_loss(prediction, ad::constant(target));
}

Huber::Huber(HuberOptions options) : options_(options) {
  TG_CHECK(options.delta > 0 && std::isfinite(options.delta), "Huber: delta must be positive, got {}", options.delta);
}

Var Huber::compute(const Var& prediction, const Tensor& target) const {
  return ad::huber_loss(prediction, ad::constant(target), static_cast<float>(options_.delta));
}

Json Huber::get_config() const { return {{"name", name()}, {"delta", options_.delta}}; }

Json CrossentropyLoss::get_config() const { return {{"name", name()}, {"from_logits", options_.from_logits}}; }

Var BinaryCrossentropy::compute(const Var& prediction, const Tensor& target) const {
  return ad::binary_crossentropy(prediction, ad::constant(target), {.from_logits = options_.from_logits});
}

LossPtr BinaryCrossentropy::on_logits_of(const std::string& activation) const {
  if (activation != "sigmoid") return nullptr;
  return std::make_shared<BinaryCrossentropy>(CrossentropyLossOptions{.from_logits = true});
}

void BinaryCrossentropy::check_targets(const Tensor& y, const Shape& output_shape, const char* who) const {
  Loss::check_targets(y, output_shape, who);
  check_probabilities(y, who, name());
}

Var CategoricalCrossentropy::compute(const Var& prediction, const Tensor& target) const {
  // [n] or [n,1]-style targets of a one-column output keep the op's equal-shape rule simple.
  // (Other sizes go to the op as they are, whose shape rule names both shapes.)
  bool same_size = target.size() == prediction.value().size();
  Tensor t = target.shape() == prediction.shape() || !same_size ? target : target.reshape(prediction.shape());
  return ad::categorical_crossentropy(prediction, ad::constant(t), {.from_logits = options_.from_logits});
}

LossPtr CategoricalCrossentropy::on_logits_of(const std::string& activation) const {
  if (activation != "softmax") return nullptr;
  return std::make_shared<CategoricalCrossentropy>(CrossentropyLossOptions{.from_logits = true});
}

void CategoricalCrossentropy::check_targets(const Tensor& y, const Shape& output_shape, const char* who) const {
  TG_CHECK(output_shape.size() == 1,
           "{}: categorical_crossentropy needs model outputs of shape [classes] per sample, got {}", who,
           ad::to_string(output_shape));
  TG_CHECK(y.rank() == 2 && y.dim(1) == output_shape[0],
           "{}: categorical_crossentropy needs one-hot targets [samples, {}], got y of shape {} (class indices "
           "need sparse_categorical_crossentropy)",
           who, output_shape[0], ad::to_string(y.shape()));
  check_finite(y, who);
  check_probabilities(y, who, name());
}

Var SparseCategoricalCrossentropy::compute(const Var& prediction, const Tensor& target) const {
  return ad::sparse_categorical_crossentropy(prediction, target, {.from_logits = options_.from_logits});
}

LossPtr SparseCategoricalCrossentropy::on_logits_of(const std::string& activation) const {
  if (activation != "softmax") return nullptr;
  return std::make_shared<SparseCategoricalCrossentropy>(CrossentropyLossOptions{.from_logits = true});
}

void SparseCategoricalCrossentropy::check_targets(const Tensor& y, const Shape& output_shape, const char* who) const {
  TG_CHECK(output_shape.size() == 1,
           "{}: sparse_categorical_crossentropy needs model outputs of shape [classes] per sample, got {}", who,
           ad::to_string(output_shape));
  TG_CHECK(y.rank() == 1 || (y.rank() == 2 && y.dim(1) == 1),
           "{}: sparse_categorical_crossentropy needs class indices [samples] or [samples, 1], got y of shape {} "
           "(one-hot targets need categorical_crossentropy)",
           who, ad::to_string(y.shape()));
  int64_t classes = output_shape[0];
  for (int64_t i = 0; i < y.size(); ++i) {
    float label = y[i];
    TG_CHECK(label >= 0 && label < static_cast<float>(classes) && label == std::floor(label),
             "{}: label {} in row {} of y is not a class index in [0, {})", who, label, i, classes);
  }
}

namespace {

struct NamedLoss {
  const char* name;
  std::function<LossPtr()> make;
};

const std::vector<NamedLoss>& loss_table() {
  static const std::vector<NamedLoss> table = {
      {"mean_squared_error", [] { return std::make_shared<MeanSquaredError>(); }},
      {"mse", [] { return std::make_shared<MeanSquaredError>(); }},
      {"mean_absolute_error", [] { return std::make_shared<MeanAbsoluteError>(); }},
      {"mae", [] { return std::make_shared<MeanAbsoluteError>(); }},
      {"huber", [] { return std::make_shared<Huber>(); }},
      {"binary_crossentropy", [] { return std::make_shared<BinaryCrossentropy>(); }},
      {"categorical_crossentropy", [] { return std::make_shared<CategoricalCrossentropy>(); }},
      {"sparse_categorical_crossentropy", [] { return std::make_shared<SparseCategoricalCrossentropy>(); }},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& known_losses() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const NamedLoss& l : loss_table()) out.emplace_back(l.name);
    return out;
  }();
  return names;
}

LossPtr loss_by_name(const std::string& name) {
  for (const NamedLoss& l : loss_table())
    if (name == l.name) return l.make();
  ad::fail("loss: unknown loss '{}'; known: {}", name, fmt::join(known_losses(), ", "));
}

LossPtr loss_from_config(const Json& config) {
  ConfigReader read(config, "loss");
  std::string name = read.text("name");
  LossPtr base = loss_by_name(name);
  if (base->name() == "huber") return std::make_shared<Huber>(HuberOptions{.delta = read.number("delta", 1.0)});
  CrossentropyLossOptions options{.from_logits = read.boolean("from_logits", false)};
  if (base->name() == "binary_crossentropy") return std::make_shared<BinaryCrossentropy>(options);
  if (base->name() == "categorical_crossentropy") return std::make_shared<CategoricalCrossentropy>(options);
  if (base->name() == "sparse_categorical_crossentropy") return std::make_shared<SparseCategoricalCrossentropy>(options);
  return base;
}

}  // namespace nn
