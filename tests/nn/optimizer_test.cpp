#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tapegrad/nn/compiled_step.h"
#include "tapegrad/nn/eager_step.h"
#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/optimizer.h"
#include "tapegrad/nn/sequential.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/rmsprop.h"
#include "tapegrad/nn/optimizers/sgd.h"

TEST_CASE("optimizers are found by their Keras names in any case") {
  const std::pair<const char*, const char*> cases[] = {{"sgd", "SGD"}, {"Adam", "Adam"}, {"RMSPROP", "RMSprop"}};
  for (auto [name, type] : cases) {
    std::string shown = name;
    CAPTURE(shown);
    nn::OptimizerRef ref(name);
    CHECK(ref.get()->type() == type);
  }
  CHECK(nn::OptimizerRef("adam").get()->learning_rate == doctest::Approx(0.001));
  CHECK_THROWS_WITH_AS(nn::OptimizerRef("adagrad"),
                       doctest::Contains("unknown optimizer 'adagrad'; known: sgd, adam, rmsprop"), ad::Error);
}

TEST_CASE("an optimizer rebuilt from its config has the same settings and iteration count") {
  std::vector<nn::OptimizerPtr> optimizers = {
      std::make_shared<nn::SGD>(0.02, nn::SGDOptions{.momentum = 0.8, .nesterov = true}),
      std::make_shared<nn::Adam>(0.003, nn::AdamOptions{.beta_1 = 0.8, .beta_2 = 0.99, .epsilon = 1e-6}),
      std::make_shared<nn::RMSprop>(0.004, nn::RMSpropOptions{.rho = 0.8, .momentum = 0.1, .epsilon = 1e-5}),
  };
  for (const nn::OptimizerPtr& o : optimizers) {
    CAPTURE(o->type());
    o->iterations = 7;
    nn::OptimizerPtr again = nn::optimizer_from_config(o->get_config());
    CHECK(again->type() == o->type());
    CHECK(again->get_config() == o->get_config());
    CHECK(again->iterations == 7);
  }
}

TEST_CASE("optimizer_from_config names an unknown type and a mistyped field") {
  CHECK_THROWS_WITH_AS(nn::optimizer_from_config({{"type", "Adagrad"}}), doctest::Contains("unknown optimizer type 'Adagrad'"),
                       ad::Error);
  CHECK_THROWS_WITH_AS(nn::optimizer_from_config({{"type", "SGD"}, {"learning_rate", "fast"}}),
                       doctest::Contains("field 'learning_rate' must be a number"), ad::Error);
}

TEST_CASE("a cloned optimizer has its own slots") {
  ad::Var w = ad::param(ad::Tensor::zeros({2}));
  nn::Adam adam;
  adam.build({w});
  auto copy = adam.clone();
  copy->slot(0, "m").fill(1);  // Tensor copies share storage: clone must not leave them shared
  CHECK(adam.slot(0, "m")[0] == 0.f);
}

TEST_CASE("a learning rate that a float cannot hold is refused, since the updates run in float") {
  for (double lr : {1e39, -1.0, std::numeric_limits<double>::infinity(), std::nan("")}) {
    CAPTURE(lr);
    CHECK_THROWS_WITH_AS(nn::SGD{lr}, doctest::Contains("SGD: learning_rate must be a number >= 0 that a float holds"),
                         ad::Error);
    CHECK_THROWS_WITH_AS(nn::Adam{lr}, doctest::Contains("Adam: learning_rate must be"), ad::Error);
    CHECK_THROWS_WITH_AS(nn::RMSprop{lr}, doctest::Contains("RMSprop: learning_rate must be"), ad::Error);
  }
  CHECK(nn::SGD{3e38}.learning_rate == 3e38);  // the largest floats are still taken
}

namespace {
// The compiled or the eager training step of `model`.
std::unique_ptr<nn::StepRunner> step_for(nn::Model& model, bool compiled) {
  if (compiled) return std::make_unique<nn::CompiledStep>(model);
  return std::make_unique<nn::EagerStep>(model);
}
}  // namespace

TEST_CASE("an optimizer whose iterations were set below 0 refuses to update, naming itself, eagerly and compiled") {
  // Adam's bias correction needs t = iterations + 1 >= 1; the others refuse it too, so that a
  // corrupt count never trains on silently in one path and fails in the other.
  for (const char* name : {"sgd", "adam", "rmsprop"}) {
    for (bool compiled : {false, true}) {
      nn::Sequential model({nn::Dense(2, "relu"), nn::Dense(1)});
      model.build({3}, 1);
      model.compile({.loss = "mse", .optimizer = name});
      model.optimizer()->iterations = -1;
      std::string type = model.optimizer()->type();
      CAPTURE(type);
      CAPTURE(compiled);
      ad::Tensor x = ad::Tensor::full({4, 3}, 0.5f), y = ad::Tensor::full({4, 1}, 1.f), predictions;
      std::unique_ptr<nn::StepRunner> step = step_for(model, compiled);
      const std::string expected = type + ": iterations is -1; it counts the updates applied so far";
      CHECK_THROWS_WITH_AS(step->train(x, y, predictions), doctest::Contains(expected.c_str()), ad::Error);
      model.optimizer()->iterations = 0;
      CHECK(std::isfinite(step->train(x, y, predictions)));
      CHECK(model.optimizer()->iterations == 1);
    }
  }
}

TEST_CASE("a learning rate set directly to what a float cannot hold is refused at the next update, eagerly and compiled") {
  // The field is public (callbacks set it); the constructors' check runs again at each update.
  for (double lr : {1e39, -0.5, std::nan("")}) {
    for (bool compiled : {false, true}) {
      nn::Sequential model({nn::Dense(1)});
      model.build({2}, 1);
      model.compile({.loss = "mse", .optimizer = "adam"});
      model.optimizer()->learning_rate = lr;
      CAPTURE(lr);
      CAPTURE(compiled);
      ad::Tensor x = ad::Tensor::full({4, 2}, 0.5f), y = ad::Tensor::full({4, 1}, 1.f), predictions;
      std::unique_ptr<nn::StepRunner> step = step_for(model, compiled);
      CHECK_THROWS_WITH_AS(step->train(x, y, predictions),
                           doctest::Contains("Adam: learning_rate is"), ad::Error);
      CHECK(model.optimizer()->iterations == 0);
    }
  }
}
