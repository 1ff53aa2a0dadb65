// nn::CompiledStep: fit, evaluate and predict through compiled graphs give what the eager
// step gives, per batch shape, for each optimizer the graph folds; the rest falls back.
#include "tapegrad/nn/compiled_step.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "tapegrad/graph/executor.h"
#include "tapegrad/nn/eager_step.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/rmsprop.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"

namespace {

using ad::Tensor;

struct Data {
  Tensor x, labels;
};

// Three noisy clusters in 6 features: learnable in a few epochs.
Data clusters(int64_t n, uint64_t seed) {
  ad::Rng rng(seed);
  Data d{Tensor({n, 6}), Tensor({n})};
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = static_cast<int64_t>(rng.next() % 3);
    d.labels[i] = static_cast<float>(c);
    for (int64_t j = 0; j < 6; ++j) d.x[i * 6 + j] = (j % 3 == c ? 1.5f : 0.f) + rng.normal(0, 0.5f);
  }
  return d;
}

nn::Sequential model_with(nn::OptimizerRef optimizer, const char* loss = "sparse_categorical_crossentropy") {
  nn::Sequential m({nn::Dense(16, "relu"), nn::Dense(8, "tanh"), nn::Dense(3, "softmax")});
  m.build({6}, 3);
  m.compile({.loss = loss, .optimizer = std::move(optimizer), .metrics = {"accuracy"}});
  return m;
}

// An optimizer the graph has no update rule for: w -= g / 2.
class HalfStep : public nn::Optimizer {
 public:
  std::string type() const override { return "HalfStep"; }
  void build(const std::vector<nn::Var>& params) override { make_slots(params, {}); }
  void apply(const std::vector<nn::Var>& params) override {
    for (nn::Var p : params)
      for (int64_t i = 0; i < p.size(); ++i) p.value()[i] -= 0.5f * p.grad()[i];
    ++iterations;
  }
  nn::Json get_config() const override { return {{"type", type()}}; }
  nn::OptimizerPtr clone() const override { return clone_as<HalfStep>(); }
};

void check_close(const std::vector<Tensor>& a, const std::vector<Tensor>& b, float tol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(ad::max_abs_difference(a[i], b[i]) <= tol);
  }
}

}  // namespace

TEST_CASE("fit through compiled graphs matches eager fit for SGD, momentum, Adam and RMSprop") {
  Data d = clusters(100, 1);  // 100 = 3 batches of 32 and a last batch of 4
  struct Case {
    const char* name;
    std::function<nn::OptimizerRef()> make;
  };
  Case cases[] = {{"SGD", [] { return nn::OptimizerRef(nn::SGD(0.05)); }},
                  {"SGD with momentum", [] { return nn::OptimizerRef(nn::SGD(0.05, {.momentum = 0.9})); }},
                  {"Nesterov", [] { return nn::OptimizerRef(nn::SGD(0.05, {.momentum = 0.9, .nesterov = true})); }},
                  {"Adam", [] { return nn::OptimizerRef(nn::Adam(0.01)); }},
                  {"RMSprop", [] { return nn::OptimizerRef(nn::RMSprop(0.01)); }},
                  {"RMSprop with momentum", [] { return nn::OptimizerRef(nn::RMSprop(0.005, {.rho = 0.8, .momentum = 0.5})); }}};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    {
      // The compiled runner must really run it compiled: no fall-back to the eager tape.
      nn::Sequential probe = model_with(c.make());
      nn::CompiledStep step(probe);
      Tensor p;
      step.train(d.x.rows(0, 32), d.labels.rows(0, 32), p);
      CHECK_MESSAGE(step.supported(), step.reason());
    }
    nn::Sequential eager = model_with(c.make()), compiled = model_with(c.make());
    auto he = eager.fit(d.x, d.labels, {.epochs = 3, .seed = 4, .verbose = 0, .eager = true});
    auto hc = compiled.fit(d.x, d.labels, {.epochs = 3, .seed = 4, .verbose = 0});
    for (size_t e = 0; e < 3; ++e) {
      CHECK(hc["loss"][e] == doctest::Approx(he["loss"][e]).epsilon(1e-4));
      CHECK(hc["accuracy"][e] == doctest::Approx(he["accuracy"][e]).epsilon(1e-6));
    }
    check_close(compiled.get_weights(), eager.get_weights(), 1e-4f);
    CHECK(compiled.optimizer()->iterations == eager.optimizer()->iterations);
    const nn::Optimizer& se = *eager.optimizer();
    const nn::Optimizer& sc = *compiled.optimizer();
    REQUIRE(sc.built_parameters() == se.built_parameters());
    for (size_t i = 0; i < se.built_parameters(); ++i)
      for (const std::string& name : se.slot_names(i))
        CHECK(ad::max_abs_difference(sc.slot(i, name), se.slot(i, name)) <= 1e-4f);
  }
}

TEST_CASE("the compiled step runs each batch shape through a graph of its own") {
  Data d = clusters(40, 2);
  nn::Sequential m = model_with(nn::SGD(0.1));
  nn::CompiledStep step(m);
  Tensor predictions;
  step.train(d.x.rows(0, 32), d.labels.rows(0, 32), predictions);
  step.train(d.x.rows(32, 40), d.labels.rows(32, 40), predictions);
  CHECK(step.supported());
  CHECK(std::string(step.kind()) == "compiled");
  CHECK(predictions.shape() == ad::Shape{8, 3});
  std::string big = step.describe({32, 6}), small = step.describe({8, 6});
  CHECK(big.find("fused_dense") != std::string::npos);
  CHECK(big.find("softmax_crossentropy") != std::string::npos);
  CHECK(small.find("[8,16]") != std::string::npos);
  CHECK(m.optimizer()->iterations == 2);
}

TEST_CASE("compiled predictions equal eager predictions") {
  Data d = clusters(50, 3);
  nn::Sequential m = model_with(nn::SGD(0.1));
  nn::CompiledStep compiled(m);
  Tensor c = compiled.predict(d.x);
  Tensor e = [&] {
    ad::NoGrad no_grad;
    return m.forward(ad::constant(d.x)).value();
  }();
  CHECK(ad::max_abs_difference(c, e) <= 1e-5f);
}

TEST_CASE("the predictions a compiled training step hands out keep their values after later steps") {
  // Outputs that need no activation afterwards (a linear layer under MSE) are written by the
  // step straight into the tensor it hands out: each step must write a fresh one.
  Data d = clusters(16, 3);
  nn::Sequential m({nn::Dense(4, "relu"), nn::Dense(3)});
  m.build({6}, 1);
  m.compile({.loss = "mse", .optimizer = nn::SGD(0.1)});
  nn::CompiledStep step(m);
  Tensor y = Tensor::ones({16, 3}), first, second;
  step.train(d.x, y, first);
  Tensor kept = first.clone();
  step.train(d.x, y, second);
  CHECK(ad::max_abs_difference(first, kept) == 0.f);
  CHECK(ad::max_abs_difference(first, second) > 0.f);  // the weights moved in between
  CHECK_FALSE(first.shares_storage_with(second));
}

TEST_CASE("a compiled step predicts and evaluates a batch of no rows as the eager step does") {
  Data d = clusters(8, 3);
  nn::Sequential m = model_with(nn::SGD(0.1));
  nn::CompiledStep compiled(m);
  nn::EagerStep eager(m);
  Tensor none = d.x.rows(0, 0);
  Tensor c = compiled.predict(none), e = eager.predict(none);
  CHECK(c.shape() == ad::Shape{0, 3});
  CHECK(c.shape() == e.shape());
}

TEST_CASE("an optimizer the graph has no update rule for falls back to eager and says why") {
  Data d = clusters(20, 4);
  SUBCASE("an optimizer of the user's own") {
    nn::Sequential m = model_with(HalfStep());
    nn::CompiledStep step(m);
    Tensor p;
    float loss = step.train(d.x, d.labels, p);
    CHECK(std::isfinite(loss));
    CHECK_FALSE(step.supported());
    CHECK(std::string(step.kind()) == "eager");
    CHECK(step.reason().find("HalfStep") != std::string::npos);
    CHECK(m.optimizer()->iterations == 1);
  }
  SUBCASE("mean absolute error now compiles") {
    nn::Sequential m({nn::Dense(3)});
    m.build({6}, 1);
    m.compile({.loss = "mae", .optimizer = nn::SGD(0.1)});
    nn::CompiledStep step(m);
    Tensor p, y = Tensor::zeros({20, 3});
    step.train(d.x, y, p);
    CHECK(step.supported());
    CHECK(step.reason().empty());
  }
}

TEST_CASE("a compiled training step allocates no buffers after its first run") {
  Data d = clusters(32, 5);
  nn::Sequential m = model_with(nn::SGD(0.1));
  nn::CompiledStep step(m);
  Tensor p;
  step.train(d.x, d.labels, p);
  int64_t before = graph::arena_allocation_count();
  for (int i = 0; i < 20; ++i) step.train(d.x, d.labels, p);
  CHECK(graph::arena_allocation_count() == before);
}

TEST_CASE("models with Flatten, a Dense without bias and a separate Activation train compiled as eagerly") {
  ad::Rng rng(6);
  Tensor x = Tensor::uniform({40, 2, 3}, -1, 1, rng), labels({40});
  for (int64_t i = 0; i < 40; ++i) labels[i] = static_cast<float>(i % 4);
  auto make = [] {
    nn::Sequential m({nn::Flatten({2, 3}), nn::Dense(5, nn::DenseOptions{.activation = "sigmoid", .use_bias = false}),
                      nn::Dense(4), nn::Activation("softmax")});
    m.build({2, 3}, 8);
    m.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.2), .metrics = {"accuracy"}});
    return m;
  };
  nn::Sequential eager = make(), compiled = make();
  auto he = eager.fit(x, labels, {.epochs = 2, .batch_size = 16, .seed = 1, .verbose = 0, .eager = true});
  auto hc = compiled.fit(x, labels, {.epochs = 2, .batch_size = 16, .seed = 1, .verbose = 0});
  CHECK(hc["loss"][1] == doctest::Approx(he["loss"][1]).epsilon(1e-4));
  check_close(compiled.get_weights(), eager.get_weights(), 1e-5f);
  nn::CompiledStep step(compiled);
  Tensor p;
  step.train(x.rows(0, 16), labels.rows(0, 16), p);
  CHECK(step.supported());
  std::string text = step.describe({16, 2, 3});
  CHECK(text.find("left alone") != std::string::npos);  // the bias-free matmul
  CHECK(text.find("fused_dense") != std::string::npos);  // the second Dense
}

TEST_CASE("a compiled step made for a model that is not built yet trains the weights the model builds") {
  Data d = clusters(32, 9);
  nn::Sequential m({nn::Dense(4, "relu"), nn::Dense(3, "softmax")});
  m.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.5, {.momentum = 0.5})});
  nn::CompiledStep step(m);
  Tensor p;
  step.train(d.x, d.labels, p);  // builds the model on this first batch
  REQUIRE(m.built());
  std::vector<Tensor> before = m.get_weights();
  step.train(d.x, d.labels, p);
  CHECK(ad::max_abs_difference(m.get_weights()[0], before[0]) > 0.f);
  CHECK(step.supported());
}

TEST_CASE("fit through compiled graphs matches eager fit for each loss and its output activation") {
  Data d = clusters(48, 10);
  struct Case {
    const char* loss;
    const char* activation;
    int64_t units;
  };
  Case cases[] = {{"binary_crossentropy", "sigmoid", 1},  // eager computes it from logits
                  {"categorical_crossentropy", "softmax", 3},
                  {"mse", "linear", 3},
                  {"mse", "tanh", 3}};
  for (const Case& c : cases) {
    CAPTURE(c.loss);
    CAPTURE(c.activation);
    Tensor y;
    if (c.units == 1) {
      y = Tensor({48, 1});
      for (int64_t i = 0; i < 48; ++i) y[i] = d.labels[i] == 0 ? 1.f : 0.f;
    } else {
      y = Tensor({48, 3});
      for (int64_t i = 0; i < 48; ++i) y[i * 3 + static_cast<int64_t>(d.labels[i])] = 1.f;
    }
    auto make = [&] {
      nn::Sequential m({nn::Dense(8, "relu"), nn::Dense(c.units, c.activation)});
      m.build({6}, 2);
      m.compile({.loss = c.loss, .optimizer = nn::SGD(0.1), .metrics = {"accuracy"}});
      return m;
    };
    nn::Sequential eager = make(), compiled = make();
    auto he = eager.fit(d.x, y, {.epochs = 2, .batch_size = 16, .seed = 3, .verbose = 0, .eager = true});
    auto hc = compiled.fit(d.x, y, {.epochs = 2, .batch_size = 16, .seed = 3, .verbose = 0});
    CHECK(hc["loss"][1] == doctest::Approx(he["loss"][1]).epsilon(1e-4));
    CHECK(hc["accuracy"][1] == doctest::Approx(he["accuracy"][1]));
    check_close(compiled.get_weights(), eager.get_weights(), 1e-5f);
  }
}

// With SGD folded into the step, a learning rate of 0 must mean "no change", for the biases as
// for the kernels: the bias update once took a scale of 0 for "nothing folded in" and wrote the
// bias gradient over the bias.
TEST_CASE("a compiled SGD step at learning rate 0 leaves every weight as it was") {
  Data d = clusters(32, 5);
  for (bool fuse : {true, false}) {
    CAPTURE(fuse);
    nn::Sequential m = model_with(nn::SGD(0.0));
    std::vector<Tensor> before = m.get_weights();
    for (size_t i = 1; i < before.size(); i += 2) before[i].values()[0] = 0.5f;  // biases not all 0
    m.set_weights(before);
    nn::CompiledStep step(m, {.fuse = fuse});
    Tensor predictions;
    CHECK(std::isfinite(step.train(d.x, d.labels, predictions)));
    REQUIRE(step.supported());
    std::vector<Tensor> after = m.get_weights();
    for (size_t i = 0; i < before.size(); ++i) CHECK(after[i].to_vector() == before[i].to_vector());
  }
}

// Training takes the loss of a softmax model from its logits; test() (evaluate, val_loss) must
// too, not from the probabilities clipped at 1e-7 (a cap of 16.1 per sample).
TEST_CASE("the compiled step's test loss is the training loss, from the logits") {
  nn::Sequential m({nn::Dense(3, "softmax")});
  m.build({1}, 0);
  m.set_weights({Tensor::zeros({1, 3}), Tensor::from({3}, {0, 30, 0})});
  m.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.0)});
  Tensor x = Tensor::from({2, 1}, {1, 1}), y = Tensor::from({2}, {0, 1}), p_test, p_train;
  double expected = (30 + std::log1p(2 * std::exp(-30.0)) + std::log1p(2 * std::exp(-30.0))) / 2;
  for (bool fuse : {true, false}) {
    CAPTURE(fuse);
    nn::CompiledStep compiled(m, {.fuse = fuse});
    CHECK(compiled.test(x, y, p_test) == doctest::Approx(expected).epsilon(1e-6));
    CHECK(compiled.train(x, y, p_train) == doctest::Approx(expected).epsilon(1e-6));
    CHECK(p_test.to_vector() == p_train.to_vector());
  }
  nn::EagerStep eager(m);
  CHECK(eager.test(x, y, p_test) == doctest::Approx(expected).epsilon(1e-6));
}

// The executor times each SGD weight-gradient GEMM folded and separate on its first runs; the
// step's description says which form each layer's kernel runs in once that is decided.
TEST_CASE("describe reports the form chosen for each SGD weight-gradient GEMM once it is timed") {
  Data d = clusters(32, 6);
  nn::Sequential m = model_with(nn::SGD(0.1));
  nn::CompiledStep step(m);
  Tensor p;
  step.train(d.x, d.labels, p);
  const char* heading = "GEMM forms (SGD folded into the GEMM, or a plain GEMM and the update):\n";
  CHECK(step.describe(d.x.shape()).find(heading) == std::string::npos);
  // Auto mode: 3 timed runs of each order, then 3 of each form (graph::ExecutorOptions).
  for (int i = 0; i < 12; ++i) step.train(d.x, d.labels, p);
  REQUIRE(step.train_executor(d.x.shape()) == step.last_train_executor());
  CHECK(step.train_executor({5, 6}) == nullptr);
  REQUIRE(step.last_train_executor()->gemm_forms_decided());
  std::string text = step.describe(d.x.shape());
  size_t at = text.find(heading);
  REQUIRE(at != std::string::npos);
  CHECK(text.find("fusion report:") < at);
  std::string forms = text.substr(at + std::string(heading).size());
  CHECK(forms == step.last_train_executor()->gemm_form_report());
  // One line per Dense kernel, each naming it and the form it runs in.
  int lines = 0;
  for (size_t pos = 0; (pos = forms.find('\n', pos)) != std::string::npos; ++pos) ++lines;
  CHECK(lines == 3);
  CHECK(forms.find("/kernel [6,16]") != std::string::npos);
  CHECK(forms.find("/kernel [16,8]") != std::string::npos);
  CHECK(forms.find("/kernel [8,3]") != std::string::npos);
}
