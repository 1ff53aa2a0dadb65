/// @file
/// Adam as Keras computes it, with the bias correction folded into the step size:
/// @verbatim
/// m += (1 - beta_1) (g - m);  v += (1 - beta_2) (g² - v)
/// w -= lr · sqrt(1 - beta_2^t) / (1 - beta_1^t) · m / (sqrt(v) + epsilon)
/// @endverbatim
/// Slots "m" and "v" per parameter.
///
/// @code
/// model.compile({.loss = "mse", .optimizer = nn::Adam(1e-3, {.beta_1 = 0.9})});
/// @endcode
#pragma once
#include "tapegrad/nn/optimizer.h"

namespace nn {

struct AdamOptions {
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};

class Adam : public Optimizer {
 public:
  explicit Adam(double learning_rate = 0.001, AdamOptions options = {});
  std::string type() const override { return "Adam"; }
  void build(const std::vector<Var>& params) override;
  void apply(const std::vector<Var>& params) override;
  Json get_config() const override;
  OptimizerPtr clone() const override { return clone_as<Adam>(); }
  const AdamOptions& options() const { return options_; }

 private:
  AdamOptions options_;
};

}  // namespace nn
