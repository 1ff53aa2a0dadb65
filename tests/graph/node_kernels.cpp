// The node kernels' fast paths (vectorised exponentials, softmax rows in chunks, relu backward
// four rows at a time with bias sums split across threads) checked against the unfused graph,
// on layers large enough to take them.
#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/graph/executor.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "tapegrad/autodiff/threading.h"
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
  for (std::pair<int64_t, int64_t> size : {std::pair<int64_t, int64_t>{9, 4100}, {3, 3000}}) {
    // Named variables, not a structured binding: clang 14 cannot capture those (CAPTURE does).
    const int64_t batch = size.first, width = size.second;
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

namespace {

// Runs one node on the given inputs and returns its outputs (of the given shapes).
std::vector<Tensor> run_one(graph::Node n, const std::vector<Tensor>& inputs, const std::vector<Shape>& outputs) {
  std::vector<Tensor> results;
  std::vector<ad::View> in, out;
  for (const Tensor& t : inputs) in.push_back(ad::view_of(t));
  for (const Shape& s : outputs) results.push_back(Tensor::zeros(s));
  for (Tensor& t : results) out.push_back(ad::view_of(t));
  n.op->forward({in, out, n.attrs, ad::KernelContext{}});
  return results;
}

graph::Node node(const ad::OpDef& op, ad::Attrs attrs = {}) {
  graph::Node n;
  n.op = &op;
  n.attrs = std::move(attrs);
  return n;
}

// A loss's node and its gradient's, for logits or probabilities.
std::pair<graph::Node, graph::Node> loss_nodes(const ad::OpDef& loss, const ad::OpDef& grad, bool logits) {
  ad::Attrs attrs = &loss == &ad::defs::mse_loss ? ad::Attrs{} : ad::Attrs{ad::FromLogitsAttrs{.from_logits = logits}};
  return {node(loss, attrs), node(grad, attrs)};
}

}  // namespace

TEST_CASE("relu and its gradient give NaN at NaN in the graph's kernels, as the eager ops do") {
  Tensor x = Tensor::from({4}, {NAN, -1, 0, 2});
  Tensor y = run_one(node(ad::defs::relu), {x}, {{4}})[0];
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == 0);
  CHECK(y[2] == 0);
  CHECK(y[3] == 2);
  Tensor d = run_one(node(ad::defs::relu_grad), {x, Tensor::from({4}, {1, 1, 1, 1})}, {{4}})[0];
  CHECK(std::isnan(d[0]));
  CHECK(d[1] == 0);
  CHECK(d[2] == 0);
  CHECK(d[3] == 1);
}

// The fused backward of a dense layer, in each of its loops: narrow layers, layers whose bias
// sums are split by rows between threads, and layers wider than 4,096 units split by columns.
TEST_CASE("the fused activation-and-bias backward gives NaN where the layer's output is NaN") {
  Threads two(2);
  using ad::kernels::Activation;
  for (Shape shape : {Shape{3, 8}, Shape{64, 256}, Shape{4, 5000}})
    for (Activation a : {Activation::Relu, Activation::Sigmoid, Activation::Tanh, Activation::Softplus}) {
      std::string shape_text = ad::to_string(shape);
      int activation = int(a);
      CAPTURE(shape_text);
      CAPTURE(activation);
      ad::Rng rng(3);
      Tensor y = Tensor::uniform(shape, -0.5f, 0.5f, rng), dy = Tensor::uniform(shape, -1, 1, rng);
      int64_t w = shape[1];
      y[w + 1] = NAN;  // row 1, column 1
      auto out = run_one(node(graph::ops::activation_bias_grad, graph::ActivationBiasGradAttrs{.activation = a}), {y, dy}, {shape, {w}});
      const Tensor &dz = out[0], &db = out[1];
      for (int64_t i = 0; i < dz.size(); ++i) CHECK(std::isnan(dz[i]) == (i == w + 1));
      for (int64_t j = 0; j < w; ++j) CHECK(std::isnan(db[j]) == (j == 1));
    }
}

TEST_CASE("softmax, the losses and the fused softmax cross-entropy give NaN for a row with a NaN logit") {
  Tensor z = Tensor::from({2, 3}, {0.5f, NAN, -1, 0.25f, 2, -3});
  for (const ad::OpDef* k : {&ad::defs::softmax, &ad::defs::log_softmax}) {
    Tensor p = run_one(node(*k), {z}, {{2, 3}})[0];
    for (int64_t i = 0; i < 6; ++i) CHECK(std::isnan(p[i]) == (i < 3));
  }
  Tensor labels = Tensor::from({2}, {0, 2}), onehot = Tensor::from({2, 3}, {1, 0, 0, 0, 0, 1});
  for (bool logits : {false, true}) {
    CAPTURE(logits);
    struct Case {
      const ad::OpDef *loss, *grad;
      Tensor target;
    };
    for (const Case& c : {Case{&ad::defs::sparse_categorical_crossentropy, &ad::defs::sparse_categorical_crossentropy_grad, labels},
                          Case{&ad::defs::categorical_crossentropy, &ad::defs::categorical_crossentropy_grad, onehot},
                          Case{&ad::defs::binary_crossentropy, &ad::defs::binary_crossentropy_grad, onehot},
                          Case{&ad::defs::mse_loss, &ad::defs::mse_loss_grad, onehot}}) {
      std::string kind_text = c.loss->name;
      CAPTURE(kind_text);
      auto [n, grad] = loss_nodes(*c.loss, *c.grad, logits);
      const Tensor& target = c.target;
      Tensor prediction = logits ? z : Tensor::from({2, 3}, {NAN, 0.3f, 0.5f, 0.2f, 0.2f, 0.6f});
      CHECK(std::isnan(run_one(n, {prediction, target}, {Shape{}})[0][0]));
      Tensor d = run_one(grad, {prediction, target, Tensor::scalar(1)}, {{2, 3}})[0];
      CHECK(std::isnan(d[logits ? 1 : 0]));
      CHECK(std::isfinite(d[4]));
    }
  }
  for (auto [sparse, target] : {std::pair{true, labels}, std::pair{false, onehot}}) {
    graph::Node n = node(graph::ops::softmax_crossentropy, graph::SoftmaxCrossentropyAttrs{.sparse = sparse});
    auto out = run_one(n, {z, target}, {Shape{}, Shape{2, 3}});
    CHECK(std::isnan(out[0][0]));
    for (int64_t i = 0; i < 6; ++i) CHECK(std::isnan(out[1][i]) == (i < 3));
  }
}

// The rows [m, m] against ln 2, and a spread row against log-softmax in double.
TEST_CASE("the graph's softmax and logits losses keep full precision for rows offset by large amounts") {
  for (float m : {1e3f, -1e3f, 16777216.f, -16777216.f, 1e9f}) {
    CAPTURE(m);
    Tensor z = Tensor::from({1, 2}, {m, m}), label = Tensor::from({1}, {1}), onehot = Tensor::from({1, 2}, {0, 1});
    Tensor p = run_one(node(ad::defs::softmax), {z}, {{1, 2}})[0];
    CHECK(p[0] == doctest::Approx(0.5).epsilon(1e-7));
    Tensor log_p = run_one(node(ad::defs::log_softmax), {z}, {{1, 2}})[0];
    CHECK(log_p[1] == doctest::Approx(-std::log(2.0)).epsilon(1e-7));
    for (auto [sparse, target] : {std::pair{true, label}, std::pair{false, onehot}}) {
      auto [n, grad] = sparse ? loss_nodes(ad::defs::sparse_categorical_crossentropy,
                                           ad::defs::sparse_categorical_crossentropy_grad, true)
                              : loss_nodes(ad::defs::categorical_crossentropy, ad::defs::categorical_crossentropy_grad, true);
      CHECK(run_one(n, {z, target}, {Shape{}})[0][0] == doctest::Approx(std::log(2.0)).epsilon(1e-6));
      Tensor d = run_one(grad, {z, target, Tensor::scalar(1)}, {{1, 2}})[0];
      CHECK(d[0] == doctest::Approx(0.5).epsilon(1e-7));
      CHECK(d[1] == doctest::Approx(-0.5).epsilon(1e-7));
    }
  }
}
