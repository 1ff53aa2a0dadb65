/// @file
/// Layer: the unit models are made of. A layer creates its weights in build() when the first
/// input shows their shape (as Keras does), computes in call(), and describes itself as plain
/// JSON in get_config(), from which layer_from_config() rebuilds it without running user code.
///
/// @code
/// #include <tapegrad/nn/layers/dense.h>
/// // Given: const ad::Var& x
/// nn::Dense dense(300, "relu");
/// ad::Var y = dense(x);               // builds W [784,300] and b [300] on first call
/// dense.get_config();                 // {"type":"Dense","name":"dense","units":300,...}
/// @endcode
#pragma once
#include <nlohmann/json.hpp>

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/ops.h"

namespace nn {

using ad::Shape;
using ad::Tensor;
using ad::Var;
/// Layers' and models' configurations are nlohmann::json values.
using Json = nlohmann::json;

/// The base of every layer (see the file's description). Layers are used through LayerPtr:
/// copies of a model share them.
class Layer {
 public:
  virtual ~Layer() = default;

  /// "Dense", "Flatten", ...: the key of layer_from_config().
  virtual std::string type() const = 0;
  /// The layer's name, unique in its model ("dense", "dense_1", ...); empty until named.
  const std::string& name() const { return name_; }
  /// Renames the layer (Sequential::add() names unnamed ones); throws ad::Error when the name is
  /// not valid UTF-8 (it goes into saved JSON).
  void set_name(std::string name);

  /// Creates the weights for inputs whose per-sample shape (no batch axis) is `input_shape`.
  /// Called once; later calls check the shape matches and throw naming the layer otherwise.
  void build(const Shape& input_shape, ad::Rng& rng);
  /// Whether build() has created the weights.
  bool built() const { return built_; }
  /// Draws new weights for the built shape from `rng`, as build() drew the first ones (new Var
  /// objects: handles taken before do not see them). A model whose weights nothing has used yet
  /// redraws them when a later build() or fit() names another seed.
  void redraw_weights(ad::Rng& rng);
  /// The per-sample input shape it was built for (empty before build()).
  const Shape& input_shape() const { return input_shape_; }
  /// Per-sample output shape for a per-sample input shape.
  virtual Shape output_shape(const Shape& input_shape) const = 0;

  /// The per-sample input shape given at construction (Flatten({28, 28}), InputLayer({8}),
  /// Dense(.., {.input_shape = {8}})): a model whose first layer has one can build itself.
  const std::optional<Shape>& declared_input_shape() const { return declared_input_shape_; }

  /// The forward computation on a batch [n, ...]; builds with a default seed if not built and
  /// throws naming the layer when the per-sample shape differs from the built one.
  virtual Var call(const Var& x) = 0;
  /// call(x): layers are applied like functions, as in Keras.
  Var operator()(const Var& x);

  /// The activation applied last ("linear" when none), and the computation without it. A model
  /// whose last activation is softmax (sigmoid) hands the pre-activation values, the logits, to
  /// a cross-entropy loss so the loss is computed in the stable log-sum-exp form.
  virtual std::string output_activation() const { return "linear"; }
  /// call() without the output activation: the logits for a cross-entropy on logits.
  virtual Var call_pre_activation(const Var& x) { return call(x); }

  /// Trainable parameters, in a fixed order (Dense: kernel, bias), with their names.
  virtual std::vector<Var> weights() { return {}; }
  /// The names of weights(), in the same order ("kernel", "bias").
  virtual std::vector<std::string> weight_names() const { return {}; }
  /// Total element count of weights() (0 before build()); throws when it overflows int64.
  int64_t parameter_count();
  /// The shapes of the weights, in weight_names() order, that the layer has (or would have once
  /// built) for per-sample inputs of `input_shape`: a model's summary and load_model use them
  /// before any weight exists, so a config is checked against a file without allocating.
  virtual std::vector<Shape> weight_shapes_for(const Shape& /*input_shape*/) const { return {}; }
  /// Their total element count; throws ad::Error naming the layer when it overflows int64.
  int64_t parameter_count_for(const Shape& input_shape) const;

  /// The layer as plain JSON: {"type": type(), "name": ..., its constructor arguments}, enough
  /// for layer_from_config() to rebuild it (weights are saved separately).
  virtual Json get_config() const = 0;

 protected:
  /// Creates the weights for `input_shape`, drawing initial values from `rng`; build() calls it once.
  virtual void build_weights(const Shape& input_shape, ad::Rng& rng) = 0;
  /// Builds from x's per-sample shape (seed 0) on first use, else checks that shape.
  void ensure_built(const Var& x);
  /// Records the input shape a constructor was given (see declared_input_shape()).
  void declare_input_shape(std::optional<Shape> shape);
  /// "Dense 'dense_1'": how error messages name a layer.
  std::string describe() const;

 private:
  std::optional<Shape> declared_input_shape_;
  std::string name_;
  Shape input_shape_;
  bool built_ = false;
};

/// Layers are shared between copies of a model.
using LayerPtr = std::shared_ptr<Layer>;

/// Holds any layer given by value, so that models read like Keras:
///   nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(10, "softmax")});
class LayerRef {
 public:
  /// Takes a layer by value (nn::Dense(10), ...), moved into a new LayerPtr.
  template <typename L>
    requires std::derived_from<L, Layer>
  LayerRef(L layer) : layer_(std::make_shared<L>(std::move(layer))) {}
  /// Takes an existing layer, shared.
  LayerRef(LayerPtr layer) : layer_(std::move(layer)) {}
  /// The layer.
  const LayerPtr& get() const { return layer_; }

 private:
  LayerPtr layer_;
};

/// Rebuilds a layer from get_config(); throws listing the known types for an unknown one.
/// Defined in nn/layers/registry.cpp.
LayerPtr layer_from_config(const Json& config);

/// The per-sample shape of a batch: x's shape without its first axis.
Shape sample_shape(const Shape& batch_shape);

}  // namespace nn
