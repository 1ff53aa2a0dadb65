/// @file
/// SGD with optional momentum and Nesterov momentum, updating as Keras does:
/// @verbatim
/// velocity = momentum * velocity - lr * g;  w += velocity
/// (nesterov: w += momentum * velocity - lr * g)
/// @endverbatim
/// The "momentum" slot exists only when momentum > 0, as in Keras.
///
/// @code
/// nn::SGD plain(0.01);
/// nn::SGD heavy(0.01, {.momentum = 0.9, .nesterov = true});
/// @endcode
#pragma once
#include "tapegrad/nn/optimizer.h"

namespace nn {

/// Keras' SGD options and defaults.
struct SGDOptions {
  double momentum = 0;  ///< in [0, 1]; 0: plain SGD, no slot
  bool nesterov = false;  ///< Nesterov's look-ahead form of momentum
};

/// Stochastic gradient descent (Keras' SGD, "sgd").
class SGD : public Optimizer {
 public:
  /// Keras' default learning rate 0.01. Throws ad::Error for a negative or non-finite rate or
  /// a momentum outside [0, 1].
  explicit SGD(double learning_rate = 0.01, SGDOptions options = {});
  std::string type() const override { return "SGD"; }
  void build(const std::vector<Var>& params) override;
  void apply(const std::vector<Var>& params) override;
  Json get_config() const override;
  OptimizerPtr clone() const override { return clone_as<SGD>(); }
  /// The options given.
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
};

}  // namespace nn
