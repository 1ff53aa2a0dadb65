/// @file
/// Flatten: [batch, d1, d2, ...] -> [batch, d1*d2*...], a view of the same data. Given the
/// per-sample input shape, it lets a model build itself, as Keras' Flatten(input_shape=...).
///
/// @code
/// #include <tapegrad/nn/layers/dense.h>
/// #include <tapegrad/nn/sequential.h>
/// nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(10, "softmax")});
/// @endcode
#pragma once
#include "tapegrad/nn/layer.h"

namespace nn {

/// Keras' Flatten: [n, d1, d2, ...] -> [n, d1·d2·...]; no weights.
class Flatten : public Layer {
 public:
  /// With an optional per-sample input shape ({28, 28}) so that a model starting with it can
  /// build itself.
  explicit Flatten(Shape input_shape = {});
  std::string type() const override { return "Flatten"; }
  Shape output_shape(const Shape& input_shape) const override;
  Var call(const Var& x) override;
  Json get_config() const override;
  /// Rebuilds from get_config().
  static std::shared_ptr<Flatten> from_config(const Json& config);

 protected:
  void build_weights(const Shape& /*input_shape*/, ad::Rng& /*rng*/) override {}
};

}  // namespace nn
