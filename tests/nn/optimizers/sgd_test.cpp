#include <doctest/doctest.h>

#include "tapegrad/nn/optimizers/sgd.h"
#include "two_steps.h"

TEST_CASE("SGD's first two updates follow Keras' rules for plain, momentum and Nesterov momentum") {
  struct Case {
    std::string name;
    nn::SGDOptions options;
    float first, second;  // w = 1, lr = 0.1, g = 0.5 then -0.2
  };
  const Case cases[] = {
      {"plain: w -= lr g", {}, 0.95f, 0.97f},
      // v = 0.9 v - lr g: v1 = -0.05, v2 = -0.025; w += v
      {"momentum", {.momentum = 0.9}, 0.95f, 0.925f},
      // w += 0.9 v - lr g: 1 - 0.045 - 0.05 = 0.905, then 0.905 - 0.0225 + 0.02 = 0.9025
      {"nesterov", {.momentum = 0.9, .nesterov = true}, 0.905f, 0.9025f},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    nn::SGD sgd(0.1, c.options);
    auto w = two_steps(sgd);
    CHECK(w[0] == doctest::Approx(c.first).epsilon(1e-6));
    CHECK(w[1] == doctest::Approx(c.second).epsilon(1e-6));
    CHECK(sgd.iterations == 2);
  }
}

TEST_CASE("SGD keeps a momentum slot only when momentum is used, as Keras does") {
  ad::Var w = ad::param(ad::Tensor::zeros({3, 2}));
  nn::SGD plain(0.1), heavy(0.1, {.momentum = 0.5});
  plain.build({w});
  heavy.build({w});
  CHECK(plain.slot_names(0).empty());
  REQUIRE(heavy.slot_names(0) == std::vector<std::string>{"momentum"});
  CHECK(heavy.slot(0, "momentum").shape() == ad::Shape{3, 2});
}

TEST_CASE("SGD rejects a negative learning rate and a momentum outside [0, 1]") {
  CHECK_THROWS_WITH_AS(nn::SGD(-0.1), doctest::Contains("learning_rate"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::SGD(0.1, {.momentum = 1.5}), doctest::Contains("momentum must be in [0, 1], got 1.5"),
                       ad::Error);
}

TEST_CASE("SGD's config names its hyper-parameters as Keras does") {
  nn::Json c = nn::SGD(0.05, {.momentum = 0.9, .nesterov = true}).get_config();
  CHECK(c["type"] == "SGD");
  CHECK(c["learning_rate"] == 0.05);
  CHECK(c["momentum"] == 0.9);
  CHECK(c["nesterov"] == true);
}
