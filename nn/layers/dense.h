/// @file
/// Dense: y = activation(x · kernel + bias), Keras' fully connected layer. The kernel [in, units]
/// and bias [units] are created on the first input, from the named initializers.
///
/// @code
/// // Given: const ad::Var& x
/// nn::Dense hidden(300, "relu");
/// nn::Dense out(10, {.activation = "softmax", .kernel_initializer = "he_normal"});
/// ad::Var y = hidden(x);    // x: [batch, 784] -> y: [batch, 300]
/// @endcode
#pragma once
#include "tapegrad/nn/layer.h"

namespace nn {

/// Keras' Dense arguments and defaults.
struct DenseOptions {
  std::string activation = "linear";  ///< any name of nn/activations.h; "linear" is none
  bool use_bias = true;  ///< add the bias vector
  std::string kernel_initializer = "glorot_uniform";  ///< Keras' default, see nn/initializers.h
  std::string bias_initializer = "zeros";  ///< Keras' default
  Shape input_shape = {};  ///< per sample; lets a model whose first layer this is build itself
};

/// Keras' Dense: activation(x · kernel + bias) with kernel [features, units] and bias [units],
/// inputs [n, features] (add a Flatten before it for images).
class Dense : public Layer {
 public:
  /// A linear layer of `units` outputs. Throws ad::Error unless units > 0.
  explicit Dense(int64_t units) : Dense(units, DenseOptions{}) {}
  /// A template so that a braced options list never reads as a string (which would make
  /// Dense(1, {.input_shape = {4}}) ambiguous).
  template <typename Name>
    requires std::convertible_to<Name, std::string>
  Dense(int64_t units, Name activation, std::string kernel_initializer = "glorot_uniform",
        std::string bias_initializer = "zeros")
      : Dense(units, DenseOptions{.activation = std::string(activation),
                                  .kernel_initializer = std::move(kernel_initializer),
                                  .bias_initializer = std::move(bias_initializer)}) {}
  /// With every option. Throws ad::Error unless units > 0, or naming an unknown activation or
  /// initializer.
  Dense(int64_t units, DenseOptions options);

  std::string type() const override { return "Dense"; }
  Shape output_shape(const Shape& input_shape) const override;
  Var call(const Var& x) override;
  std::string output_activation() const override { return options_.activation; }
  Var call_pre_activation(const Var& x) override;
  std::vector<Var> weights() override;
  std::vector<std::string> weight_names() const override;
  std::vector<Shape> weight_shapes_for(const Shape& input_shape) const override;
  Json get_config() const override;
  /// Rebuilds from get_config(); throws ad::Error naming a missing or mistyped field.
  static std::shared_ptr<Dense> from_config(const Json& config);

  /// Number of outputs.
  int64_t units() const { return units_; }
  /// Whether it adds a bias.
  bool use_bias() const { return options_.use_bias; }
  /// The kernel [features, units]; valid once built.
  Var& kernel() { return kernel_; }
  /// The bias [units], once built (undefined without use_bias).
  Var& bias() { return bias_; }

 protected:
  void build_weights(const Shape& input_shape, ad::Rng& rng) override;

 private:
  int64_t units_;
  DenseOptions options_;
  Var kernel_, bias_;
};

}  // namespace nn
