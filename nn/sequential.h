/// @file
/// Sequential: a stack of layers, the first kind of nn::Model (nn/model.h holds the training
/// loop: compile/fit/evaluate/predict, weights, save), as in Keras.
///
/// @code
/// #include <tapegrad/nn/layers/all.h>
/// #include <tapegrad/nn/optimizers/sgd.h>
/// // Given: const ad::Tensor& x_train, const ad::Tensor& y_train, const ad::Tensor& x_valid, const ad::Tensor& y_valid, const ad::Tensor& x_test, const ad::Tensor& y_test
/// nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(300, "relu"), nn::Dense(100, "relu"),
///                       nn::Dense(10, "softmax")});
/// model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.01),
///                .metrics = {"accuracy"}});
/// nn::History history = model.fit(x_train, y_train, {.epochs = 30, .validation_data = {x_valid, y_valid}});
/// nn::Logs test = model.evaluate(x_test, y_test);
/// ad::Tensor proba = model.predict(x_test.rows(0, 3));
/// model.save("fashion.model");
/// nn::Sequential again = nn::load_model("fashion.model");
/// @endcode
///
/// Copies of a Sequential share its layers, weights and compile settings (as Tensor handles
/// share storage); rebuild from get_config() for an independent model.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/nn/model.h"

namespace nn {

/// Keras' Sequential model: layers applied in order, trained with the nn::Model loop and saved
/// with save()/load_model(). See the file's description.
class Sequential : public Model {
 public:
  /// An empty model; add() layers to it.
  Sequential() : Sequential(std::vector<LayerRef>{}) {}
  /// A model of these layers, in order (named after their types when unnamed). Throws
  /// ad::Error for a layer given twice, a repeated name, or a name that is not valid UTF-8.
  explicit Sequential(std::vector<LayerRef> layers, std::string name = "sequential");

  /// Rebuilds a model from get_config(): the layers, built when the config has an input shape
  /// (weights from seed 0: set_weights() restores saved ones), and compiled when it has compile
  /// settings (optimizer slots are restored separately, through optimizer()->slot()).
  static Sequential from_config(const Json& config);

  std::string type() const override { return "Sequential"; }

  /// Appends a layer, naming it after its type (dense, dense_1, ...) when it has no name. An
  /// InputLayer may only come first. As in Keras, a model whose input shape is known (an
  /// InputLayer, or a first layer given an input_shape such as Flatten({28, 28})) builds
  /// itself here, drawing its weights from seed 0; see build() for choosing another seed.
  void add(LayerRef layer);
  /// The layers in order without the InputLayer (Model::layers(), as Keras' model.layers): the
  /// book's model.layers[1] (the first Dense after Flatten) is layers()[1]. get_config() and
  /// saved models keep the InputLayer.
  using Model::layers;
  /// The InputLayer the model starts with, or null.
  const LayerPtr& input_layer() const& { return input_layer_; }
  /// On a temporary model, a copy of the pointer (a reference would outlive the model).
  LayerPtr input_layer() const&& { return input_layer_; }
  /// A layer by position (layers()[index]) or by name (any layer, the InputLayer included).
  /// Throws ad::Error for an index out of range or a name no layer has, listing the names.
  /// @{
  Layer& layer(size_t index) &;
  Layer& layer(const std::string& name) &;
  /// @}
  /// On a temporary model, the layer's shared pointer: a reference would outlive the model.
  /// @{
  LayerPtr layer(size_t index) &&;
  LayerPtr layer(const std::string& name) &&;
  /// @}

  /// Per-sample shapes of the first layer's inputs and the last layer's outputs.
  /// @{
  Shape input_shape() const override;
  Shape output_shape() const override;
  /// @}
  /// Keras' table: layer (name and type), output shape, parameter count, then the totals.
  std::string summary() const;

  /// {"name", "layers" (the InputLayer included), "input_shape" once built, "compile" once
  /// compiled}, from which from_config() rebuilds the model.
  Json get_config() const override;

 protected:
  Var call(const Var& x, bool training) override;
  Var call_logits(const Var& x, bool training) override;
  /// The last layer's activation.
  std::string output_activation() const override;
  /// The InputLayer's shape, or the first layer's declared input_shape.
  std::optional<Shape> known_input_shape() const override;
  void build_layers(const Shape& input_shape, ad::Rng& rng, bool redraw) override;

 private:
  /// The layers applied to x in order; the last one without its activation when `logits`.
  Var run(const Var& x, bool logits);
  /// What layer() returns a reference or a copy of; marks the weights reached.
  /// @{
  const LayerPtr& layer_pointer(size_t index);
  const LayerPtr& layer_pointer(const std::string& name);
  /// @}

  LayerPtr input_layer_;            ///< kept apart from layers_, as Keras' model.layers leaves it out
};

/// Reads a model written by Model::save() of a Sequential: architecture, weights, compile
/// settings and optimizer state, so that it predicts exactly as the saved model and can resume
/// training. Throws ad::Error naming the file for a missing, damaged or foreign file.
Sequential load_model(const std::string& path);

}  // namespace nn
