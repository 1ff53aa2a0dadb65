/// @file
/// Sequential: a stack of layers trained with compile/fit/evaluate/predict, as in Keras.
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
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/nn/callback.h"
#include "tapegrad/nn/layer.h"
#include "tapegrad/nn/loss.h"
#include "tapegrad/nn/optimizer.h"

namespace nn {

class StepRunner;
class ProgressBar;

/// Keras' compile() arguments: `model.compile({.loss = "mse", .optimizer = nn::SGD(0.01)})`.
struct CompileOptions {
  LossRef loss = "mse";               ///< a Keras name or a Loss object
  OptimizerRef optimizer = "sgd";     ///< a Keras name or an Optimizer object
  std::vector<std::string> metrics{}; ///< "accuracy", "mae", "mse"
};

/// Held-out features and targets evaluated after each epoch (Keras' validation_data).
struct ValidationData {
  /// Features and targets, shaped as fit()'s x and y.
  /// @{
  Tensor x, y;
  /// @}
};

/// FitOptions::validation_data: none by default, or a pair, written {x_valid, y_valid} or
/// nn::ValidationData{x_valid, y_valid} (a std::optional would not take the bare pair).
class OptionalValidationData {
 public:
  /// No validation data.
  OptionalValidationData() = default;
  /// The given pair.
  OptionalValidationData(ValidationData data) : data_(std::move(data)) {}
  /// The pair written as {x_valid, y_valid}.
  OptionalValidationData(Tensor x, Tensor y) : data_(ValidationData{std::move(x), std::move(y)}) {}
  /// Whether there is validation data.
  bool has_value() const { return data_.has_value(); }
  /// has_value().
  explicit operator bool() const { return has_value(); }
  /// The pair; only when has_value().
  const ValidationData& operator*() const { return *data_; }
  /// The pair's members; only when has_value().
  const ValidationData* operator->() const { return &*data_; }

 private:
  std::optional<ValidationData> data_;
};

/// Keras' fit() arguments and defaults: `model.fit(x, y, {.epochs = 30, .batch_size = 32})`.
struct FitOptions {
  int epochs = 1;  ///< passes over the data (Keras' default 1); 0 trains nothing
  int batch_size = 32;  ///< samples per gradient step (Keras' default 32); the last batch may be smaller
  OptionalValidationData validation_data{};  ///< evaluated after each epoch as val_loss, val_<metric>
  double validation_split = 0;  ///< the last fraction of x/y, as in Keras (ignored with validation_data)
  bool shuffle = true;  ///< reshuffle the training samples before each epoch (Keras' default)
  uint64_t seed = 0;            ///< shuffling (and initial weights, when fit builds the model)
  std::vector<CallbackPtr> callbacks{};  ///< called as training proceeds, in order
  int verbose = 1;              ///< 0: silent; 1: progress bar (one line per epoch when not a terminal); 2: one line
  bool eager = false;           ///< run op by op instead of the compiled graph
  std::ostream* output = nullptr;  ///< where the progress goes; nullptr: standard output
  std::optional<bool> terminal{};  ///< redraw in place (true) or one line per epoch (false); unset: ask isatty
};

/// Keras' evaluate() arguments and defaults.
struct EvaluateOptions {
  int batch_size = 32;  ///< samples per forward pass; does not change the result beyond float rounding
  int verbose = 0;  ///< 0: silent; 1: a progress bar
  std::ostream* output = nullptr;  ///< where the progress goes; nullptr: standard output
  std::optional<bool> terminal{};  ///< redraw in place (true) or not; unset: ask isatty
};

/// Per-epoch figures of a fit, by Keras names ("loss", "accuracy", "val_loss", ...).
struct History {
  std::map<std::string, std::vector<double>> history;  ///< each figure's value per epoch, as Keras' History.history
  std::vector<int> epochs;  ///< the epochs recorded, counted from 0
  /// Throws listing the recorded keys when `key` is not one.
  const std::vector<double>& operator[](const std::string& key) const&;
  /// On a temporary (model.fit(...)["loss"]), a copy: a reference would outlive the History.
  std::vector<double> operator[](const std::string& key) const&& { return (*this)[key]; }
  /// Records one epoch's logs (nn/history.cpp).
  void append(int epoch, const Logs& logs);
};

/// Keras' Sequential model: layers applied in order, trained with compile/fit/evaluate/predict
/// and saved with save()/load_model(). See the file's description.
class Sequential {
 public:
  /// An empty model; add() layers to it.
  Sequential() = default;
  /// A model of these layers, in order (named after their types when unnamed). Throws
  /// ad::Error for a layer given twice or a repeated name.
  explicit Sequential(std::vector<LayerRef> layers, std::string name = "sequential");

  /// Rebuilds a model from get_config(): the layers, built when the config has an input shape
  /// (weights from seed 0: set_weights() restores saved ones), and compiled when it has compile
  /// settings (optimizer slots are restored separately, through optimizer()->slots()).
  static Sequential from_config(const Json& config);

  /// Appends a layer, naming it after its type (dense, dense_1, ...) when it has no name. An
  /// InputLayer may only come first. As in Keras, a model whose input shape is known (an
  /// InputLayer, or a first layer given an input_shape such as Flatten({28, 28})) builds
  /// itself here, drawing its weights from seed 0; see build() for choosing another seed.
  void add(LayerRef layer);
  /// The layers in order without the InputLayer, as Keras' model.layers: the book's
  /// model.layers[1] (the first Dense after Flatten) is layers()[1]. get_config() and saved
  /// models keep the InputLayer.
  const std::vector<LayerPtr>& layers() const&;
  /// On a temporary model, a copy (a reference would outlive the model).
  std::vector<LayerPtr> layers() const&& { return layers(); }
  /// The InputLayer the model starts with, or null.
  const LayerPtr& input_layer() const { return input_layer_; }
  Layer& layer(size_t index);              ///< layers()[index]
  Layer& layer(const std::string& name);   ///< any layer, the InputLayer included

  /// Builds every layer for per-sample input shape `input_shape` with weights drawn from `seed`.
  /// A model that built itself (on add or compile) and whose weights nothing has reached yet
  /// (fit, evaluate, predict, a forward pass, set_weights, trainable_weights, layers(), layer())
  /// redraws them from `seed`; so does fit() with its FitOptions::seed. Throws when the model is
  /// built for another input shape.
  void build(const Shape& input_shape, uint64_t seed = 0);
  /// Whether every layer has its weights.
  bool built() const;
  /// Per-sample shapes of the built model's inputs and outputs (no batch axis); each throws
  /// ad::Error naming the call when the model is not built.
  /// @{
  Shape input_shape() const;
  Shape output_shape() const;
  /// @}
  /// Keras' table: layer (name and type), output shape, parameter count, then the totals.
  std::string summary() const;
  /// Every weight's element count; throws when not built (Keras' count_params does too).
  int64_t parameter_count() const;

  /// Sets the loss, optimizer and metrics for fit() and evaluate(); the optimizer's slots are
  /// made for the model's weights once it is built. Throws ad::Error naming an unknown metric.
  /// Also builds the model when its input shape is known (see add()).
  void compile(CompileOptions options);
  /// Whether compile() was called.
  bool compiled() const;
  /// The compile settings; each throws ad::Error when the model is not compiled.
  /// @{
  const LossPtr& loss() const&;
  const OptimizerPtr& optimizer() const&;
  const std::vector<std::string>& metrics() const&;
  /// @}
  /// On a temporary model (nn::load_model(path).optimizer()), copies that outlive it.
  /// @{
  LossPtr loss() const&& { return loss(); }
  OptimizerPtr optimizer() const&& { return optimizer(); }
  std::vector<std::string> metrics() const&& { return metrics(); }
  /// @}

  /// How a training step computes its loss: when the last activation is softmax (sigmoid) and
  /// the loss a cross-entropy on probabilities, on_logits is true and `loss` is its from_logits
  /// form, to be applied to forward(x, /*logits=*/true); `activation` turns those logits into
  /// the model's outputs.
  struct TrainingLoss {
    LossPtr loss;  ///< the loss to apply: the compiled one or its from_logits form
    bool on_logits = false;  ///< whether `loss` takes the logits
    std::string activation = "linear";  ///< what turns logits into outputs when on_logits
  };
  /// See TrainingLoss; throws ad::Error when not compiled.
  TrainingLoss training_loss() const;
  /// The forward pass, on the active tape; with logits = true the last layer's activation is
  /// left out. Builds the model (seed 0) from x when it is not built.
  Var forward(const Var& x, bool logits = false);
  /// Trains on features x [n, ...] and targets y [n, ...] (class indices [n] for a sparse
  /// loss), building the model first when needed; returns each epoch's figures. Runs a compiled
  /// graph per batch shape where it can, the eager tape otherwise (FitOptions::eager). Throws
  /// ad::Error when not compiled, for mismatched sample counts or shapes, bad targets, bad options
  /// and a loss that becomes NaN or infinite (the weights are kept from before that batch).
  History fit(const Tensor& x, const Tensor& y, FitOptions options = {});
  /// The loss and metrics on x and y, averaged over all samples ({"loss": ..., "accuracy": ...}).
  /// Throws ad::Error as fit() does for bad data.
  Logs evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options = {});
  /// The outputs for x [n, ...]: [n, output_shape()...], computed in batches of `batch_size`.
  /// Throws ad::Error when the model is not built and x cannot build it, or for a shape mismatch.
  Tensor predict(const Tensor& x, int batch_size = 32);
  /// The forward pass on a Var (records on the active tape): for custom training loops.
  Var operator()(const Var& x);

  /// Copies of every weight, in layer order (Dense: kernel, bias); throws ad::Error naming the
  /// call when the model is not built.
  std::vector<Tensor> get_weights();
  /// Copies `weights` (in get_weights() order) into the model; throws ad::Error naming the
  /// first count or shape that differs, or the call when the model is not built.
  void set_weights(const std::vector<Tensor>& weights);
  /// The weights themselves as Vars (the model's own handles, for custom training loops), in
  /// layer order; throws when the model is not built.
  std::vector<Var> trainable_weights();

  /// Set by callbacks (EarlyStopping, TerminateOnNaN) to end fit() after the current epoch/batch.
  bool stop_training = false;

  /// The architecture and compile settings as JSON ({"name", "layers", "compile"}), from which
  /// from_config() rebuilds the model.
  Json get_config() const;
  /// Writes weights, optimizer state and get_config() to one safetensors file at `path`,
  /// atomically (nn/serialization.h describes the layout). Throws ad::Error naming the path
  /// when it cannot be written or the model is not built.
  void save(const std::string& path) const;

 private:
  void check_built(const char* who) const;
  /// Builds, when not built yet, for the declared input shape or else x's; redraws an untouched
  /// model's weights from `seed`. Then the weights count as reached.
  void build_for(const Shape& x_shape, uint64_t seed);
  /// The per-sample input shape known before any data: the InputLayer's or the first layer's.
  std::optional<Shape> known_input_shape() const;
  /// add() and compile(): builds when the input shape is known.
  void build_if_known();
  /// Builds the unbuilt layers and redraws the built ones, all from one generator seeded with
  /// `seed`: the same weights as building everything at once.
  void draw_weights(const Shape& input_shape, uint64_t seed);
  /// The weights' handles in layer order, without counting as reached.
  std::vector<Var> weight_handles() const;
  /// Something outside the model may now hold or change its weights: no more redrawing.
  void mark_weights_reached() const { untouched_seed_.reset(); }
  void check_compiled(const char* who) const;
  Logs evaluate_batches(StepRunner& runner, const Tensor& x, const Tensor& y, int batch_size,
                        ProgressBar* progress);

  std::string name_ = "sequential";
  LayerPtr input_layer_;            ///< kept apart from layers_, as Keras' model.layers leaves it out
  std::vector<LayerPtr> layers_;
  /// The seed of weights the model drew itself and nothing outside has reached since.
  mutable std::optional<uint64_t> untouched_seed_;
  /// Set while from_config() adds layers: add() and compile() then leave building to it.
  bool defer_build_ = false;
  /// compile state, model state: see sequential.cpp
  struct Compiled;
  std::shared_ptr<Compiled> compiled_;
  friend class ModelAccess;
};

/// Reads a model written by Sequential::save(): architecture, weights, compile settings and
/// optimizer state, so that it predicts exactly as the saved model and can resume training.
/// Throws ad::Error naming the file for a missing, damaged or foreign file.
Sequential load_model(const std::string& path);

}  // namespace nn
