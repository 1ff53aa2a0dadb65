// Model: building and redrawing, compile settings, weights and the forward pass. The training
// loop (fit, evaluate, predict) is in nn/training/fit.cpp, save() in nn/serialization.cpp.
#include "tapegrad/nn/model.h"

#include <fmt/format.h>

#include "tapegrad/nn/metrics.h"

namespace nn {

Model::Model(std::string name) : name_(std::move(name)) {}

const std::vector<LayerPtr>& Model::layers() const& {
  mark_weights_reached();
  return layers_;
}

void Model::build(const Shape& input_shape, uint64_t seed) {
  TG_CHECK(!layers_.empty(), "{}.build: model '{}' has no layers", type(), name_);
  for (int64_t d : input_shape)
    TG_CHECK(d > 0, "{}.build: input_shape dimensions must be positive, got {}", type(), ad::to_string(input_shape));
  if (built()) {
    TG_CHECK(input_shape == this->input_shape(), "{}.build: model '{}' is built for inputs {}, asked for {}", type(),
             name_, ad::to_string(this->input_shape()), ad::to_string(input_shape));
    if (untouched_seed_ && *untouched_seed_ != seed) draw_weights(input_shape, seed);
  } else {
    draw_weights(input_shape, seed);
  }
  mark_weights_reached();
}

void Model::draw_weights(const Shape& input_shape, uint64_t seed) {
  bool any_built = false;
  for (const LayerPtr& l : layers_) any_built = any_built || l->built();
  // Built layers are redrawn only when their weights are the model's own untouched draw; a
  // layer that came with weights, or weights someone may hold, are kept.
  const bool redraw = untouched_seed_.has_value();
  ad::Rng rng(seed);
  build_layers(input_shape, rng, redraw);
  if (redraw || !any_built) untouched_seed_ = seed;
  // Slots exist from here on, so a compiled model can be saved and its optimizer state
  // restored before any training.
  if (compiled()) compiled_->optimizer->build(weight_handles());
}

Shape Model::build_layer(Layer& layer, const Shape& input_shape, ad::Rng& rng, bool redraw) {
  if (layer.built() && redraw)
    layer.redraw_weights(rng);
  else
    layer.build(input_shape, rng);  // builds, or checks the shape of a built layer
  return layer.output_shape(input_shape);
}

void Model::build_if_known() {
  if (defer_build_) return;
  std::optional<Shape> shape = known_input_shape();
  if (shape && !layers_.empty() && !built()) draw_weights(*shape, untouched_seed_.value_or(0));
}

void Model::build_for(const Shape& x_shape, uint64_t seed) {
  TG_CHECK(!layers_.empty(), "{}: model '{}' has no layers", type(), name_);
  if (!built() || (untouched_seed_ && *untouched_seed_ != seed)) {
    std::optional<Shape> declared = known_input_shape();
    build(built() ? input_shape() : declared ? *declared : sample_shape(x_shape), seed);
  }
  mark_weights_reached();
}

bool Model::built() const {
  if (layers_.empty()) return false;
  for (const LayerPtr& l : layers_)
    if (!l->built()) return false;
  return true;
}

void Model::check_built(const std::string& who) const {
  TG_CHECK(built(), "{}: model '{}' is not built: its input shape is unknown (start it with an InputLayer or give "
           "its first layer an input_shape, or call build(input_shape) or fit() first)",
           who, name_);
}

int64_t Model::parameter_count() const {
  const std::string who = type() + ".parameter_count";
  check_built(who);
  int64_t total = 0;
  for (const LayerPtr& l : layers_) total = ad::add_counts(total, l->parameter_count(), who.c_str());
  return total;
}

void Model::compile(CompileOptions options) {
  TG_CHECK(options.loss.get() != nullptr, "compile: loss is null");
  TG_CHECK(options.optimizer.get() != nullptr, "compile: optimizer is null");
  for (const std::string& m : options.metrics) check_metric_name(m);
  auto state = std::make_shared<Compiled>();
  state->loss = options.loss.get();
  state->optimizer = options.optimizer.get();
  state->metrics = std::move(options.metrics);
  compiled_ = std::move(state);
  // Slots exist from here on when the shapes are known, so a compiled model can be saved and
  // its optimizer state restored before any training.
  if (!built())
    build_if_known();
  else
    compiled_->optimizer->build(weight_handles());
}

bool Model::compiled() const { return compiled_ != nullptr; }

void Model::check_compiled(const std::string& who) const {
  TG_CHECK(compiled(), "{}: model '{}' is not compiled; call compile({{.loss = ..., .optimizer = ...}}) first", who,
           name_);
}

const LossPtr& Model::loss() const& {
  check_compiled(type() + ".loss");
  return compiled_->loss;
}

const OptimizerPtr& Model::optimizer() const& {
  check_compiled(type() + ".optimizer");
  return compiled_->optimizer;
}

const std::vector<std::string>& Model::metrics() const& {
  check_compiled(type() + ".metrics");
  return compiled_->metrics;
}

Model::TrainingLoss Model::training_loss() const {
  check_compiled(type() + ".training_loss");
  TrainingLoss out{.loss = compiled_->loss};
  if (layers_.empty()) return out;
  std::string activation = output_activation();
  if (LossPtr on_logits = compiled_->loss->on_logits_of(activation)) {
    out = {.loss = on_logits, .on_logits = true, .activation = activation};
  }
  return out;
}

Var Model::forward(const Var& x, bool logits, bool training) {
  TG_CHECK(!layers_.empty(), "{}: model '{}' has no layers", type(), name_);
  TG_CHECK(x.value().rank() >= 1, "{}: needs a batch [samples, ...], got a scalar", type());
  build_for(x.shape(), 0);
  return logits ? call_logits(x, training) : call(x, training);
}

Var Model::operator()(const Var& x) { return forward(x, false); }

std::vector<Var> Model::weight_handles() const {
  std::vector<Var> out;
  for (const LayerPtr& l : layers_)
    for (const Var& w : l->weights()) out.push_back(w);
  return out;
}

std::vector<Var> Model::trainable_weights() {
  check_built(type() + ".trainable_weights");
  mark_weights_reached();
  return weight_handles();
}

std::vector<Tensor> Model::get_weights() {
  check_built(type() + ".get_weights");
  std::vector<Tensor> out;
  for (const Var& w : weight_handles()) out.push_back(w.value().clone());
  return out;
}

void Model::set_weights(const std::vector<Tensor>& weights) {
  check_built(type() + ".set_weights");
  mark_weights_reached();
  struct Named {
    Var var;
    std::string name;
  };
  std::vector<Named> targets;
  for (const LayerPtr& l : layers_) {
    std::vector<Var> ws = l->weights();
    std::vector<std::string> names = l->weight_names();
    for (size_t i = 0; i < ws.size(); ++i) targets.push_back({ws[i], l->name() + "/" + names[i]});
  }
  TG_CHECK(weights.size() == targets.size(), "set_weights: model '{}' has {} weights, given {}", name_,
           targets.size(), weights.size());
  // Check every shape before changing anything, so a bad list leaves the model as it was.
  for (size_t i = 0; i < targets.size(); ++i)
    TG_CHECK(weights[i].shape() == targets[i].var.shape(), "set_weights: weight {} ({}) has shape {}, given {}", i,
             targets[i].name, ad::to_string(targets[i].var.shape()), ad::to_string(weights[i].shape()));
  for (size_t i = 0; i < targets.size(); ++i) targets[i].var.value().assign(weights[i]);
}

}  // namespace nn
