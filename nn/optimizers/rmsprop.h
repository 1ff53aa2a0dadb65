/// @file
/// RMSprop as Keras computes it:
/// @verbatim
/// velocity = rho · velocity + (1 - rho) g²;  step = lr · g / sqrt(velocity + epsilon)
/// w -= step   (with momentum: momentum_slot = momentum · momentum_slot + step; w -= momentum_slot)
/// @endverbatim
/// Slots "velocity", and "momentum" when momentum > 0.
///
/// @code
/// model.compile({.loss = "mse", .optimizer = nn::RMSprop(1e-3, {.rho = 0.9})});
/// @endcode
#pragma once
#include "tapegrad/nn/optimizer.h"

namespace nn {

struct RMSpropOptions {
  double rho = 0.9;
  double momentum = 0;
  double epsilon = 1e-7;
};

class RMSprop : public Optimizer {
 public:
  explicit RMSprop(double learning_rate = 0.001, RMSpropOptions options = {});
  std::string type() const override { return "RMSprop"; }
  void build(const std::vector<Var>& params) override;
  void apply(const std::vector<Var>& params) override;
  Json get_config() const override;
  OptimizerPtr clone() const override { return clone_as<RMSprop>(); }
  const RMSpropOptions& options() const { return options_; }

 private:
  RMSpropOptions options_;
};

}  // namespace nn
