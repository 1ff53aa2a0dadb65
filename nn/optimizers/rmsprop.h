/// @file
/// RMSprop as Keras computes it:
/// @verbatim
/// velocity = rho · velocity + (1 - rho) g²;  step = lr · g / sqrt(velocity + epsilon)
/// w -= step   (with momentum: momentum_slot = momentum · momentum_slot + step; w -= momentum_slot)
/// @endverbatim
/// Slots "velocity", and "momentum" when momentum > 0.
///
/// @code
/// #include <tapegrad/nn/sequential.h>
/// // Given: nn::Sequential& model
/// model.compile({.loss = "mse", .optimizer = nn::RMSprop(1e-3, {.rho = 0.9})});
/// @endcode
#pragma once
#include "tapegrad/nn/optimizer.h"

namespace nn {

/// Keras' RMSprop options and defaults.
struct RMSpropOptions {
  double rho = 0.9;  ///< decay of the mean square, in [0, 1)
  double momentum = 0;  ///< in [0, 1]; above 0 adds the "momentum" slot
  double epsilon = 1e-7;  ///< added to the mean square under the root; positive and finite
};

/// RMSprop (Keras' RMSprop, "rmsprop"): steps divided by a running root mean square of the
/// gradient. The compiled step runs it as an update node of its graph.
class RMSprop : public Optimizer {
 public:
  /// Keras' default learning rate 0.001. Throws ad::Error for a negative or non-finite rate,
  /// rho outside [0, 1), momentum outside [0, 1] or a non-positive epsilon.
  explicit RMSprop(double learning_rate = 0.001, RMSpropOptions options = {});
  std::string type() const override { return "RMSprop"; }
  void build(const std::vector<Var>& params) override;
  void apply(const std::vector<Var>& params) override;
  Json get_config() const override;
  OptimizerPtr clone() const override { return clone_as<RMSprop>(); }
  std::vector<std::string> squared_gradient_slots() const override { return {"velocity"}; }
  /// The options given.
  const RMSpropOptions& options() const { return options_; }

 private:
  RMSpropOptions options_;
};

}  // namespace nn
