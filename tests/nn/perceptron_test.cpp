#include "tapegrad/nn/perceptron.h"

#include "tapegrad/datasets/iris.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <functional>

using ad::Tensor;
using nn::Perceptron;

namespace {

const Tensor kTwoBits = Tensor::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});

// n points in [-1,1]^2 labelled by the side of the line x0 + 2 x1 = 0.3 they lie on, none
// closer to it than 0.05: linearly separable with a margin.
std::pair<Tensor, Tensor> separable_points(int n, uint64_t seed) {
  ad::Rng rng(seed);
  Tensor X({n, 2}), y({n});
  for (int i = 0; i < n;) {
    float a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    float side = a + 2 * b - 0.3f;
    if (std::abs(side) < 0.05f * std::sqrt(5.f)) continue;
    X.at({i, 0}) = a;
    X.at({i, 1}) = b;
    y[i] = side > 0;
    ++i;
  }
  return {X, y};
}

}  // namespace

TEST_CASE("the perceptron learns AND through the updates Rosenblatt's rule gives by hand") {
  // Worked on paper from zero weights, samples in order, output 1 where w.x + b >= 0:
  // mistakes per epoch 2, 3, 3, 2, 1, 0, ending at w = (2, 1), b = -3.
  Perceptron perceptron({.shuffle = false});
  perceptron.fit(kTwoBits, Tensor::from({4}, {0, 0, 0, 1}));
  CHECK(perceptron.converged());
  CHECK(perceptron.epochs_run() == 6);
  CHECK(perceptron.errors_per_epoch() == std::vector<int64_t>{2, 3, 3, 2, 1, 0});
  CHECK(perceptron.coef().shape() == ad::Shape{1, 2});
  CHECK(perceptron.coef().to_vector() == std::vector<float>{2, 1});
  CHECK(perceptron.intercept().to_vector() == std::vector<float>{-3});
  CHECK(perceptron.training_errors() == 0);
  CHECK(perceptron.predict(kTwoBits).to_vector() == std::vector<float>{0, 0, 0, 1});
  CHECK(perceptron.decision_function(kTwoBits).to_vector() == std::vector<float>{-3, -2, -1, 0});
  CHECK(perceptron.report().find("converged after 6 epochs") != std::string::npos);
}

TEST_CASE("the perceptron converges with no training mistake on a linearly separable set") {
  auto [X, y] = separable_points(200, 7);
  for (bool shuffle : {false, true}) {
    CAPTURE(shuffle);
    Perceptron perceptron({.tol = std::nullopt, .shuffle = shuffle, .random_state = 3});
    perceptron.fit(X, y);
    CHECK(perceptron.converged());
    CHECK(perceptron.training_errors() == 0);
    CHECK(perceptron.score(X, y) == 1.0);
    // The learned line, read back from coef() and intercept(), puts every point on its side.
    for (int i = 0; i < 200; ++i) {
      double z = perceptron.intercept()[0] + perceptron.coef()[0] * X.at({i, 0}) + perceptron.coef()[1] * X.at({i, 1});
      CHECK((z >= 0) == (y[i] == 1));
    }
  }
}

TEST_CASE("the perceptron separates Iris setosa from the other species on petal length and width") {
  const datasets::Iris iris = datasets::load_iris();
  Tensor petals({150, 2}), is_setosa({150});
  for (int64_t i = 0; i < 150; ++i) {
    petals.at({i, 0}) = iris.features.at({i, 2});
    petals.at({i, 1}) = iris.features.at({i, 3});
    is_setosa[i] = iris.labels[i] == 0;
  }
  for (uint64_t seed : {0, 1, 42}) {
    CAPTURE(seed);
    Perceptron perceptron({.random_state = seed});
    perceptron.fit(petals, is_setosa);
    CHECK(perceptron.converged());
    CHECK(perceptron.score(petals, is_setosa) == 1.0);
    // A small petal (setosa's are 1-1.9 cm long) and a large one (virginica's reach 6.9 cm).
    CHECK(perceptron.predict(Tensor::from({2, 2}, {1.5f, 0.3f, 6, 2.2f})).to_vector() == std::vector<float>{1, 0});
  }
}

TEST_CASE("the perceptron cannot learn XOR and says it did not converge") {
  const Tensor y = Tensor::from({4}, {0, 1, 1, 0});
  SUBCASE("stopped by tol") {
    Perceptron perceptron;
    perceptron.fit(kTwoBits, y);
    CHECK_FALSE(perceptron.converged());
    CHECK(perceptron.epochs_run() < 1000);
    CHECK(perceptron.report().find("did not converge") != std::string::npos);
    CHECK(perceptron.report().find("tol = 0.001") != std::string::npos);
    // No line classifies more than three of XOR's four points.
    CHECK(perceptron.score(kTwoBits, y) <= 0.75);
    CHECK(perceptron.training_errors() >= 1);
    CHECK(perceptron.report().find(fmt::format("get {} of 4 training samples wrong", perceptron.training_errors())) !=
          std::string::npos);
  }
  SUBCASE("stopped by max_iter") {
    Perceptron perceptron({.max_iter = 50, .tol = std::nullopt});
    perceptron.fit(kTwoBits, y);
    CHECK_FALSE(perceptron.converged());
    CHECK(perceptron.epochs_run() == 50);
    CHECK(perceptron.errors_per_epoch().size() == 50);
    CHECK(perceptron.report().find("max_iter = 50") != std::string::npos);
  }
}

TEST_CASE("each output of a multi-output perceptron learns as a perceptron of its own would") {
  const Tensor and_or = Tensor::from({4, 2}, {0, 0, 0, 1, 0, 1, 1, 1});
  Perceptron both({.random_state = 5});
  both.fit(kTwoBits, and_or);
  CHECK(both.converged());
  CHECK(both.coef().shape() == ad::Shape{2, 2});
  CHECK(both.intercept().shape() == ad::Shape{2});
  Tensor predicted = both.predict(kTwoBits);
  CHECK(predicted.shape() == ad::Shape{4, 2});
  CHECK(predicted.to_vector() == and_or.to_vector());
  CHECK(both.score(kTwoBits, and_or) == 1.0);
  for (int64_t output : {0, 1}) {
    Tensor column({4});
    for (int64_t i = 0; i < 4; ++i) column[i] = and_or.at({i, output});
    Perceptron alone({.random_state = 5});
    alone.fit(kTwoBits, column);
    CAPTURE(output);
    CHECK(alone.coef()[0] == both.coef().at({output, 0}));
    CHECK(alone.coef()[1] == both.coef().at({output, 1}));
    CHECK(alone.intercept()[0] == both.intercept()[output]);
  }
}

TEST_CASE("the sign activation learns -1/+1 targets with steps of 2 eta") {
  // By hand: x = 1 gives 0 -> +1 (right); x = -1 gives 0 -> +1 (wrong), so w and b move by
  // eta (-1 - 1) = -2 each: w = 2, b = -2, which separates both points in epoch 2.
  const Tensor X = Tensor::from({2, 1}, {1, -1});
  const Tensor y = Tensor::from({2}, {1, -1});
  Perceptron perceptron({.shuffle = false, .activation = nn::ThresholdFunction::sign});
  perceptron.fit(X, y);
  CHECK(perceptron.converged());
  CHECK(perceptron.epochs_run() == 2);
  CHECK(perceptron.coef().to_vector() == std::vector<float>{2});
  CHECK(perceptron.intercept().to_vector() == std::vector<float>{-2});
  CHECK(perceptron.predict(Tensor::from({3, 1}, {5, -5, 1})).to_vector() == std::vector<float>{1, -1, 1});
}

TEST_CASE("without fit_intercept the boundary goes through the origin") {
  auto [X, y] = separable_points(50, 11);
  Perceptron perceptron({.fit_intercept = false});
  perceptron.fit(X, y);
  CHECK(perceptron.intercept().to_vector() == std::vector<float>{0});
}

TEST_CASE("the same random_state gives the same weights") {
  auto [X, y] = separable_points(100, 2);
  Perceptron first({.random_state = 42}), second({.random_state = 42});
  first.fit(X, y);
  second.fit(X, y);
  CHECK(first.coef().to_vector() == second.coef().to_vector());
  CHECK(first.errors_per_epoch() == second.errors_per_epoch());
}

TEST_CASE("the perceptron rejects bad shapes, targets, values and options with the function's name") {
  const Tensor y = Tensor::from({4}, {0, 0, 0, 1});
  struct Case {
    const char* name;
    std::function<void()> call;
    const char* message;
  };
  Perceptron fitted({.shuffle = false});
  fitted.fit(kTwoBits, y);
  const Case cases[] = {
      {"X of rank 1", [&] { Perceptron().fit(Tensor::from({4}, {0, 1, 0, 1}), y); },
       "Perceptron::fit: X must be [samples,features], got shape [4]"},
      {"empty X", [&] { Perceptron().fit(Tensor({0, 2}), Tensor({0})); },
       "Perceptron::fit: X must have at least one sample and one feature, got shape [0,2]"},
      {"fewer targets than samples", [&] { Perceptron().fit(kTwoBits, Tensor::from({3}, {0, 1, 0})); },
       "Perceptron::fit: y must be [4] or [4,outputs] to match X's 4 samples, got shape [3]"},
      {"a target of 0.5", [&] { Perceptron().fit(kTwoBits, Tensor::from({4}, {0, 0.5f, 0, 1})); },
       "targets must be 0 or 1 for the heaviside activation, but sample 1 has 0.5"},
      {"a 0 target for sign",
       [&] { Perceptron({.activation = nn::ThresholdFunction::sign}).fit(kTwoBits, y); },
       "targets must be -1 or 1 for the sign activation, but sample 0 has 0"},
      {"a NaN feature", [&] { Perceptron().fit(Tensor::from({1, 2}, {1, NAN}), Tensor::from({1}, {1})); },
       "Perceptron::fit: X[0,1] is nan"},
      {"predict before fit", [&] { Perceptron().predict(kTwoBits); },
       "Perceptron::predict: the perceptron is not fitted yet"},
      {"predict with three features", [&] { fitted.predict(Tensor({1, 3})); },
       "Perceptron::predict: X has 3 features but the perceptron was fit with 2"},
      {"score with two outputs", [&] { fitted.score(kTwoBits, Tensor({4, 2})); },
       "Perceptron::score: y has 2 outputs but the perceptron was fit with 1"},
      {"eta0 of zero", [] { Perceptron({.eta0 = 0}); },
       "Perceptron: eta0 must be a positive number that a float holds (1.4e-45 to 3.4e38), got 0"},
      {"eta0 that rounds to 0 as a float", [] { Perceptron({.eta0 = 1e-46}); },
       "eta0 must be a positive number that a float holds (1.4e-45 to 3.4e38), got 1e-46"},
      {"eta0 beyond a float", [] { Perceptron({.eta0 = 1e39}); }, "eta0 must be a positive number that a float holds"},
      {"max_iter of zero", [] { Perceptron({.max_iter = 0}); }, "max_iter must be at least 1, got 0"},
      {"negative tol", [] { Perceptron({.tol = -1}); }, "tol must be non-negative"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK_THROWS_WITH_AS(c.call(), doctest::Contains(c.message), ad::Error);
  }
}
