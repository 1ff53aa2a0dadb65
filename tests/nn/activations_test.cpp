#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/nn/activations.h"

TEST_CASE("activations by name compute their functions") {
  ad::Var x = ad::constant(ad::Tensor::from({1, 3}, {-1, 0, 2}));
  struct Case {
    std::string name;
    float expected[3];
  };
  const float e = std::exp(1.f), e2 = std::exp(2.f);
  const Case cases[] = {
      {"relu", {0, 0, 2}},
      {"sigmoid", {1 / (1 + e), 0.5f, 1 / (1 + 1 / e2)}},
      {"logistic", {1 / (1 + e), 0.5f, 1 / (1 + 1 / e2)}},
      {"tanh", {std::tanh(-1.f), 0, std::tanh(2.f)}},
      {"softplus", {std::log(1 + 1 / e), std::log(2.f), std::log(1 + e2)}},
      {"softmax", {1 / e / (1 / e + 1 + e2), 1 / (1 / e + 1 + e2), e2 / (1 / e + 1 + e2)}},
      {"linear", {-1, 0, 2}},
      {"", {-1, 0, 2}},
      {"none", {-1, 0, 2}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    ad::Tensor y = nn::activation(c.name, x).value();
    for (int i = 0; i < 3; ++i) CHECK(y[i] == doctest::Approx(c.expected[i]).epsilon(1e-5));
  }
}

TEST_CASE("aliases are stored under one spelling") {
  CHECK(nn::canonical_activation("logistic") == "sigmoid");
  CHECK(nn::canonical_activation("") == "linear");
  CHECK(nn::canonical_activation("none") == "linear");
  CHECK(nn::canonical_activation("tanh") == "tanh");
}

TEST_CASE("an unknown activation is an error listing the known ones") {
  CHECK_THROWS_WITH_AS(nn::activation_function("gelu"),
                       doctest::Contains("unknown activation 'gelu'; known: linear, none, relu, sigmoid, logistic, "
                                         "tanh, softplus, softmax"),
                       ad::Error);
}
