/// @file
/// Adam as Keras computes it, with the bias correction folded into the step size:
/// @verbatim
/// m += (1 - beta_1) (g - m);  v += (1 - beta_2) (g² - v)
/// w -= lr · sqrt(1 - beta_2^t) / (1 - beta_1^t) · m / (sqrt(v) + epsilon)
/// @endverbatim
/// Slots "m" and "v" per parameter.
///
/// @code
/// #include <tapegrad/nn/sequential.h>
/// // Given: nn::Sequential& model
/// model.compile({.loss = "mse", .optimizer = nn::Adam(1e-3, {.beta_1 = 0.9})});
/// @endcode
#pragma once
#include "tapegrad/nn/optimizer.h"

namespace nn {

/// Keras' Adam options and defaults (Kingma and Ba's betas; Keras' epsilon 1e-7).
struct AdamOptions {
  double beta_1 = 0.9;  ///< decay of the first moment m, in [0, 1)
  double beta_2 = 0.999;  ///< decay of the second moment v, in [0, 1)
  double epsilon = 1e-7;  ///< added to sqrt(v) against division by zero; positive and finite
};

/// Adam (Keras' Adam, "adam"): per-parameter steps scaled by running moments of the gradient.
class Adam : public Optimizer {
 public:
  /// Keras' default learning rate 0.001. Throws ad::Error for a negative or non-finite rate,
  /// a beta outside [0, 1) or a non-positive epsilon.
  explicit Adam(double learning_rate = 0.001, AdamOptions options = {});
  std::string type() const override { return "Adam"; }
  void build(const std::vector<Var>& params) override;
  void apply(const std::vector<Var>& params) override;
  Json get_config() const override;
  OptimizerPtr clone() const override { return clone_as<Adam>(); }
  std::vector<std::string> squared_gradient_slots() const override { return {"v"}; }
  /// The options given.
  const AdamOptions& options() const { return options_; }

 private:
  AdamOptions options_;
};

}  // namespace nn
