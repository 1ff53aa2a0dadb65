// Sequential: a stack of layers trained with compile/fit/evaluate/predict, as in Keras.
//
//   nn::Sequential model({nn::Flatten({28, 28}), nn::Dense(300, "relu"), nn::Dense(100, "relu"),
//                         nn::Dense(10, "softmax")});
//   model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.01),
//                  .metrics = {"accuracy"}});
//   nn::History history = model.fit(x_train, y_train, {.epochs = 30, .validation_data = {x_valid, y_valid}});
//   nn::Logs test = model.evaluate(x_test, y_test);
//   ad::Tensor proba = model.predict(x_test.rows(0, 3));
//   model.save("fashion.model");
//   nn::Sequential again = nn::load_model("fashion.model");
//
// Copies of a Sequential share its layers, weights and compile settings (as Tensor handles
// share storage); rebuild from get_config() for an independent model.
#pragma once
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/callback.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/optimizer.h"

namespace nn {

class StepRunner;
class ProgressBar;

struct CompileOptions {
  LossRef loss = "mse";               // a Keras name or a Loss object
  OptimizerRef optimizer = "sgd";     // a Keras name or an Optimizer object
  std::vector<std::string> metrics{}; // "accuracy", "mae", "mse"
};

struct ValidationData {
  Tensor x, y;
};

// FitOptions::validation_data: none by default, or a pair, written {x_valid, y_valid} or
// nn::ValidationData{x_valid, y_valid} (a std::optional would not take the bare pair).
class OptionalValidationData {
 public:
  OptionalValidationData() = default;
  OptionalValidationData(ValidationData data) : data_(std::move(data)) {}
  OptionalValidationData(Tensor x, Tensor y) : data_(ValidationData{std::move(x), std::move(y)}) {}
  bool has_value() const { return data_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const ValidationData& operator*() const { return *data_; }
  const ValidationData* operator->() const { return &*data_; }

 private:
  std::optional<ValidationData> data_;
};

struct FitOptions {
  int epochs = 1;
  int batch_size = 32;
  OptionalValidationData validation_data{};
  double validation_split = 0;  // the last fraction of x/y, as in Keras (ignored with validation_data)
  bool shuffle = true;
  uint64_t seed = 0;            // shuffling (and initial weights, when fit builds the model)
  std::vector<CallbackPtr> callbacks{};
  int verbose = 1;              // 0: silent; 1: progress bar (one line per epoch when not a terminal); 2: one line
  bool eager = false;           // run op by op instead of the compiled graph
  std::ostream* output = nullptr;  // where the progress goes; nullptr: standard output
  std::optional<bool> terminal{};  // redraw in place (true) or one line per epoch (false); unset: ask isatty
};

struct EvaluateOptions {
  int batch_size = 32;
  int verbose = 0;
  std::ostream* output = nullptr;
  std::optional<bool> terminal{};
};

// Per-epoch figures of a fit, by Keras names ("loss", "accuracy", "val_loss", ...).
struct History {
  std::map<std::string, std::vector<double>> history;
  std::vector<int> epochs;
  // Throws listing the recorded keys when `key` is not one.
  const std::vector<double>& operator[](const std::string& key) const&;
  // On a temporary (model.fit(...)["loss"]), a copy: a reference would outlive the History.
  std::vector<double> operator[](const std::string& key) const&& { return (*this)[key]; }
  // Records one epoch's logs (nn/history.cpp).
  void append(int epoch, const Logs& logs);
};

class Sequential {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<LayerRef> layers, std::string name = "sequential");

  // Rebuilds a model from get_config(): the layers, built when the config has an input shape
  // (weights from seed 0: set_weights() restores saved ones), and compiled when it has compile
  // settings (optimizer slots are restored separately, through optimizer()->slots()).
  static Sequential from_config(const Json& config);

  // Appends a layer, naming it after its type (dense, dense_1, ...) when it has no name.
  void add(LayerRef layer);
  const std::vector<LayerPtr>& layers() const& { return layers_; }
  std::vector<LayerPtr> layers() const&& { return layers_; }  // on a temporary model, a copy
  Layer& layer(size_t index);
  Layer& layer(const std::string& name);

  // Builds every layer for per-sample input shape `input_shape` with weights drawn from `seed`.
  void build(const Shape& input_shape, uint64_t seed = 0);
  bool built() const;
  // Per-sample shapes of the built model's inputs and outputs.
  Shape input_shape() const;
  Shape output_shape() const;
  // Keras' table: layer (name and type), output shape, parameter count, then the totals.
  std::string summary() const;
  int64_t parameter_count() const;

  void compile(CompileOptions options);
  bool compiled() const;
  // The compile settings; each throws when the model is not compiled.
  const LossPtr& loss() const&;
  const OptimizerPtr& optimizer() const&;
  const std::vector<std::string>& metrics() const&;
  // On a temporary model (nn::load_model(path).optimizer()), copies that outlive it.
  LossPtr loss() const&& { return loss(); }
  OptimizerPtr optimizer() const&& { return optimizer(); }
  std::vector<std::string> metrics() const&& { return metrics(); }

  // How a training step computes its loss: when the last activation is softmax (sigmoid) and
  // the loss a cross-entropy on probabilities, on_logits is true and `loss` is its from_logits
  // form, to be applied to forward(x, /*logits=*/true); `activation` turns those logits into
  // the model's outputs.
  struct TrainingLoss {
    LossPtr loss;
    bool on_logits = false;
    std::string activation = "linear";
  };
  TrainingLoss training_loss() const;
  // The forward pass, on the active tape; with logits = true the last layer's activation is
  // left out. Builds the model (seed 0) from x when it is not built.
  Var forward(const Var& x, bool logits = false);
  History fit(const Tensor& x, const Tensor& y, FitOptions options = {});
  Logs evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options = {});
  Tensor predict(const Tensor& x, int batch_size = 32);
  // The forward pass on a Var (records on the active tape): for custom training loops.
  Var operator()(const Var& x);

  std::vector<Tensor> get_weights();            // copies, in layer order
  void set_weights(const std::vector<Tensor>& weights);
  std::vector<Var> trainable_weights();

  // Set by callbacks (EarlyStopping, TerminateOnNaN) to end fit() after the current epoch/batch.
  bool stop_training = false;

  Json get_config() const;                      // architecture and compile settings
  void save(const std::string& path) const;     // nn/serialization.cpp

 private:
  void check_built(const char* who) const;
  // Builds, when not built yet, for the first layer's declared input shape or else x's.
  void build_for(const Shape& x_shape, uint64_t seed);
  void check_compiled(const char* who) const;
  Logs evaluate_batches(StepRunner& runner, const Tensor& x, const Tensor& y, int batch_size,
                        ProgressBar* progress);

  std::string name_ = "sequential";
  std::vector<LayerPtr> layers_;
  // compile state, model state: see sequential.cpp
  struct Compiled;
  std::shared_ptr<Compiled> compiled_;
  friend class ModelAccess;
};

Sequential load_model(const std::string& path);  // nn/serialization.cpp

}  // namespace nn
