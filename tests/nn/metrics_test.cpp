#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/nn/metrics.h"

namespace {
using ad::Tensor;
}

TEST_CASE("accuracy is chosen from the shapes alone, as Keras chooses it") {
  // Outputs for 4 samples of 3 classes: argmax 0, 1, 2, 1.
  Tensor proba = Tensor::from({4, 3}, {0.6f, 0.3f, 0.1f, 0.2f, 0.5f, 0.3f, 0.1f, 0.1f, 0.8f, 0.3f, 0.4f, 0.3f});
  Tensor labels = Tensor::from({4}, {0, 1, 0, 1});  // 3 of 4 right
  Tensor onehot = Tensor::from({4, 3}, {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0});
  SUBCASE("sparse labels [n]") {
    auto m = nn::make_metric("accuracy", {3}, {4});
    m->update(proba, labels);
    CHECK(m->result() == doctest::Approx(0.75));
  }
  SUBCASE("sparse labels [n,1]") {
    auto m = nn::make_metric("accuracy", {3}, {4, 1});
    m->update(proba, labels.reshape({4, 1}));
    CHECK(m->result() == doctest::Approx(0.75));
  }
  SUBCASE("one-hot targets") {
    auto m = nn::make_metric("accuracy", {3}, {4, 3});
    m->update(proba, onehot);
    CHECK(m->result() == doctest::Approx(0.75));
  }
  SUBCASE("one sigmoid output thresholds at 0.5") {
    auto m = nn::make_metric("accuracy", {1}, {4, 1});
    m->update(Tensor::from({4, 1}, {0.9f, 0.4f, 0.51f, 0.2f}), Tensor::from({4, 1}, {1, 1, 1, 0}));
    CHECK(m->result() == doctest::Approx(0.75));
  }
  SUBCASE("several outputs with targets of their shape take the arg-max, as Keras does, also multi-label") {
    auto m = nn::make_metric("accuracy", {2}, {2, 2});
    m->update(Tensor::from({2, 2}, {0.9f, 0.8f, 0.1f, 0.3f}), Tensor::from({2, 2}, {1, 0, 1, 0}));
    CHECK(m->result() == doctest::Approx(0.5));  // arg-max 0 right, arg-max 1 wrong (binary: 0.75)
  }
  SUBCASE("binary_accuracy by name counts each label of multi-label outputs") {
    auto m = nn::make_metric("binary_accuracy", {2}, {2, 2});
    m->update(Tensor::from({2, 2}, {0.9f, 0.8f, 0.1f, 0.3f}), Tensor::from({2, 2}, {1, 0, 1, 0}));
    CHECK(m->result() == doctest::Approx(0.5));  // (0.5 + 0.5) / 2
  }
}

TEST_CASE("metrics average over all samples of the epoch, not over batches") {
  auto m = nn::make_metric("mae", {1}, {4, 1});
  m->update(Tensor::from({1, 1}, {3}), Tensor::from({1, 1}, {0}));           // one sample, error 3
  m->update(Tensor::from({3, 1}, {1, 1, 1}), Tensor::from({3, 1}, {0, 0, 0}));  // three samples, error 1
  CHECK(m->result() == doctest::Approx(1.5));  // (3 + 1 + 1 + 1) / 4, not (3 + 1) / 2
  m->reset();
  CHECK(m->result() == 0.0);
}

TEST_CASE("mse and mae metrics match values worked out by hand") {
  Tensor p = Tensor::from({2, 2}, {1, 2, 3, 4}), t = Tensor::from({2, 2}, {0, 0, 3, 2});
  auto mse = nn::make_metric("mse", {2}, {2, 2});
  auto mae = nn::make_metric("mean_absolute_error", {2}, {2, 2});
  mse->update(p, t);
  mae->update(p, t);
  CHECK(mse->result() == doctest::Approx((1 + 4 + 0 + 4) / 4.0));
  CHECK(mae->result() == doctest::Approx((1 + 2 + 0 + 2) / 4.0));
  CHECK(mse->name() == "mse");
  CHECK(mae->name() == "mean_absolute_error");
}

TEST_CASE("an unknown metric name lists the known ones") {
  CHECK_THROWS_WITH_AS(nn::check_metric_name("f1"), doctest::Contains("unknown metric 'f1'; known: accuracy"), ad::Error);
}

// A NaN row would otherwise be read as class 0 (every comparison with NaN is false), and be
// counted right whenever the label is 0.
TEST_CASE("a prediction holding a NaN counts as wrong in every accuracy, and makes mae and mse NaN") {
  Tensor proba = Tensor::from({2, 3}, {NAN, 0.3f, 0.1f, 0.2f, 0.5f, 0.3f});  // row 0 NaN, row 1 argmax 1
  Tensor labels = Tensor::from({2}, {0, 1}), onehot = Tensor::from({2, 3}, {1, 0, 0, 0, 1, 0});
  auto sparse_accuracy = nn::make_metric("sparse_categorical_accuracy", {3}, {2});
  sparse_accuracy->update(proba, labels);
  CHECK(sparse_accuracy->result() == doctest::Approx(0.5));
  auto categorical_accuracy = nn::make_metric("categorical_accuracy", {3}, {2, 3});
  categorical_accuracy->update(proba, onehot);
  CHECK(categorical_accuracy->result() == doctest::Approx(0.5));
  auto binary_accuracy = nn::make_metric("binary_accuracy", {1}, {2, 1});
  binary_accuracy->update(Tensor::from({2, 1}, {NAN, 0.2f}), Tensor::from({2, 1}, {0, 0}));
  CHECK(binary_accuracy->result() == doctest::Approx(0.5));
  for (const char* name : {"mae", "mse"}) {
    auto m = nn::make_metric(name, {1}, {2, 1});
    m->update(Tensor::from({2, 1}, {NAN, 0.2f}), Tensor::from({2, 1}, {0, 0}));
    CHECK(std::isnan(m->result()));
  }
}
