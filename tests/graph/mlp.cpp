#include "mlp.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace graph_test {

namespace {

Var activate(const Var& z, const std::string& name) {
  if (name == "relu") return ad::relu(z);
  if (name == "sigmoid") return ad::sigmoid(z);
  if (name == "tanh") return ad::tanh(z);
  if (name == "softplus") return ad::softplus(z);
  if (name == "softmax") return ad::softmax(z);
  if (name != "linear") throw std::invalid_argument("Mlp: no activation named " + name);
  return z;
}

std::string last_activation(const MlpSpec& s) {
  if (s.from_logits) return "linear";
  if (s.loss == "binary_crossentropy") return "sigmoid";
  if (s.loss == "mse") return s.activation;
  return "softmax";
}

}  // namespace

Mlp::Mlp(MlpSpec s) : spec(std::move(s)) {
  ad::Rng rng(spec.seed);
  int64_t n = spec.batch, out = spec.widths.back();
  x = Tensor::uniform({n, spec.widths[0]}, -1, 1, rng);
  for (size_t l = 0; l + 1 < spec.widths.size(); ++l) {
    float limit = std::sqrt(6.f / static_cast<float>(spec.widths[l] + spec.widths[l + 1]));
    initial.push_back(Tensor::uniform({spec.widths[l], spec.widths[l + 1]}, -limit, limit, rng));
    initial.push_back(Tensor::uniform({spec.widths[l + 1]}, -0.1f, 0.1f, rng));
  }
  if (spec.loss == "sparse_categorical_crossentropy") {
    y = Tensor({n});
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(rng.next() % static_cast<uint64_t>(out));
  } else if (spec.loss == "categorical_crossentropy") {
    y = Tensor({n, out});
    for (int64_t i = 0; i < n; ++i) y[i * out + static_cast<int64_t>(rng.next() % static_cast<uint64_t>(out))] = 1;
  } else {
    y = Tensor::uniform({n, out}, 0, 1, rng);
  }
}

std::vector<Var> Mlp::fresh_params() const {
  std::vector<Var> p;
  for (const Tensor& t : initial) p.push_back(ad::param(t.clone()));
  return p;
}

Var Mlp::output(const std::vector<Var>& params) const {
  Var h = ad::constant(x);
  size_t layers = params.size() / 2;
  for (size_t l = 0; l < layers; ++l) {
    Var z = ad::matmul(h, params[2 * l]) + params[2 * l + 1];
    h = activate(z, l + 1 == layers ? last_activation(spec) : spec.activation);
  }
  return h;
}

Var Mlp::loss(const std::vector<Var>& params) const {
  Var out = output(params);
  ad::CrossentropyOptions o{.from_logits = spec.from_logits};
  if (spec.loss == "sparse_categorical_crossentropy") return ad::sparse_categorical_crossentropy(out, y, o);
  if (spec.loss == "categorical_crossentropy") return ad::categorical_crossentropy(out, ad::constant(y), o);
  if (spec.loss == "binary_crossentropy") return ad::binary_crossentropy(out, ad::constant(y), o);
  return ad::mse_loss(out, ad::constant(y));
}

graph::Graph record(const Mlp& mlp, const std::vector<Var>& params, graph::UpdateRule rule) {
  ad::Tape tape;
  Var loss = mlp.loss(params);
  std::vector<std::string> names;
  for (size_t l = 0; l < params.size() / 2; ++l) {
    names.push_back(fmt::format("W{}", l));
    names.push_back(fmt::format("b{}", l));
  }
  return graph::Graph::from(tape, loss,
                            {.inputs = {mlp.x}, .targets = {mlp.y}, .parameters = params, .parameter_names = names,
                             .update = rule});
}

CompiledMlp compile_mlp(const Mlp& mlp, graph::UpdateRule rule, graph::ExecutorOptions options) {
  CompiledMlp c;
  c.params = mlp.fresh_params();
  auto g = record(mlp, c.params, rule);
  graph::optimize(g);
  c.step = std::make_unique<graph::Executor>(std::move(g), options);
  c.step->bind(graph::Role::Input, 0, mlp.x);
  c.step->bind(graph::Role::Target, 0, mlp.y);
  size_t per = rule.slot_names().size();
  for (size_t i = 0; i < c.params.size(); ++i) {
    c.step->bind(graph::Role::Parameter, static_cast<int>(i), c.params[i].value());
    for (size_t j = 0; j < per; ++j) {
      c.slots.push_back(Tensor::zeros(c.params[i].shape()));
      c.step->bind(graph::Role::Slot, static_cast<int>(i * per + j), c.slots.back());
    }
  }
  return c;
}

std::string compare(const Tensor& actual, const Tensor& expected, float atol, float rtol) {
  if (actual.size() != expected.size())
    return fmt::format("sizes differ: {} vs {}", ad::to_string(actual.shape()), ad::to_string(expected.shape()));
  float worst = 0;
  int64_t at = -1;
  for (int64_t i = 0; i < actual.size(); ++i) {
    float excess = std::fabs(actual[i] - expected[i]) - (atol + rtol * std::fabs(expected[i]));
    if (!(excess <= 0) && (at < 0 || excess > worst)) {
      worst = excess;
      at = i;
    }
  }
  if (at < 0) return "";
  return fmt::format("element {} of {}: {} vs expected {}", at, ad::to_string(expected.shape()), actual[at], expected[at]);
}

}  // namespace graph_test
