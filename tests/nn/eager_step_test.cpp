#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/nn/eager_step.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"

namespace {
using ad::Tensor;

// A model whose logits for one sample are exactly [big, 0]: x = [1], kernel = [big, 0], bias 0.
nn::Sequential confident_model(float big, const std::string& loss, float lr) {
  nn::Sequential model({nn::Dense(2, {.activation = "softmax", .input_shape = {1}})});
  model.compile({.loss = loss, .optimizer = nn::SGD(lr)});
  model.build({1});
  model.set_weights({Tensor::from({1, 2}, {big, 0}), Tensor::zeros({2})});
  model.optimizer()->build(model.trainable_weights());
  return model;
}
}  // namespace

TEST_CASE("softmax cross-entropy is stable for logits of 1e4") {
  // The label is the class the model is sure is wrong: the exact loss is 1e4, which the
  // probabilities (0 for that class) cannot give; the logits can.
  nn::Sequential model = confident_model(1e4f, "sparse_categorical_crossentropy", 1e-5f);
  nn::EagerStep step(model);
  Tensor predictions;
  float loss = step.train(Tensor::from({1, 1}, {1}), Tensor::from({1}, {1}), predictions);
  CHECK(loss == doctest::Approx(1e4).epsilon(1e-6));
  // predictions are probabilities, not logits
  CHECK(predictions[0] == doctest::Approx(1));
  CHECK(predictions[1] == doctest::Approx(0));
  // gradient softmax - onehot = [1, -1] on the kernel: w -= lr [1, -1]
  auto w = model.get_weights();
  CHECK(w[0][0] == doctest::Approx(1e4 - 1e-5).epsilon(1e-9));
  CHECK(w[0][1] == doctest::Approx(1e-5).epsilon(1e-3));
  CHECK(w[1][1] == doctest::Approx(1e-5).epsilon(1e-3));
}

TEST_CASE("the loss from logits equals the loss from probabilities where both are exact") {
  // Moderate logits [2, 0]: -ln softmax_1 = ln(1 + e^2).
  for (const char* loss_name : {"sparse_categorical_crossentropy", "categorical_crossentropy"}) {
    std::string shown = loss_name;
    CAPTURE(shown);
    nn::Sequential model = confident_model(2, loss_name, 0);
    CHECK(model.training_loss().on_logits);
    nn::EagerStep step(model);
    Tensor predictions, y = shown[0] == 's' ? Tensor::from({1}, {1}) : Tensor::from({1, 2}, {0, 1});
    float loss = step.train(Tensor::from({1, 1}, {1}), y, predictions);
    CHECK(loss == doctest::Approx(std::log(1 + std::exp(2.0))).epsilon(1e-6));
    nn::Logs evaluated = model.evaluate(Tensor::from({1, 1}, {1}), y);
    CHECK(evaluated.at("loss") == doctest::Approx(loss).epsilon(1e-5));
  }
}

TEST_CASE("a sigmoid output trained with binary cross-entropy uses its logits") {
  nn::Sequential model({nn::Dense(1, {.activation = "sigmoid", .input_shape = {1}})});
  model.compile({.loss = "binary_crossentropy", .optimizer = nn::SGD(0)});
  model.build({1});
  model.set_weights({Tensor::from({1, 1}, {-200}), Tensor::zeros({1})});
  auto plan = model.training_loss();
  CHECK(plan.on_logits);
  CHECK(plan.activation == "sigmoid");
  nn::EagerStep step(model);
  Tensor predictions;
  // logit -200, target 1: the loss is softplus(200) = 200, beyond what a clipped probability gives
  float loss = step.train(Tensor::from({1, 1}, {1}), Tensor::from({1, 1}, {1}), predictions);
  CHECK(loss == doctest::Approx(200).epsilon(1e-6));
  CHECK(predictions[0] < 1e-30f);
}

TEST_CASE("the eager step reuses one tape and leaves no gradient between steps") {
  nn::Sequential model({nn::Dense(4, {.activation = "relu", .input_shape = {3}}), nn::Dense(1)});
  model.compile({.loss = "mse", .optimizer = nn::SGD(0.01)});
  model.build({3}, 1);
  model.optimizer()->build(model.trainable_weights());
  nn::EagerStep step(model);
  CHECK(std::string(step.kind()) == "eager");
  ad::Rng rng(3);
  Tensor x = Tensor::uniform({8, 3}, -1, 1, rng), y = Tensor::uniform({8, 1}, -1, 1, rng), predictions;
  float first = step.train(x, y, predictions);
  CHECK(ad::Tape::active()->size() == 0);  // cleared after the step
  // Same batch again with a tiny learning rate: gradients do not pile up across steps, so the
  // loss moves by a step's worth only.
  float second = step.train(x, y, predictions);
  CHECK(second < first);
  CHECK(first - second < 0.1f * first);
  CHECK(predictions.shape() == ad::Shape{8, 1});
  Tensor p = step.predict(x);
  CHECK(p.shape() == ad::Shape{8, 1});
}
