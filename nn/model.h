/// @file
/// Model: the base of every trainable model, as Keras' keras.Model. It owns the training loop
/// (compile/fit/evaluate/predict), the weights as a list, save(), and the choice of step runner
/// (compiled graph or eager tape); a kind of model (nn::Sequential today; functional and
/// subclassed models next) says only how it computes: call(), its layers and how it builds.
///
/// @code
/// #include <tapegrad/nn/layers/dense.h>
/// #include <tapegrad/nn/sequential.h>
/// // Given: const ad::Tensor& x, const ad::Tensor& y
/// nn::Sequential sequential({nn::Dense(8, {.activation = "relu", .input_shape = {4}}), nn::Dense(1)});
/// nn::Model& model = sequential;      // the loop needs nothing more than a Model
/// model.compile({.loss = "mse", .optimizer = "adam"});
/// nn::History history = model.fit(x, y, {.epochs = 5, .verbose = 0});
/// ad::Tensor predictions = model.predict(x);
/// @endcode
///
/// Copies of a model share its layers, weights and compile settings (as Tensor handles share
/// storage).
#pragma once
#include <iosfwd>
#include <map>
#include <memory>
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
  /// Reshuffle the training samples before each epoch (Keras' default); the orders are
  /// datasets::EpochOrder's, so epoch 0 visits datasets::permutation(n, seed).
  bool shuffle = true;
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

/// Keras' Model: weights held by a list of layers, a forward computation (call()), and the
/// training loop around them. See the file's description. Errors name the call as
/// "<type()>.<call>", e.g. "Sequential.get_weights".
///
/// What a kind of model defines (the virtual interface):
/// - type() and get_config(): its name for messages and its description as JSON;
/// - call(x, training): the forward pass on Vars; call_logits() and output_activation() when its
///   output ends in an activation that training_loss() may move into the loss;
/// - build_layers(): creating (or redrawing) its layers' weights for a per-sample input shape,
///   known_input_shape() when it knows that shape before any data, input_shape()/output_shape();
/// - its layers, kept in layers_ in weight order (what save() names the weights after).
class Model {
 public:
  virtual ~Model() = default;

  /// "Sequential": the kind of model, as Keras' class_name.
  virtual std::string type() const = 0;
  /// The model's name ("sequential" by default for a Sequential).
  const std::string& name() const { return name_; }

  /// The layers that hold the model's weights, in weight order, as Keras' model.layers (for a
  /// Sequential without its InputLayer).
  const std::vector<LayerPtr>& layers() const&;
  /// On a temporary model, a copy (a reference would outlive the model).
  std::vector<LayerPtr> layers() const&& { return layers(); }

  /// Builds every layer for per-sample input shape `input_shape` with weights drawn from `seed`.
  /// A model that built itself (on add or compile) and whose weights nothing has reached yet
  /// (fit, evaluate, predict, a forward pass, set_weights, trainable_weights, layers(), layer())
  /// redraws them from `seed`; so does fit() with its FitOptions::seed. Throws when the model is
  /// built for another input shape, has no layers, or for a dimension that is not positive.
  void build(const Shape& input_shape, uint64_t seed = 0);
  /// Whether every layer has its weights (false for a model without layers).
  bool built() const;
  /// Per-sample shapes of the built model's inputs and outputs (no batch axis); each throws
  /// ad::Error naming the call when the model is not built.
  /// @{
  virtual Shape input_shape() const = 0;
  virtual Shape output_shape() const = 0;
  /// @}
  /// Every weight's element count; throws when not built (Keras' count_params does too).
  int64_t parameter_count() const;

  /// Sets the loss, optimizer and metrics for fit() and evaluate(); the optimizer's slots are
  /// made for the model's weights once it is built. Throws ad::Error naming an unknown metric.
  /// Also builds the model when its input shape is known (see known_input_shape()).
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

  /// How a training step computes its loss: when the output activation is softmax (sigmoid)
  /// and the loss a cross-entropy on probabilities, on_logits is true and `loss` is its
  /// from_logits form, to be applied to forward(x, /*logits=*/true); `activation` turns those
  /// logits into the model's outputs.
  struct TrainingLoss {
    LossPtr loss;  ///< the loss to apply: the compiled one or its from_logits form
    bool on_logits = false;  ///< whether `loss` takes the logits
    std::string activation = "linear";  ///< what turns logits into outputs when on_logits
  };
  /// See TrainingLoss; throws ad::Error when not compiled.
  TrainingLoss training_loss() const;
  /// The forward pass, on the active tape: call(x, training), or call_logits() with logits =
  /// true. Builds the model (seed 0) from x when it is not built. Throws ad::Error for a model
  /// without layers or a scalar x. The step runners call it with training = true for a
  /// training step.
  Var forward(const Var& x, bool logits = false, bool training = false);
  /// The forward pass on a Var (records on the active tape): for custom training loops.
  Var operator()(const Var& x);

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

  /// The architecture and compile settings as JSON ({"name", "layers", "compile", ...}), from
  /// which the kind of model rebuilds it (Sequential::from_config).
  virtual Json get_config() const = 0;
  /// Writes weights, optimizer state and get_config() to one safetensors file at `path`,
  /// atomically (nn/serialization.h describes the layout). Throws ad::Error naming the path
  /// when it cannot be written, the model is not built, or two layers share a name.
  void save(const std::string& path) const;

 protected:
  /// A model named `name`. The kind of model checks that the name is valid UTF-8 (it goes
  /// into saved JSON), naming itself: type() cannot be called from here.
  explicit Model(std::string name);
  /// Copies share layers and compile settings (see the file's description); protected, so that
  /// a kind of model is never sliced into its base.
  /// @{
  Model(const Model&) = default;
  Model& operator=(const Model&) = default;
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;
  /// @}

  /// The forward pass on a batch [n, ...] of a built model (Keras' Model.call); `training` is
  /// true in a training step (for layers such as dropout that behave differently there).
  virtual Var call(const Var& x, bool training) = 0;
  /// call() without the output activation (the logits); only asked for when
  /// output_activation() is not "linear". The default is call().
  virtual Var call_logits(const Var& x, bool training) { return call(x, training); }
  /// The activation applied last, which training_loss() may move into the loss ("linear": none).
  virtual std::string output_activation() const { return "linear"; }
  /// The per-sample input shape known before any data (an InputLayer's), or nullopt.
  virtual std::optional<Shape> known_input_shape() const { return std::nullopt; }
  /// Builds the unbuilt layers for per-sample inputs `input_shape`, drawing from `rng` in
  /// weight order; built layers draw new weights when `redraw`, else only check the shape.
  virtual void build_layers(const Shape& input_shape, ad::Rng& rng, bool redraw) = 0;

  /// build_layers()' step for one layer: builds it for per-sample inputs `input_shape` when
  /// unbuilt, redraws it when `redraw`, else checks the shape (throwing naming the layer);
  /// returns its per-sample output shape.
  static Shape build_layer(Layer& layer, const Shape& input_shape, ad::Rng& rng, bool redraw);
  /// Throws naming `who` and the model when it is not built, or not compiled.
  /// @{
  void check_built(const std::string& who) const;
  void check_compiled(const std::string& who) const;
  /// @}
  /// Builds when the input shape is known before any data (for add() and compile()), unless
  /// defer_build_ is set.
  void build_if_known();
  /// Something outside the model may now hold or change its weights: no more redrawing.
  void mark_weights_reached() const { untouched_seed_.reset(); }

  /// The layers holding the weights, in weight order; a kind of model fills it as it grows.
  std::vector<LayerPtr> layers_;
  /// Set while a model is rebuilt from its config: build_if_known() then leaves building to it.
  bool defer_build_ = false;

 private:
  /// The settings compile() was given.
  struct Compiled {
    LossPtr loss;
    OptimizerPtr optimizer;
    std::vector<std::string> metrics;
  };

  /// Builds the unbuilt layers and redraws an untouched model's, all from one generator
  /// seeded with `seed`: the same weights as building everything at once.
  void draw_weights(const Shape& input_shape, uint64_t seed);
  /// Builds, when not built yet, for the declared input shape or else x's; redraws an untouched
  /// model's weights from `seed`. Then the weights count as reached.
  void build_for(const Shape& x_shape, uint64_t seed);
  /// The weights' handles in layer order, without counting as reached.
  std::vector<Var> weight_handles() const;
  Logs evaluate_batches(StepRunner& runner, const Tensor& x, const Tensor& y, int batch_size,
                        ProgressBar* progress);
  /// "layer/weight holds <value> at flat index i" for the first weight holding NaN or Inf, or "".
  std::string first_non_finite_weight() const;

  std::string name_;
  /// The seed of weights the model drew itself and nothing outside has reached since.
  mutable std::optional<uint64_t> untouched_seed_;
  std::shared_ptr<Compiled> compiled_;
};

}  // namespace nn
