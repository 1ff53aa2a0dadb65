// The test that matters most: for random MLPs the compiled, fused step and the eager, unfused
// step give the same loss, gradients and updated weights within float32 tolerance, for each
// activation, loss and update rule; and the optimized graph's gradients pass a finite-difference
// check of the graph's own loss.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "mlp.h"

using namespace graph_test;

namespace {

// The update rules as Keras writes them, applied to eager gradients: the reference.
struct Reference {
  graph::UpdateRule rule;
  std::vector<Tensor> m, v;
  void apply(std::vector<Var>& params, int64_t t) {
    if (m.empty())
      for (auto& p : params) {
        m.push_back(Tensor::zeros(p.shape()));
        v.push_back(Tensor::zeros(p.shape()));
      }
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor& w = params[i].value();
      const Tensor& g = params[i].grad();
      for (int64_t k = 0; k < w.size(); ++k) {
        if (rule.kind == graph::UpdateKind::SGD && rule.momentum == 0) {
          w[k] -= rule.learning_rate * g[k];
        } else if (rule.kind == graph::UpdateKind::SGD) {
          m[i][k] = rule.momentum * m[i][k] - rule.learning_rate * g[k];
          w[k] += rule.nesterov ? rule.momentum * m[i][k] - rule.learning_rate * g[k] : m[i][k];
        } else if (rule.kind == graph::UpdateKind::RMSprop) {
          // Keras' RMSprop; m holds the mean square ("velocity"), v the momentum.
          m[i][k] = rule.rho * m[i][k] + (1 - rule.rho) * g[k] * g[k];
          float step = rule.learning_rate * g[k] / std::sqrt(m[i][k] + rule.epsilon);
          v[i][k] = rule.momentum * v[i][k] + step;
          w[k] -= rule.momentum != 0 ? v[i][k] : step;
        } else {
          double td = static_cast<double>(t);
          float alpha = static_cast<float>(rule.learning_rate * std::sqrt(1 - std::pow(rule.beta_2, td)) /
                                           (1 - std::pow(rule.beta_1, td)));
          m[i][k] = rule.beta_1 * m[i][k] + (1 - rule.beta_1) * g[k];
          v[i][k] = rule.beta_2 * v[i][k] + (1 - rule.beta_2) * g[k] * g[k];
          w[k] -= alpha * m[i][k] / (std::sqrt(v[i][k]) + rule.epsilon);
        }
      }
    }
  }
};

using Compiled = CompiledMlp;

Compiled compile(const Mlp& mlp, graph::UpdateRule rule, graph::ExecutionMode mode) {
  return compile_mlp(mlp, rule, {.mode = mode});
}

const char* kActivations[] = {"relu", "sigmoid", "tanh", "linear"};
const char* kLosses[] = {"sparse_categorical_crossentropy", "categorical_crossentropy", "mse", "binary_crossentropy"};

MlpSpec random_spec(ad::Rng& rng, int index) {
  MlpSpec s;
  int depth = 1 + static_cast<int>(rng.next() % 4);
  s.widths.push_back(1 + static_cast<int64_t>(rng.next() % 300));
  for (int l = 0; l < depth; ++l) s.widths.push_back(1 + static_cast<int64_t>(rng.next() % 300));
  // Classification outputs of one class make every cross-entropy zero: keep two or more.
  if (s.widths.back() < 2) s.widths.back() = 2;
  s.activation = kActivations[index % 4];
  s.loss = kLosses[(index / 4) % 4];
  s.batch = 1 + static_cast<int64_t>(rng.next() % 256);
  s.seed = rng.next();
  s.from_logits = index % 7 == 3 && s.loss != "mse";
  return s;
}

std::string describe(const MlpSpec& s) {
  return fmt::format("widths {} activation {} loss {}{} batch {}", fmt::join(s.widths, "-"), s.activation, s.loss,
                     s.from_logits ? " (logits)" : "", s.batch);
}

}  // namespace

TEST_CASE("compiled fused steps and eager steps give the same loss and weights for random MLPs") {
  ad::Rng rng(2024);
  graph::UpdateRule rules[] = {{.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f},
                               {.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f, .momentum = 0.9f},
                               {.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f, .momentum = 0.9f, .nesterov = true},
                               {.kind = graph::UpdateKind::Adam, .learning_rate = 0.01f},
                               {.kind = graph::UpdateKind::RMSprop, .learning_rate = 0.01f},
                               {.kind = graph::UpdateKind::RMSprop, .learning_rate = 0.01f, .momentum = 0.9f, .rho = 0.8}};
  for (int index = 0; index < 36; ++index) {
    Mlp mlp(random_spec(rng, index));
    graph::UpdateRule rule = rules[index % 6];
    CAPTURE(describe(mlp.spec));
    CAPTURE(index);
    auto eager = mlp.fresh_params();
    Reference reference{rule, {}, {}};
    Compiled compiled = compile(mlp, rule, index % 2 ? graph::ExecutionMode::Parallel : graph::ExecutionMode::Serial);
    for (int64_t t = 1; t <= 2; ++t) {  // two steps: the second sees the first's updates and slots
      ad::Tape tape;
      for (auto& p : eager) p.zero_grad();
      Var loss = mlp.loss(eager);
      loss.backward();
      reference.apply(eager, t);
      compiled.step->run({.learning_rate = rule.learning_rate, .iteration = t});
      CHECK(compiled.step->loss() == doctest::Approx(loss.item()).epsilon(2e-4));
    }
    for (size_t i = 0; i < eager.size(); ++i) {
      CAPTURE(i);
      // Adam and RMSprop divide by a root mean square: tiny gradients amplify rounding, so they get a looser bound.
      float tol = rule.kind == graph::UpdateKind::Adam || rule.kind == graph::UpdateKind::RMSprop ? 2e-3f : 2e-5f;
      std::string diff = compare(compiled.params[i].value(), eager[i].value(), tol, 1e-3f);
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }
}

TEST_CASE("the optimized graph's gradients equal the eager gradients for every activation and loss") {
  ad::Rng rng(77);
  for (int index = 0; index < 16; ++index) {
    Mlp mlp(random_spec(rng, index));
    CAPTURE(describe(mlp.spec));
    auto eager = mlp.fresh_params();
    ad::Tape tape;
    Var loss = mlp.loss(eager);
    loss.backward();
    Compiled compiled = compile(mlp, {}, graph::ExecutionMode::Parallel);
    compiled.step->run();
    CHECK(compiled.step->loss() == doctest::Approx(loss.item()).epsilon(2e-4));
    for (size_t i = 0; i < eager.size(); ++i) {
      CAPTURE(i);
      int g = compiled.step->graph().gradients[i];
      REQUIRE(g >= 0);
      std::string diff = compare(compiled.step->value(g), eager[i].grad(), 1e-5f, 2e-3f);
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }
}

TEST_CASE("gradcheck: the optimized graph's gradients match central differences of its own loss") {
  for (std::string loss : {"sparse_categorical_crossentropy", "categorical_crossentropy", "mse", "binary_crossentropy"})
    for (std::string act : {"sigmoid", "tanh"}) {
      CAPTURE(loss);
      CAPTURE(act);
      Mlp mlp({.widths = {4, 5, 3}, .activation = act, .loss = loss, .batch = 3, .seed = 5});
      Compiled c = compile(mlp, {}, graph::ExecutionMode::Serial);
      c.step->run();
      for (size_t i = 0; i < c.params.size(); ++i) {
        Tensor analytic = c.step->value(c.step->graph().gradients[i]);
        Tensor& w = c.params[i].value();
        for (int64_t k = 0; k < w.size(); ++k) {
          const float eps = 3e-3f, keep = w[k];
          w[k] = keep + eps;
          c.step->run();
          float up = c.step->loss();
          w[k] = keep - eps;
          c.step->run();
          float down = c.step->loss();
          w[k] = keep;
          float numeric = (up - down) / (2 * eps);
          CAPTURE(i);
          CAPTURE(k);
          CHECK(std::fabs(analytic[k] - numeric) <= 2e-3f + 2e-2f * std::fabs(numeric));
        }
      }
    }
}
