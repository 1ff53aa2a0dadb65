#include <doctest/doctest.h>

#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/mlp.h"
#include "tapegrad/nn/optimizers/adam.h"

TEST_CASE("MLP builders stack the hidden layers and the task's output layer") {
  struct Case {
    std::string what;
    nn::Sequential model;
    int64_t outputs;
    std::string output_activation, loss;
  };
  Case cases[] = {
      {"regression", nn::MLP::regression({.inputs = 8, .hidden = {30, 30}, .outputs = 2, .output_activation = "softplus"}),
       2, "softplus", nn::MLP::loss_for(nn::MLP::Task::Regression)},
      {"binary", nn::MLP::binary_classification({.inputs = 8, .hidden = {30, 30}}), 1, "sigmoid",
       nn::MLP::loss_for(nn::MLP::Task::BinaryClassification)},
      {"multilabel", nn::MLP::multilabel_classification({.inputs = 8, .hidden = {30, 30}, .labels = 4}), 4, "sigmoid",
       nn::MLP::loss_for(nn::MLP::Task::MultilabelClassification)},
      {"multiclass", nn::MLP::multiclass_classification({.inputs = 8, .hidden = {30, 30}, .classes = 5}), 5,
       "softmax", nn::MLP::loss_for(nn::MLP::Task::MulticlassClassification)},
  };
  const char* losses[] = {"mse", "binary_crossentropy", "binary_crossentropy", "sparse_categorical_crossentropy"};
  for (size_t i = 0; i < 4; ++i) {
    Case& c = cases[i];
    CAPTURE(c.what);
    REQUIRE(c.model.layers().size() == 3);  // two hidden, output: the InputLayer is apart, as in Keras
    REQUIRE(c.model.input_layer() != nullptr);
    CHECK(c.model.layer(0).output_activation() == "relu");
    CHECK(c.model.layer(1).output_activation() == "relu");
    CHECK(c.model.layer(2).output_activation() == c.output_activation);
    CHECK(c.loss == losses[i]);
    c.model.build({8});
    CHECK(c.model.output_shape() == ad::Shape{c.outputs});
    CHECK(c.model.parameter_count() == 8 * 30 + 30 + 30 * 30 + 30 + 30 * c.outputs + c.outputs);
  }
}

TEST_CASE("an MLP regression learns a linear function") {
  ad::Rng rng(4);
  ad::Tensor x = ad::Tensor::uniform({64, 2}, -1, 1, rng), y = ad::Tensor::empty({64, 1});
  for (int64_t i = 0; i < 64; ++i) y[i] = 3 * x.at({i, 0}) - x.at({i, 1}) + 0.5f;
  nn::Sequential model = nn::MLP::regression({.inputs = 2, .hidden = {16}});
  model.compile({.loss = nn::MLP::loss_for(nn::MLP::Task::Regression), .optimizer = nn::Adam(0.02)});
  nn::History h = model.fit(x, y, {.epochs = 60, .batch_size = 16, .seed = 1, .verbose = 0});
  CHECK(h["loss"].back() < 0.02 * h["loss"].front());
}

TEST_CASE("MLP builders reject impossible sizes and a softmax regression") {
  CHECK_THROWS_WITH_AS(nn::MLP::regression({.inputs = 0}), doctest::Contains("inputs must be positive, got 0"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::MLP::regression({.inputs = 2, .hidden = {4, 0}}),
                       doctest::Contains("hidden layer 1 must have a positive width, got 0"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::MLP::regression({.inputs = 2, .output_activation = "softmax"}),
                       doctest::Contains("output_activation must be linear"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::MLP::multiclass_classification({.inputs = 2, .classes = 1}),
                       doctest::Contains("at least 2 classes, got 1"), ad::Error);
}
