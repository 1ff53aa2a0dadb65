#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/rmsprop.h"
#include "two_steps.h"

TEST_CASE("Adam's first two updates follow Keras' bias-corrected form") {
  // lr 0.1, betas 0.9/0.999, eps 1e-7, w = 1, g = 0.5 then -0.2:
  // t=1: m = 0.05, v = 2.5e-4, step = 0.1 sqrt(0.001)/0.1; w = 1 - step m/(sqrt v + eps) = 0.9000006
  // t=2: m = 0.025, v = 2.8975e-4, step = 0.1 sqrt(1-0.999^2)/(1-0.81); w = 0.8654403
  nn::Adam adam(0.1);
  auto w = two_steps(adam);
  CHECK(w[0] == doctest::Approx(0.9000006).epsilon(1e-6));
  CHECK(w[1] == doctest::Approx(0.8654403).epsilon(1e-6));
  CHECK(adam.iterations == 2);
  CHECK(adam.slot(0, "m")[0] == doctest::Approx(0.025).epsilon(1e-6));
  CHECK(adam.slot(0, "v")[0] == doctest::Approx(2.8975e-4).epsilon(1e-5));
}

TEST_CASE("Adam rejects betas outside [0, 1) and a non-positive or infinite epsilon") {
  CHECK_THROWS_WITH_AS(nn::Adam(0.001, {.beta_1 = 1}), doctest::Contains("beta_1 must be in [0, 1), got 1"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::Adam(0.001, {.beta_2 = -0.1}), doctest::Contains("beta_2"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::Adam(0.001, {.epsilon = 0}), doctest::Contains("epsilon must be positive"), ad::Error);
  for (double bad : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    CHECK_THROWS_WITH_AS(nn::Adam(0.001, {.epsilon = bad}), doctest::Contains("Adam: epsilon must be positive and finite"),
                         ad::Error);
    CHECK_THROWS_WITH_AS(nn::RMSprop(0.001, {.epsilon = bad}),
                         doctest::Contains("RMSprop: epsilon must be positive and finite"), ad::Error);
  }
}

TEST_CASE("Adam refuses to update parameters it was not built for") {
  ad::Var a = ad::param(ad::Tensor::zeros({2})), b = ad::param(ad::Tensor::zeros({3}));
  nn::Adam adam;
  adam.build({a});
  CHECK_THROWS_WITH_AS(adam.apply({a, b}), doctest::Contains("built for 1 parameters, given 2"), ad::Error);
  adam.build({a});
  CHECK_THROWS_WITH_AS(adam.apply({b}), doctest::Contains("parameter 0 has shape [3] but its 'm' slot has [2]"),
                       ad::Error);
}
