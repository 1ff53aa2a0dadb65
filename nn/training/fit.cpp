// Model's training loop: fit, evaluate and predict. Every batch goes through a StepRunner from
// make_step_runner(), so the compiled step plugs in without changes here; batches are rows
// gathered in datasets::EpochOrder's order, the library's one shuffle.
#include <bit>
#include <cmath>

#include "tapegrad/autodiff/threading.h"
#include "tapegrad/datasets/shuffle.h"
#include "tapegrad/nn/metrics.h"
#include "tapegrad/nn/model.h"
#include "tapegrad/nn/number_text.h"
#include "tapegrad/nn/progress.h"
#include "tapegrad/nn/step_factory.h"

namespace nn {

namespace {

int64_t samples(const Tensor& t) { return t.rank() == 0 ? 0 : t.dim(0); }

// Rows order[begin..end) of t: one batch.
Tensor gather_rows(const Tensor& t, std::span<const int64_t> order, int64_t begin, int64_t end) {
  return datasets::gather_rows(t, order.subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin)));
}

void check_pair(const Tensor& x, const Tensor& y, const char* who, const char* x_name, const char* y_name) {
  TG_CHECK(x.rank() >= 1 && y.rank() >= 1, "{}: {} {} and {} {} need a sample axis", who, x_name,
           ad::to_string(x.shape()), y_name, ad::to_string(y.shape()));
  TG_CHECK(samples(x) == samples(y), "{}: {} has {} samples but {} has {} ({} {} vs {} {})", who, x_name, samples(x),
           y_name, samples(y), x_name, ad::to_string(x.shape()), y_name, ad::to_string(y.shape()));
  TG_CHECK(samples(x) > 0, "{}: empty dataset: {} has 0 samples ({})", who, x_name, ad::to_string(x.shape()));
}

// Inputs are checked once per call, as fit already checks the targets: a NaN or an infinity in x
// makes the loss NaN (fit would stop at that batch without saying which sample). One pass over
// the exponent bits, which vectorises; the search for the sample runs only when one is found.
void check_finite_inputs(const Tensor& x, const char* who, const char* x_name) {
  constexpr uint32_t kExponent = 0x7f800000u;  // all ones: an infinity or a NaN
  const float* v = x.data();
  uint32_t bad = 0;
  for (int64_t i = 0; i < x.size(); ++i) bad |= static_cast<uint32_t>((std::bit_cast<uint32_t>(v[i]) & kExponent) == kExponent);
  if (!bad) return;
  int64_t width = samples(x) ? x.size() / samples(x) : 1, i = 0;
  while (std::isfinite(v[i])) ++i;
  ad::fail("{}: {} holds {} in sample {} (value {} of the sample, {} {}); remove or impute non-finite inputs first",
           who, x_name, v[i], i / width, i % width, x_name, ad::to_string(x.shape()));
}

void check_features(const Model& model, const Tensor& x, const char* who, const char* x_name) {
  Shape per_sample = sample_shape(x.shape());
  TG_CHECK(per_sample == model.input_shape(), "{}: {} has samples of shape {} (batch {}) but the model takes {}", who,
           x_name, ad::to_string(per_sample), ad::to_string(x.shape()), ad::to_string(model.input_shape()));
}

std::vector<MetricPtr> make_metrics(const Model& model, const Tensor& y) {
  std::vector<MetricPtr> out;
  for (const std::string& name : model.metrics())
    out.push_back(make_metric(name, model.output_shape(), y.shape()));
  return out;
}

}  // namespace

Logs Model::evaluate_batches(StepRunner& runner, const Tensor& x, const Tensor& y, int batch_size,
                             ProgressBar* progress) {
  std::vector<MetricPtr> metrics = make_metrics(*this, y);
  int64_t n = samples(x), steps = (n + batch_size - 1) / batch_size;
  double loss_total = 0;
  Logs logs;
  if (progress) progress->start(steps);
  for (int64_t step = 0; step < steps; ++step) {
    int64_t begin = step * batch_size, end = std::min(n, begin + batch_size);
    Tensor yb = y.rows(begin, end), out;  // views, as predict() takes them: nothing is reordered
    // The loss as training takes it (from the logits after softmax or sigmoid), not from the
    // clipped probabilities: one loss for the same data in fit, evaluate and val_loss.
    float batch_loss = runner.test(x.rows(begin, end), yb, out);
    loss_total += static_cast<double>(batch_loss) * static_cast<double>(end - begin);
    for (const MetricPtr& m : metrics) m->update(out, yb);
    logs["loss"] = loss_total / static_cast<double>(end);
    for (const MetricPtr& m : metrics) logs[m->name()] = m->result();
    if (progress) progress->update(step + 1, logs);
  }
  if (progress) progress->finish(logs);
  return logs;
}

std::string Model::first_non_finite_weight() const {
  for (const LayerPtr& layer : layers_) {
    std::vector<Var> weights = layer->weights();
    std::vector<std::string> names = layer->weight_names();
    for (size_t w = 0; w < weights.size(); ++w) {
      const Tensor& value = weights[w].value();
      for (int64_t i = 0; i < value.size(); ++i)
        if (!std::isfinite(value[i]))
          return fmt::format("{}/{} holds {} at flat index {}", layer->name(), w < names.size() ? names[w] : "?",
                             shortest_text(value[i]), i);
    }
  }
  return "";
}

History Model::fit(const Tensor& x_all, const Tensor& y_all, FitOptions options) {
  const char* who = "fit";
  ad::ComputeScope flush_subnormals;  // for the whole call: losses, metrics, updates
  check_compiled(who);
  TG_CHECK(options.batch_size > 0, "fit: batch_size must be positive, got {}", options.batch_size);
  TG_CHECK(options.epochs >= 0, "fit: epochs must be >= 0, got {}", options.epochs);
  for (size_t i = 0; i < options.callbacks.size(); ++i)
    TG_CHECK(options.callbacks[i] != nullptr, "fit: callbacks[{}] is null (of {} callbacks)", i,
             options.callbacks.size());
  check_pair(x_all, y_all, who, "x", "y");

  Tensor x = x_all, y = y_all;
  std::optional<ValidationData> validation;
  if (options.validation_data) validation = *options.validation_data;
  if (!validation && options.validation_split != 0) {
    double split = options.validation_split;
    TG_CHECK(split > 0 && split < 1, "fit: validation_split must be in [0, 1), got {}", split);
    // As Keras: the last fraction of the data, taken before any shuffling.
    int64_t n = samples(x_all);
    auto split_at = static_cast<int64_t>(static_cast<double>(n) * (1 - split));
    TG_CHECK(split_at > 0, "fit: validation_split {} of {} samples leaves no training data", split, n);
    TG_CHECK(split_at < n, "fit: validation_split {} of {} samples leaves no validation data", split, n);
    x = x_all.rows(0, split_at);
    y = y_all.rows(0, split_at);
    validation = ValidationData{x_all.rows(split_at, n), y_all.rows(split_at, n)};
  }

  build_for(x.shape(), options.seed);
  check_features(*this, x, who, "x");
  check_finite_inputs(x_all, who, "x");  // x_all: sample numbers as the caller counts them
  loss()->check_targets(y, output_shape(), who);
  if (validation) {
    check_pair(validation->x, validation->y, who, "validation x", "validation y");
    check_features(*this, validation->x, who, "validation x");
    if (options.validation_data) check_finite_inputs(validation->x, who, "validation x");
    loss()->check_targets(validation->y, output_shape(), "fit (validation data)");
  }
  optimizer()->ensure_built(trainable_weights());

  std::unique_ptr<StepRunner> runner = make_step_runner(*this, options.eager);
  std::vector<MetricPtr> metrics = make_metrics(*this, y);
  ProgressBar progress({.verbose = options.verbose, .output = options.output, .terminal = options.terminal});
  int64_t n = samples(x), steps = (n + options.batch_size - 1) / options.batch_size;
  datasets::EpochOrder epoch_order(n, {.shuffle = options.shuffle, .seed = options.seed});

  History history;
  Logs logs;
  stop_training = false;
  for (const CallbackPtr& c : options.callbacks) c->on_train_begin(*this);
  for (int epoch = 0; epoch < options.epochs && !stop_training; ++epoch) {
    for (const CallbackPtr& c : options.callbacks) c->on_epoch_begin(*this, epoch);
    std::span<const int64_t> order = epoch_order.next();
    for (const MetricPtr& m : metrics) m->reset();
    progress.start_epoch(epoch, options.epochs, steps);
    double loss_total = 0;
    int64_t seen = 0;
    logs.clear();
    for (int64_t step = 0; step < steps; ++step) {
      int64_t begin = step * options.batch_size, end = std::min(n, begin + options.batch_size);
      Tensor yb = gather_rows(y, order, begin, end), predictions;
      float batch_loss = runner->train(gather_rows(x, order, begin, end), yb, predictions);
      seen += end - begin;
      loss_total += static_cast<double>(batch_loss) * static_cast<double>(end - begin);
      for (const MetricPtr& m : metrics) m->update(predictions, yb);
      logs["loss"] = loss_total / static_cast<double>(seen);
      for (const MetricPtr& m : metrics) logs[m->name()] = m->result();
      for (const CallbackPtr& c : options.callbacks) c->on_batch_end(*this, static_cast<int>(step), logs);
      progress.update(step + 1, logs);
      if (!std::isfinite(batch_loss) && !stop_training) {
        progress.finish(logs);  // ends the progress line, so that the error does not run into it
        // Weights that held NaN/Inf before the batch (loaded or set that way) explain it better
        // than the learning rate does.
        if (std::string weight = first_non_finite_weight(); !weight.empty())
          ad::fail("fit: the loss became {} at epoch {}, batch {}: the weights were not finite before that batch "
                   "({}); load or set finite weights",
                   shortest_text(batch_loss), epoch + 1, step + 1, weight);
        ad::fail("fit: the loss became {} at epoch {}, batch {} (weights kept from before that batch); lower the "
                 "learning rate ({}) or check x and y for NaN/Inf",
                 shortest_text(batch_loss), epoch + 1, step + 1, optimizer()->learning_rate);
      }
      if (stop_training) break;
    }
    if (validation) {
      Logs val = evaluate_batches(*runner, validation->x, validation->y, options.batch_size, nullptr);
      for (const auto& [key, value] : val) logs["val_" + key] = value;
    }
    progress.finish(logs);
    history.append(epoch, logs);
    for (const CallbackPtr& c : options.callbacks) c->on_epoch_end(*this, epoch, logs);
  }
  for (const CallbackPtr& c : options.callbacks) c->on_train_end(*this, logs);
  return history;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options) {
  const char* who = "evaluate";
  ad::ComputeScope flush_subnormals;  // for the whole call: losses, metrics, updates
  check_compiled(who);
  TG_CHECK(options.batch_size > 0, "evaluate: batch_size must be positive, got {}", options.batch_size);
  check_pair(x, y, who, "x", "y");
  build_for(x.shape(), 0);
  check_features(*this, x, who, "x");
  check_finite_inputs(x, who, "x");
  loss()->check_targets(y, output_shape(), who);
  std::unique_ptr<StepRunner> runner = make_step_runner(*this, false);
  ProgressBar progress({.verbose = options.verbose, .output = options.output, .terminal = options.terminal});
  return evaluate_batches(*runner, x, y, options.batch_size, options.verbose > 0 ? &progress : nullptr);
}

Tensor Model::predict(const Tensor& x, int batch_size) {
  const char* who = "predict";
  ad::ComputeScope flush_subnormals;  // for the whole call: losses, metrics, updates
  TG_CHECK(batch_size > 0, "predict: batch_size must be positive, got {}", batch_size);
  TG_CHECK(x.rank() >= 1, "predict: x {} needs a sample axis", ad::to_string(x.shape()));
  build_for(x.shape(), 0);
  check_features(*this, x, who, "x");
  Shape out_shape = output_shape();
  out_shape.insert(out_shape.begin(), samples(x));
  Tensor out = Tensor::empty(out_shape);
  int64_t n = samples(x), width = ad::element_count(output_shape());
  if (n == 0) return out;
  std::unique_ptr<StepRunner> runner = make_step_runner(*this, false);
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    int64_t end = std::min(n, begin + batch_size);
    Tensor batch = runner->predict(x.rows(begin, end));
    std::copy_n(batch.data(), batch.size(), out.data() + begin * width);
  }
  return out;
}

}  // namespace nn
