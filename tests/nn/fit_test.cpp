#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "nn/layers/all.h"
#include "nn/optimizers/adam.h"
#include "nn/optimizers/sgd.h"
#include "nn/sequential.h"

namespace {

using ad::Tensor;

// Two Gaussian-free clusters per class on a 784-pixel "image": class c lights up band c, so a
// Fashion-MNIST-shaped model can learn it in a few steps.
struct Synthetic {
  Tensor x, y;
};

Synthetic banded_images(int64_t n, uint64_t seed) {
  ad::Rng rng(seed);
  Synthetic d{Tensor::uniform({n, 28, 28}, 0, 0.3f, rng), Tensor::zeros({n})};
  for (int64_t i = 0; i < n; ++i) {
    auto label = static_cast<int64_t>(rng.next() % 10);
    d.y[i] = static_cast<float>(label);
    for (int64_t col = 0; col < 28; ++col) d.x.at({i, label * 2, col}) += 0.7f;
  }
  return d;
}

nn::Sequential fashion_model() {
  return nn::Sequential({nn::Flatten({28, 28}), nn::Dense(300, "relu"), nn::Dense(100, "relu"),
                         nn::Dense(10, "softmax")});
}

}  // namespace

TEST_CASE("the Fashion MNIST architecture learns a synthetic image set and its loss falls") {
  Synthetic d = banded_images(512, 1);
  nn::Sequential model = fashion_model();
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = nn::SGD(0.05), .metrics = {"accuracy"}});
  nn::History h = model.fit(d.x, d.y, {.epochs = 3, .verbose = 0});
  REQUIRE(h["loss"].size() == 3);
  CHECK(h["loss"][2] < 0.5 * h["loss"][0]);
  CHECK(h["accuracy"][2] > 0.9);
  Tensor proba = model.predict(d.x.rows(0, 3));
  CHECK(proba.shape() == ad::Shape{3, 10});
  for (int64_t i = 0; i < 3; ++i) {
    float total = 0;
    for (int64_t j = 0; j < 10; ++j) total += proba.at({i, j});
    CHECK(total == doctest::Approx(1).epsilon(1e-5));
  }
  nn::Logs test = model.evaluate(d.x, d.y);
  CHECK(test.at("accuracy") > 0.9);
}

TEST_CASE("an MLP of one hidden layer solves XOR") {
  Tensor x = Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
  Tensor y = Tensor::from({4, 1}, {0, 1, 1, 0});
  nn::Sequential model({nn::Dense(8, "tanh"), nn::Dense(1, "sigmoid")});
  model.compile({.loss = "binary_crossentropy", .optimizer = nn::Adam(0.05), .metrics = {"accuracy"}});
  nn::History h = model.fit(x, y, {.epochs = 300, .batch_size = 4, .seed = 3, .verbose = 0});
  CHECK(h["accuracy"].back() == 1.0);
  Tensor p = model.predict(x);
  for (int64_t i = 0; i < 4; ++i) CHECK(std::round(p[i]) == y[i]);
}
