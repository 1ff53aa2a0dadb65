// An optimizer's slots belong to one model's weights: a second model trained with the same
// optimizer object is refused (Keras refuses it too) instead of silently sharing its momentum.
#include <doctest/doctest.h>

#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "tapegrad/nn/sequential.h"

TEST_CASE("one optimizer object shared by two models is refused when the second one trains") {
  ad::Rng rng(3);
  ad::Tensor x = ad::Tensor::uniform({16, 4}, -1, 1, rng), y = ad::Tensor::uniform({16, 2}, -1, 1, rng);
  nn::OptimizerRef shared = nn::SGD(0.1, {.momentum = 0.9});
  auto make = [&](nn::OptimizerRef optimizer) {
    nn::Sequential m({nn::Dense(3, "tanh"), nn::Dense(2)});
    m.build({4}, 5);
    m.compile({.loss = "mse", .optimizer = std::move(optimizer)});
    return m;
  };
  nn::Sequential a = make(shared), b = make(shared);
  a.fit(x, y, {.epochs = 1, .verbose = 0, .eager = true});
  REQUIRE(a.optimizer() == b.optimizer());  // compile keeps the object it is given, as Keras
  CHECK_THROWS_WITH_AS(b.fit(x, y, {.epochs = 1, .verbose = 0, .eager = true}),
                       doctest::Contains("another model's weights"), ad::Error);
  CHECK_THROWS_WITH_AS(b.fit(x, y, {.epochs = 1, .verbose = 0}), doctest::Contains("another model's weights"),
                       ad::Error);
  // The same model training again keeps its own slots.
  CHECK_NOTHROW(a.fit(x, y, {.epochs = 1, .verbose = 0}));
}
