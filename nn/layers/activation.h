/// @file
/// Activation: applies an activation by name ("relu", "softmax", ...) as a layer of its own.
///
/// @code
/// #include <tapegrad/nn/layers/dense.h>
/// #include <tapegrad/nn/sequential.h>
/// nn::Sequential model({nn::Dense(10), nn::Activation("softmax")});
/// @endcode
#pragma once
#include "tapegrad/nn/layer.h"

namespace nn {

/// Keras' Activation layer: applies a named activation element-wise; no weights.
class Activation : public Layer {
 public:
  /// Throws ad::Error listing the known activations for an unknown name.
  explicit Activation(const std::string& name);
  std::string type() const override { return "Activation"; }
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  Var call(const Var& x) override;
  std::string output_activation() const override { return activation_; }
  Var call_pre_activation(const Var& x) override;
  Json get_config() const override;
  /// Rebuilds from get_config().
  static std::shared_ptr<Activation> from_config(const Json& config);

 protected:
  void build_weights(const Shape& /*input_shape*/, ad::Rng& /*rng*/) override {}

 private:
  std::string activation_;
};

}  // namespace nn
