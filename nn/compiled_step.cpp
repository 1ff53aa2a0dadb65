#include "tapegrad/nn/compiled_step.h"

#include <cmath>

#include "tapegrad/graph/executor.h"
#include "tapegrad/graph/passes.h"
#include "tapegrad/nn/activations.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/rmsprop.h"
#include "tapegrad/nn/optimizers/sgd.h"

namespace nn {

struct CompiledStep::Entry {
  std::unique_ptr<graph::Executor> executor;
  std::string description, dot_before, dot_after;
  Tensor predictions;         // the step writes into it; the runner hands out this handle
  bool copy_predictions = false;
  Shape target_shape;         // the graph binds targets by element count: train() checks the shape
  std::string activation;     // applied to the graph's prediction (logits) when not "linear"
};

namespace {

// The optimizer as the graph's update rule; nullopt with the reason when it has none.
std::optional<graph::UpdateRule> update_rule(const Optimizer& o, std::string& why) {
  if (auto* sgd = dynamic_cast<const SGD*>(&o)) {
    return graph::UpdateRule{.kind = graph::UpdateKind::SGD,
                             .learning_rate = static_cast<float>(o.learning_rate),
                             .momentum = static_cast<float>(sgd->options().momentum),
                             .nesterov = sgd->options().nesterov};
  }
  if (auto* adam = dynamic_cast<const Adam*>(&o)) {
    const AdamOptions& a = adam->options();
    return graph::UpdateRule{.kind = graph::UpdateKind::Adam,
                             .learning_rate = static_cast<float>(o.learning_rate),
                             .beta_1 = a.beta_1,
                             .beta_2 = a.beta_2,
                             .epsilon = static_cast<float>(a.epsilon)};
  }
  if (auto* rmsprop = dynamic_cast<const RMSprop*>(&o)) {
    const RMSpropOptions& r = rmsprop->options();
    return graph::UpdateRule{.kind = graph::UpdateKind::RMSprop,
                             .learning_rate = static_cast<float>(o.learning_rate),
                             .momentum = static_cast<float>(r.momentum),
                             .epsilon = static_cast<float>(r.epsilon),
                             .rho = r.rho};
  }
  why = "the compiled step has no update rule for optimizer " + o.type();
  return std::nullopt;
}

// The batch as a Var whose ops are all recorded: an op that reads only the input (a Flatten,
// a scaling) becomes a node of the graph instead of a constant of the placeholder batch. The
// graph takes gradients only for parameters, so none is made for it.
Var recorded_input(const Tensor& x) { return Var(x, true); }

graph::ExecutionMode mode_of(int m) {
  return m == 1 ? graph::ExecutionMode::Serial : (m == 2 ? graph::ExecutionMode::Parallel : graph::ExecutionMode::Auto);
}

}  // namespace

CompiledStep::CompiledStep(Model& model, CompiledStepOptions options) : model_(model), options_(options) {}

// Called after a forward pass was recorded, so a model that built itself on it is included.
void CompiledStep::refresh_parameters() {
  std::vector<Var> now = model_.trainable_weights();
  if (now.size() == params_.size()) return;
  params_ = std::move(now);
  names_.clear();
  for (const LayerPtr& layer : model_.layers())
    for (const std::string& w : layer->weight_names()) names_.push_back(layer->name() + "/" + w);
  if (names_.size() != params_.size()) names_.clear();  // dumps then number them
}

CompiledStep::~CompiledStep() = default;

void CompiledStep::fall_back(std::string reason) {
  reason_ = std::move(reason);
  train_.clear();
  predict_.clear();
  logits_.clear();
  last_ = nullptr;
  fallback_ = std::make_unique<EagerStep>(model_);
}

CompiledStep::Entry& CompiledStep::train_entry(const Tensor& x, const Tensor& y) {
  auto it = train_.find(x.shape());
  if (it != train_.end()) return *it->second;
  std::string why;
  auto rule = update_rule(*model_.optimizer(), why);
  if (!rule) ad::fail("{}", why);
  auto entry = std::make_unique<Entry>();
  entry->target_shape = y.shape();
  Model::TrainingLoss loss = model_.training_loss();
  // softmax + a cross-entropy is recorded on probabilities: the graph's fusion turns it into
  // the stable log-sum-exp form and still hands out the probabilities for the metrics. Without
  // the fusion passes it is recorded on the logits, as for sigmoid, so that the unfused graph
  // computes the same loss (not the probabilities clipped at 1e-7).
  // (Not when the compiled loss itself reads logits: it cannot be recorded on probabilities.)
  bool probabilities = loss.on_logits && loss.activation == "softmax" && options_.fuse && !model_.loss()->from_logits();
  graph::Graph g;
  {
    ad::Tape tape;
    Var out = model_.forward(recorded_input(x), loss.on_logits && !probabilities, /*training=*/true);
    Var l = probabilities ? model_.loss()->compute(out, y) : loss.loss->compute(out, y);
    refresh_parameters();
    g = graph::Graph::from(tape, l, {.inputs = {x}, .targets = {y}, .parameters = params_, .parameter_names = names_, .update = *rule});
  }
  TG_CHECK(!g.inputs.empty() && !g.targets.empty(),
           "CompiledStep: a batch of shape {} does not reach the recorded step as data", ad::to_string(x.shape()));
  if (loss.on_logits && !probabilities) entry->activation = loss.activation;
  entry->description = "before the passes:\n" + g.dump();
  entry->dot_before = g.to_dot();
  if (options_.fuse) graph::optimize(g);
  else graph::optimize(g, {.fuse_dense = false, .fuse_softmax_crossentropy = false, .fold_sgd = false});
  entry->description += "after the passes:\n" + g.dump() + "fusion report:\n" + g.report();
  entry->dot_after = g.to_dot();
  entry->executor = std::make_unique<graph::Executor>(std::move(g), graph::ExecutorOptions{.mode = mode_of(options_.mode), .profile = options_.profile});
  // As fit does: an optimizer meets its parameters on the first step.
  Optimizer& optimizer = *model_.optimizer();
  optimizer.ensure_built(params_);
  auto names = rule->slot_names();
  for (size_t i = 0; i < params_.size(); ++i) {
    entry->executor->bind(graph::Role::Parameter, static_cast<int>(i), params_[i].value());
    for (size_t j = 0; j < names.size(); ++j)
      entry->executor->bind(graph::Role::Slot, static_cast<int>(i * names.size() + j), optimizer.slot(i, names[j]));
  }
  // The step writes the model's outputs straight into the tensor that train() hands out
  // (unless they are not computed at all: a model that passes its input through).
  graph::Executor& step = *entry->executor;
  const graph::Value& p = step.graph().values[static_cast<size_t>(step.graph().prediction)];
  entry->predictions = Tensor::empty(p.shape);
  entry->copy_predictions = p.role != graph::Role::Temporary;
  if (!entry->copy_predictions) step.bind_output(step.graph().prediction, entry->predictions);
  return *train_.emplace(x.shape(), std::move(entry)).first->second;
}

CompiledStep::Entry& CompiledStep::predict_entry(const Tensor& x, bool logits) {
  auto& entries = logits ? logits_ : predict_;
  auto it = entries.find(x.shape());
  if (it != entries.end()) return *it->second;
  auto entry = std::make_unique<Entry>();
  graph::Graph g;
  {
    ad::Tape tape;
    Var out = model_.forward(recorded_input(x), logits);
    refresh_parameters();
    g = graph::Graph::from(tape, out, {.inputs = {x}, .parameters = params_, .parameter_names = names_, .backward = false});
  }
  TG_CHECK(!g.inputs.empty(), "CompiledStep: a batch of shape {} does not reach the recorded forward pass as data",
           ad::to_string(x.shape()));
  if (options_.fuse) graph::optimize(g, {.fold_sgd = false});
  entry->description = g.dump() + g.report();
  entry->executor = std::make_unique<graph::Executor>(std::move(g), graph::ExecutorOptions{.mode = mode_of(options_.mode), .profile = options_.profile});
  for (size_t i = 0; i < params_.size(); ++i)
    entry->executor->bind(graph::Role::Parameter, static_cast<int>(i), params_[i].value());
  return *entries.emplace(x.shape(), std::move(entry)).first->second;
}

float CompiledStep::train(const Tensor& x, const Tensor& y, Tensor& predictions) {
  // Every registered op runs in the graph; only an optimizer without an update rule (a user's
  // own Optimizer subclass) keeps the step eager, decided here and said by reason().
  if (!fallback_) {
    std::string why;
    if (!update_rule(*model_.optimizer(), why)) fall_back(why);
  }
  if (fallback_) return fallback_->train(x, y, predictions);
  Entry* e = &train_entry(x, y);
  TG_CHECK(y.shape() == e->target_shape, "CompiledStep::train: targets of shape {} for a batch of shape {}; the step "
           "was made for targets of shape {}", ad::to_string(y.shape()), ad::to_string(x.shape()),
           ad::to_string(e->target_shape));
  graph::Executor& step = *e->executor;
  step.bind(graph::Role::Input, 0, x);
  step.bind(graph::Role::Target, 0, y);
  Optimizer& optimizer = *model_.optimizer();
  // A fresh tensor for the outputs every step (from the block pool: no copy): the one an earlier
  // call handed out keeps that step's values, as EagerStep's do.
  e->predictions = Tensor::empty(e->predictions.shape());
  if (!e->copy_predictions) step.bind_output(step.graph().prediction, e->predictions);
  step.run({.learning_rate = static_cast<float>(optimizer.learning_rate), .iteration = optimizer.next_step()});
  ++optimizer.iterations;
  last_ = &step;
  if (e->copy_predictions)
    std::copy_n(step.data(step.graph().prediction), e->predictions.size(), e->predictions.data());
  if (e->activation.empty()) {
    predictions = e->predictions;
  } else {
    ad::NoGrad no_grad;
    predictions = activation(e->activation, ad::constant(e->predictions)).value();
  }
  return step.loss();
}

Tensor CompiledStep::predict(const Tensor& x) {
  if (fallback_) return fallback_->predict(x);
  return forward(x, false);
}

Tensor CompiledStep::forward(const Tensor& x, bool logits) {
  if (x.rank() >= 1 && x.dim(0) == 0) {  // no rows: nothing to compile; the empty outputs, as eagerly
    ad::NoGrad no_grad;
    return model_.forward(ad::constant(x), logits).value();
  }
  graph::Executor& step = *predict_entry(x, logits).executor;
  step.bind(graph::Role::Input, 0, x);
  step.run();
  return step.value(step.graph().prediction);
}

float CompiledStep::test(const Tensor& x, const Tensor& y, Tensor& predictions) {
  if (fallback_) return fallback_->test(x, y, predictions);
  Model::TrainingLoss loss = model_.training_loss();
  Tensor out = forward(x, loss.on_logits);
  ad::NoGrad no_grad;
  float value = loss.loss->compute(ad::constant(out), y).item();
  predictions = loss.on_logits ? activation(loss.activation, ad::constant(out)).value() : out;
  return value;
}

graph::Executor* CompiledStep::train_executor(const Shape& x_shape) const {
  auto it = train_.find(x_shape);
  return it == train_.end() ? nullptr : it->second->executor.get();
}

std::string CompiledStep::describe(const Shape& x_shape) const {
  auto it = train_.find(x_shape);
  if (it == train_.end()) return {};
  // The executor chooses each SGD weight-gradient GEMM's form by timing its first runs.
  const graph::Executor& step = *it->second->executor;
  std::string forms = step.gemm_forms_decided() ? step.gemm_form_report() : std::string();
  std::string text = it->second->description;
  if (!forms.empty()) text += "GEMM forms (SGD folded into the GEMM, or a plain GEMM and the update):\n" + forms;
  // And whether the weights that qualify run their GEMMs split by rows over the threads.
  std::string split = step.row_split_decided() ? step.row_split_report() : std::string();
  if (!split.empty()) text += "Row-split weights (each thread keeps a block of rows):\n" + split;
  return text;
}

std::string CompiledStep::to_dot(const Shape& x_shape, bool optimized) const {
  auto it = train_.find(x_shape);
  if (it == train_.end()) return {};
  return optimized ? it->second->dot_after : it->second->dot_before;
}

}  // namespace nn
