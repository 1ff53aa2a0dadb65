// The node kernels' fast paths (vectorised exponentials, softmax rows in chunks, relu backward
// four rows at a time with bias sums split across threads) checked against the unfused graph,
// on layers large enough to take them.
#include "graph/node_kernels.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "autodiff/threading.h"
#include "mlp.h"

using namespace graph_test;

namespace {

struct Step {
  float loss;
  std::vector<Tensor> weights;  // after the SGD update
};

Step train_once(const Mlp& mlp, const graph::OptimizeOptions& options) {
  auto params = mlp.fresh_params();
  graph::UpdateRule sgd{.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f};
  graph::Graph g = record(mlp, params, sgd);
  graph::optimize(g, options);
  graph::Executor e(std::move(g), {.mode = graph::ExecutionMode::Serial});
  e.bind(graph::Role::Input, 0, mlp.x);
  e.bind(graph::Role::Target, 0, mlp.y);
  for (size_t i = 0; i < params.size(); ++i) e.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
  e.run({.learning_rate = 0.1f});
  Step s{e.loss(), {}};
  for (const Var& p : params) s.weights.push_back(p.value().clone());
  return s;
}

// Restores the default thread count when a case ends, even on a failed check.
struct Threads {
  explicit Threads(int n) { ad::set_num_threads(n); }
  ~Threads() { ad::set_num_threads(0); }
};

// One SGD step of `mlp` unfused and fused: the same loss, and every weight moved (a kernel
// that skipped a layer or a bias would leave it as it was) to the same place.
void check_fused_step_matches_unfused(const Mlp& mlp) {
  Step plain = train_once(mlp, {.fuse_dense = false, .fuse_softmax_crossentropy = false, .fold_sgd = false});
  Step fused = train_once(mlp, {});
  CHECK(fused.loss == doctest::Approx(plain.loss).epsilon(1e-5));
  for (size_t i = 0; i < plain.weights.size(); ++i) {
    CAPTURE(i);
    CHECK(compare(plain.weights[i], mlp.initial[i], 1e-7f, 0.f) != "");
    std::string diff = compare(fused.weights[i], plain.weights[i], 1e-6f, 1e-5f);
    CHECK_MESSAGE(diff.empty(), diff);
  }
}

}  // namespace

TEST_CASE("the fused step updates wide relu layers as the unfused one does, on one thread and on two") {
  // 67 x 300 and 67 x 100 hidden gradients: the first is large enough that the relu backward
  // splits its rows between threads (34 and 33 rows, neither a multiple of the four rows taken
  // at a time), the second runs on one thread with three rows left over; neither width is a
  // multiple of the vector width.
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Threads scope(threads);
    check_fused_step_matches_unfused(
        Mlp({.widths = {40, 300, 100, 10}, .activation = "relu", .batch = 67, .seed = 5}));
  }
}

TEST_CASE("relu layers wider than 4,096 units, or with fewer rows than two per thread, split their columns") {
  // 9 x 4,100 is wider than the row split's per-thread sums on the stack; 3 x 3,000 has too
  // few rows to share out. Both still go to more than one thread.
  Threads scope(2);
  for (auto [rows, columns] : {std::pair<int64_t, int64_t>{9, 4100}, {3, 3000}}) {
    // Plain variables: clang 14 cannot capture structured bindings (CAPTURE makes a lambda).
    const int64_t batch = rows, width = columns;
    CAPTURE(batch);
    check_fused_step_matches_unfused(Mlp({.widths = {5, width, 3}, .activation = "relu", .batch = batch, .seed = 6}));
  }
}

TEST_CASE("fused softmax cross-entropy matches softmax then cross-entropy for logits spread over tens") {
  // Scaling the last layer spreads the logits: the exponentials span many binades, while the
  // probabilities stay above the unfused form's 1e-7 clip (at 6 times some of these 150 rows'
  // no longer do, and the unfused loss is the clipped one).
  // 150 rows: two whole chunks of 64 rows and a part; both the sparse and the one-hot targets.
  for (std::string loss : {"sparse_categorical_crossentropy", "categorical_crossentropy"})
  for (float scale : {1.f, 2.5f, 4.f}) {
    CAPTURE(loss);
    CAPTURE(scale);
    Mlp mlp({.widths = {30, 50, 10}, .activation = "tanh", .loss = loss, .batch = 150, .seed = 9});
    Tensor& last = mlp.initial[2];
    for (int64_t i = 0; i < last.size(); ++i) last[i] *= scale;
    Step plain = train_once(mlp, {.fuse_dense = false, .fuse_softmax_crossentropy = false, .fold_sgd = false});
    Step fused = train_once(mlp, {.fuse_dense = false, .fuse_softmax_crossentropy = true, .fold_sgd = false});
    CHECK(fused.loss == doctest::Approx(plain.loss).epsilon(1e-5));
    for (size_t i = 0; i < plain.weights.size(); ++i) {
      CAPTURE(i);
      std::string diff = compare(fused.weights[i], plain.weights[i], 1e-6f, 1e-5f);
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }
}

TEST_CASE("fused softmax cross-entropy sums the rows' logs exactly when their product outgrows a double") {
  // Equal logits: every row's sum of exponentials is the width, 10, so 400 rows multiply to
  // 1e400, past a double's range; the loss must still be log(10), and every probability 0.1.
  Mlp mlp({.widths = {3, 10}, .activation = "relu", .batch = 400, .seed = 4});
  for (Tensor& t : mlp.initial) t = Tensor::zeros(t.shape());
  auto params = mlp.fresh_params();
  graph::Graph g = record(mlp, params, {.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f});
  graph::optimize(g);
  int prediction = g.prediction;
  graph::Executor e(std::move(g), {.mode = graph::ExecutionMode::Serial});
  for (size_t i = 0; i < params.size(); ++i) e.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
  e.bind(graph::Role::Input, 0, mlp.x);
  e.bind(graph::Role::Target, 0, mlp.y);
  e.run({.learning_rate = 0.1f});
  CHECK(e.loss() == doctest::Approx(std::log(10.f)).epsilon(1e-6));
  Tensor p = e.value(prediction);
  REQUIRE(p.size() == 4000);
  for (int64_t i = 0; i < p.size(); ++i) REQUIRE(p[i] == doctest::Approx(0.1f).epsilon(1e-6));
}

TEST_CASE("fused softmax cross-entropy is exact for rows far below the largest logit of their chunk") {
  // Rows offset by 0, 60, -300 and 1e4 share chunks: the chunk's shift leaves the lower rows'
  // exponentials at 0, so those rows take their own shift. Loss, probabilities and gradient are
  // checked against log-sum-exp computed per row in double.
  const int64_t rows = 130, width = 7;
  const float offsets[] = {0.f, 60.f, -300.f, 1e4f};
  ad::Rng rng(11);
  Tensor logits({rows, width}), labels({rows});
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < width; ++j) logits[i * width + j] = offsets[i % 4] + rng.uniform(-1.5f, 1.5f);
    labels[i] = static_cast<float>(rng.next() % width);
  }
  Var z = ad::param(logits.clone());
  ad::Tape tape;
  Var loss = ad::sparse_categorical_crossentropy(ad::softmax(z), labels);
  auto g = graph::Graph::from(tape, loss, {.targets = {labels}, .parameters = {z}});
  graph::optimize(g);
  graph::Executor e(std::move(g));
  e.bind(graph::Role::Target, 0, labels);
  e.bind(graph::Role::Parameter, 0, z.value());
  e.run();
  Tensor probs = e.value(e.graph().prediction), dz = e.value(e.graph().gradients[0]);
  double expected_loss = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* zi = logits.data() + i * width;
    double m = *std::max_element(zi, zi + width), s = 0;
    for (int64_t j = 0; j < width; ++j) s += std::exp(static_cast<double>(zi[j]) - m);
    auto label = static_cast<int64_t>(labels[i]);
    expected_loss += m + std::log(s) - zi[label];
    for (int64_t j = 0; j < width; ++j) {
      double p = std::exp(static_cast<double>(zi[j]) - m) / s;
      CAPTURE(i);
      CAPTURE(j);
      REQUIRE(probs[i * width + j] == doctest::Approx(p).epsilon(1e-5));
      REQUIRE(dz[i * width + j] == doctest::Approx((p - (j == label ? 1 : 0)) / rows).epsilon(1e-5).scale(1e-9));
    }
  }
  CHECK(e.loss() == doctest::Approx(expected_loss / rows).epsilon(1e-6));
}

TEST_CASE("fused softmax cross-entropy rejects labels that are not whole class numbers in range") {
  Mlp mlp({.widths = {6, 5, 4}, .activation = "relu", .batch = 3, .seed = 2});
  auto params = mlp.fresh_params();
  graph::Graph g = record(mlp, params, {.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f});
  graph::optimize(g);
  graph::Executor e(std::move(g), {.mode = graph::ExecutionMode::Serial});
  for (size_t i = 0; i < params.size(); ++i) e.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
  e.bind(graph::Role::Input, 0, mlp.x);
  for (float bad : {1.5f, -1.f, 4.f, 1e10f, NAN}) {
    CAPTURE(bad);
    Tensor labels = Tensor::from({3}, {0.f, bad, 2.f});
    e.bind(graph::Role::Target, 0, labels);
    CHECK_THROWS_WITH_AS(e.run(), doctest::Contains("in row 1 is outside [0, 4)"), ad::Error);
  }
  e.bind(graph::Role::Target, 0, Tensor::from({3}, {0.f, 3.f, 2.f}));
  CHECK_NOTHROW(e.run());
}
