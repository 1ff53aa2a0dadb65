/// @file
/// InputLayer: declares the per-sample shape of a model's inputs and passes them through, as
/// Keras' InputLayer. Summaries do not list it (Keras does not either).
///
/// @code
/// #include <tapegrad/nn/layers/dense.h>
/// #include <tapegrad/nn/sequential.h>
/// nn::Sequential model({nn::InputLayer({8}), nn::Dense(30, "relu"), nn::Dense(1)});
/// @endcode
#pragma once
#include "tapegrad/nn/layer.h"

namespace nn {

/// Keras' InputLayer: declares the per-sample input shape and passes inputs through.
class InputLayer : public Layer {
 public:
  /// Throws ad::Error for an empty shape.
  explicit InputLayer(Shape input_shape);
  std::string type() const override { return "InputLayer"; }
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  Var call(const Var& x) override;
  Json get_config() const override;
  /// Rebuilds from get_config(); throws ad::Error when input_shape is missing.
  static std::shared_ptr<InputLayer> from_config(const Json& config);

 protected:
  void build_weights(const Shape& /*input_shape*/, ad::Rng& /*rng*/) override {}
};

}  // namespace nn
