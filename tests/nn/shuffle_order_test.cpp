// One shuffle for the whole library: fit's batches, Perceptron's visiting order and datasets'
// shuffle, permutation and Batches follow the same order for the same seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

#include "tapegrad/datasets/batches.h"
#include "tapegrad/datasets/shuffle.h"
#include "tapegrad/nn/layers/all.h"
#include "tapegrad/nn/perceptron.h"
#include "tapegrad/nn/sequential.h"

namespace {

using ad::Tensor;
using Order = std::vector<int64_t>;

// Mean squared error that also records the targets of every batch it is given: with target i
// for sample i, fit's batches spell out the order in which it visited the samples.
class RecordingLoss : public nn::MeanSquaredError {
 public:
  explicit RecordingLoss(std::shared_ptr<std::vector<float>> seen) : seen_(std::move(seen)) {}
  ad::Var compute(const ad::Var& prediction, const Tensor& target) const override {
    for (float t : target.to_vector()) seen_->push_back(t);
    return MeanSquaredError::compute(prediction, target);
  }
  nn::LossPtr clone() const override { return std::make_shared<RecordingLoss>(*this); }

 private:
  std::shared_ptr<std::vector<float>> seen_;
};

// Sample i is [i] with target [i], so the targets name the samples.
Tensor numbered(int64_t n) {
  Tensor t({n, 1});
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<float>(i);
  return t;
}

// The sample order of each epoch fit() trains in (eagerly, so the loss sees every batch).
std::vector<Order> fit_orders(int64_t n, int epochs, int batch_size, bool shuffle, uint64_t seed) {
  auto seen = std::make_shared<std::vector<float>>();
  nn::Sequential model({nn::Dense(1, {.input_shape = {1}})});
  model.compile({.loss = nn::LossPtr(std::make_shared<RecordingLoss>(seen)), .optimizer = "sgd"});
  Tensor x = numbered(n);
  model.fit(x, x, {.epochs = epochs, .batch_size = batch_size, .shuffle = shuffle, .seed = seed, .verbose = 0,
                   .eager = true});
  REQUIRE(seen->size() == static_cast<size_t>(n * epochs));
  std::vector<Order> orders(static_cast<size_t>(epochs));
  for (size_t i = 0; i < seen->size(); ++i) orders[i / static_cast<size_t>(n)].push_back(static_cast<int64_t>((*seen)[i]));
  return orders;
}

Order identity(int64_t n) {
  Order out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

struct Weights {
  std::vector<float> coef, intercept;
};

// Rosenblatt's rule written out for one output, visiting the samples epoch by epoch in the
// given orders, with the float updates and double sums that nn::Perceptron documents.
Weights perceptron_by_hand(const Tensor& X, const Tensor& y, const std::vector<Order>& orders) {
  const int64_t features = X.dim(1);
  Weights w{std::vector<float>(static_cast<size_t>(features), 0.f), {0.f}};
  for (const Order& order : orders) {
    for (int64_t i : order) {
      double z = w.intercept[0];
      for (int64_t j = 0; j < features; ++j) z += double(w.coef[static_cast<size_t>(j)]) * X[i * features + j];
      const float output = z >= 0 ? 1.f : 0.f, step = y[i] - output;
      if (step == 0) continue;
      for (int64_t j = 0; j < features; ++j) w.coef[static_cast<size_t>(j)] += step * X[i * features + j];
      w.intercept[0] += step;
    }
  }
  return w;
}

float largest_difference(const Weights& a, const Weights& b) {
  float out = std::abs(a.intercept[0] - b.intercept[0]);
  for (size_t j = 0; j < a.coef.size(); ++j) out = std::max(out, std::abs(a.coef[j] - b.coef[j]));
  return out;
}

}  // namespace

TEST_CASE("fit visits the samples in datasets::permutation's order for its seed, a new order each epoch") {
  const int64_t n = 23;
  for (uint64_t seed : {0u, 7u, 1234u}) {
    CAPTURE(seed);
    std::vector<Order> orders = fit_orders(n, 3, 5, true, seed);
    CHECK(orders[0] == datasets::permutation(n, seed));
    for (const Order& order : orders) {
      Order sorted = order;
      std::sort(sorted.begin(), sorted.end());
      CHECK(sorted == identity(n));
    }
    CHECK(orders[1] != orders[0]);
    CHECK(orders[2] != orders[1]);
    // The later epochs are EpochOrder's, the sequence that Perceptron shares.
    datasets::EpochOrder epochs(n, {.seed = seed});
    for (const Order& order : orders) {
      std::span<const int64_t> expected = epochs.next();
      CHECK(order == Order(expected.begin(), expected.end()));
    }
  }
  SUBCASE("without shuffling, every epoch goes in sample order") {
    for (const Order& order : fit_orders(n, 2, 5, false, 3)) CHECK(order == identity(n));
  }
}

TEST_CASE("datasets::shuffle and shuffled Batches give fit's first-epoch order for the same seed") {
  const int64_t n = 23;
  const uint64_t seed = 42;
  const Order fit_first = fit_orders(n, 1, 4, true, seed)[0];
  const Tensor x = numbered(n);

  Order shuffled;
  for (float v : datasets::shuffle(x, seed).to_vector()) shuffled.push_back(static_cast<int64_t>(v));
  CHECK(shuffled == fit_first);

  Order batched;
  for (auto [xb, yb] : datasets::Batches(x, x, {.batch_size = 4, .shuffle = true, .seed = seed}))
    for (float v : yb.to_vector()) batched.push_back(static_cast<int64_t>(v));
  CHECK(batched == fit_first);
}

TEST_CASE("Perceptron visits the samples in the order fit uses for the same seed, epoch after epoch") {
  // Labels at random: not separable, so every epoch makes mistakes and the weights depend on
  // the order the samples come in.
  const int64_t n = 23;
  const uint64_t seed = 11;
  ad::Rng rng(5);
  Tensor X = Tensor::uniform({n, 2}, -1, 1, rng), y({n});
  for (int64_t i = 0; i < n; ++i) y[i] = rng.uniform(0, 1) < 0.5f ? 0.f : 1.f;

  nn::Perceptron perceptron({.max_iter = 3, .tol = std::nullopt, .random_state = seed});
  perceptron.fit(X, y);
  REQUIRE(perceptron.epochs_run() == 3);
  const Weights trained{perceptron.coef().to_vector(), perceptron.intercept().to_vector()};

  const std::vector<Order> fit_epochs = fit_orders(n, 3, 8, true, seed);
  CHECK(largest_difference(trained, perceptron_by_hand(X, y, fit_epochs)) == 0.f);
  // Guards: the weights do tell orders apart, so the check above can fail.
  CHECK(largest_difference(trained, perceptron_by_hand(X, y, fit_orders(n, 3, 8, true, seed + 1))) > 0.f);
  CHECK(largest_difference(trained, perceptron_by_hand(X, y, {fit_epochs[1], fit_epochs[0], fit_epochs[2]})) > 0.f);
}
