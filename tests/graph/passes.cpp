// The passes, one by one: what each fuses, what it leaves alone and why, and that the fused
// graph computes what the unfused one does.
#include "tapegrad/graph/passes.h"

#include <doctest/doctest.h>

#include "tapegrad/autodiff/op_defs.h"

#include <cmath>

#include "mlp.h"

using namespace graph_test;

namespace {

int count(const graph::Graph& g, const ad::OpDef& k) {
  int c = 0;
  for (const auto& n : g.nodes)
    if (!n.removed && n.is(k)) ++c;
  return c;
}

// Runs one step of `g` on fresh copies of the MLP's weights; returns the loss, the
// prediction, the gradients (empty where folded) and the weights after the update.
struct Outcome {
  float loss;
  Tensor prediction;
  std::vector<Tensor> gradients, weights;
};

Outcome run_once(const Mlp& mlp, graph::Graph g, float lr = 0.1f) {
  auto params = mlp.fresh_params();
  graph::Executor e(std::move(g), {.mode = graph::ExecutionMode::Serial});
  e.bind(graph::Role::Input, 0, mlp.x);
  e.bind(graph::Role::Target, 0, mlp.y);
  for (size_t i = 0; i < params.size(); ++i) e.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
  e.run({.learning_rate = lr});
  Outcome o{e.loss(), e.value(e.graph().prediction), {}, {}};
  for (size_t i = 0; i < params.size(); ++i) {
    int gv = e.graph().gradients[i];
    o.gradients.push_back(gv >= 0 ? e.value(gv) : Tensor());
    o.weights.push_back(params[i].value());
  }
  return o;
}

}  // namespace

TEST_CASE("fuse_dense turns each matmul, bias add and activation into one fused_dense, forward and backward") {
  for (std::string act : {"relu", "sigmoid", "tanh", "softplus", "linear"}) {
    CAPTURE(act);
    Mlp mlp({.widths = {8, 6, 5, 3}, .activation = act, .loss = "mse", .batch = 4});
    auto params = mlp.fresh_params();
    auto g = record(mlp, params, {});
    graph::fuse_dense(g);
    g.compact();
    CHECK(count(g, graph::ops::fused_dense) == 3);
    CHECK(count(g, ad::defs::matmul) == 5);  // the backward GEMMs: 3 dW and 2 dX
    CHECK(count(g, ad::defs::add) == 0);
    CHECK(count(g, ad::defs::sum_to) == 0);
    CHECK(count(g, graph::ops::activation_bias_grad) == 3);
    CHECK(count(g, ad::defs::relu_grad) + count(g, ad::defs::sigmoid_grad) + count(g, ad::defs::tanh_grad) +
              count(g, ad::defs::softplus_grad) ==
          0);
    CHECK(g.report().find("3 dense layer(s) fused") != std::string::npos);
  }
}

TEST_CASE("fuse_dense leaves a matmul alone when its output is read by more than the bias add, and says why") {
  ad::Rng rng(2);
  Var W = ad::param(Tensor::uniform({3, 2}, -1, 1, rng)), b = ad::param(Tensor::uniform({2}, -1, 1, rng));
  Tensor x = Tensor::uniform({4, 3}, -1, 1, rng);
  ad::Tape tape;
  Var z = ad::matmul(ad::constant(x), W);
  Var loss = ad::sum(ad::relu(z + b)) + ad::sum(z);
  auto g = graph::Graph::from(tape, loss, {.inputs = {x}, .parameters = {W, b}});
  graph::fuse_dense(g);
  CHECK(count(g, graph::ops::fused_dense) == 0);
  CHECK(g.report().find("feeds 2 node(s), not one bias add") != std::string::npos);
}

TEST_CASE("fuse_dense keeps the activation apart when the pre-activation value is read elsewhere") {
  ad::Rng rng(2);
  Var W = ad::param(Tensor::uniform({3, 2}, -1, 1, rng)), b = ad::param(Tensor::uniform({2}, -1, 1, rng));
  Tensor x = Tensor::uniform({4, 3}, -1, 1, rng);
  ad::Tape tape;
  Var z = ad::matmul(ad::constant(x), W) + b;
  Var loss = ad::sum(ad::tanh(z)) + ad::sum(z);
  auto g = graph::Graph::from(tape, loss, {.inputs = {x}, .parameters = {W, b}});
  graph::fuse_dense(g);
  CHECK(count(g, graph::ops::fused_dense) == 1);
  CHECK(count(g, ad::defs::tanh) == 1);
  CHECK(g.report().find("feeds 2 nodes, so no activation was fused") != std::string::npos);
}

TEST_CASE("every fused path computes what the unfused graph computes") {
  struct Case {
    const char* name;
    graph::OptimizeOptions options;
  };
  Case cases[] = {{"dense only", {.fuse_dense = true, .fuse_softmax_crossentropy = false, .fold_sgd = false}},
                  {"softmax and cross-entropy only", {.fuse_dense = false, .fuse_softmax_crossentropy = true, .fold_sgd = false}},
                  {"all but the folded update", {.fuse_dense = true, .fuse_softmax_crossentropy = true, .fold_sgd = false}}};
  for (std::string loss : {"sparse_categorical_crossentropy", "categorical_crossentropy", "mse", "binary_crossentropy"})
    for (std::string act : {"relu", "sigmoid", "tanh", "linear"})
      for (const Case& c : cases) {
        CAPTURE(loss);
        CAPTURE(act);
        CAPTURE(c.name);
        Mlp mlp({.widths = {9, 7, 5}, .activation = act, .loss = loss, .batch = 6, .seed = 11});
        auto params = mlp.fresh_params();
        graph::UpdateRule sgd{.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f};
        Outcome plain = run_once(mlp, record(mlp, params, sgd));
        auto g = record(mlp, params, sgd);
        graph::optimize(g, c.options);
        Outcome fused = run_once(mlp, std::move(g));
        CHECK(fused.loss == doctest::Approx(plain.loss).epsilon(1e-5));
        std::string diff = compare(fused.prediction, plain.prediction, 1e-6f, 1e-5f);
        CHECK_MESSAGE(diff.empty(), diff);
        for (size_t i = 0; i < params.size(); ++i) {
          diff = compare(fused.gradients[i], plain.gradients[i], 1e-6f, 1e-4f);
          CHECK_MESSAGE(diff.empty(), diff);
          diff = compare(fused.weights[i], plain.weights[i], 1e-6f, 1e-5f);
          CHECK_MESSAGE(diff.empty(), diff);
        }
      }
}

TEST_CASE("softmax cross-entropy is stable for logits of 1e4 once fused") {
  // Two classes whose logits differ by 1e4: softmax gives exactly 0 and 1 in float32, so the
  // unfused loss of the wrong class is clipped at -log(1e-7) and its gradient vanishes; the
  // fused form gives the exact loss 1e4 and the gradient softmax - onehot = (1, -1) / rows.
  ad::Rng rng(1);
  Var z = ad::param(Tensor::from({1, 2}, {1e4f, 0.f}));
  Tensor labels = Tensor::from({1}, {1.f});
  ad::Tape tape;
  Var loss = ad::sparse_categorical_crossentropy(ad::softmax(z), labels);
  auto g = graph::Graph::from(tape, loss, {.targets = {labels}, .parameters = {z}});
  graph::optimize(g);
  CHECK(count(g, graph::ops::softmax_crossentropy) == 1);
  CHECK(count(g, graph::ops::softmax_crossentropy_grad) == 1);
  CHECK(count(g, ad::defs::softmax) == 0);
  graph::Executor e(std::move(g));
  e.bind(graph::Role::Target, 0, labels);
  e.bind(graph::Role::Parameter, 0, z.value());
  e.run();
  CHECK(e.loss() == doctest::Approx(1e4));
  Tensor dz = e.value(e.graph().gradients[0]);
  CHECK(dz[0] == doctest::Approx(1.f));
  CHECK(dz[1] == doctest::Approx(-1.f));
  CHECK(std::isfinite(dz[0]));
}

TEST_CASE("fuse_softmax_crossentropy leaves a loss on logits alone and says so") {
  Mlp mlp({.widths = {5, 4}, .loss = "categorical_crossentropy", .batch = 3, .from_logits = true});
  auto params = mlp.fresh_params();
  auto g = record(mlp, params, {});
  graph::fuse_softmax_crossentropy(g);
  CHECK(count(g, graph::ops::softmax_crossentropy) == 0);
  CHECK(g.report().find("already works from logits") != std::string::npos);
}

TEST_CASE("fold_sgd removes every gradient buffer and update node of plain SGD, and no others") {
  Mlp mlp({.widths = {6, 5, 4}, .batch = 3});
  auto params = mlp.fresh_params();
  SUBCASE("plain SGD folds into the GEMMs and the bias reductions") {
    auto g = record(mlp, params, {.kind = graph::UpdateKind::SGD});
    graph::optimize(g);
    CHECK(count(g, graph::ops::sgd_update) == 0);
    for (int gv : g.gradients) CHECK(gv == -1);
    int accumulating = 0;
    for (const auto& n : g.nodes) accumulating += n.is(graph::ops::matmul_sgd_update);
    CHECK(accumulating == 2);
    CHECK(g.report().find("4 of 4 parameter update(s) folded") != std::string::npos);
  }
  SUBCASE("momentum folds into the weight GEMMs, which accumulate into the velocity; biases keep their update") {
    auto g = record(mlp, params, {.kind = graph::UpdateKind::SGD, .momentum = 0.9f});
    graph::optimize(g);
    CHECK(count(g, graph::ops::matmul_momentum_update) == 2);
    CHECK(count(g, graph::ops::apply_velocity) == 2);
    CHECK(count(g, graph::ops::momentum_update) == 2);  // the two biases
    for (const auto& n : g.nodes)
      if (n.is(graph::ops::matmul_momentum_update)) {
        REQUIRE(n.outputs.size() == 1);
        CHECK(g.values[static_cast<size_t>(n.outputs[0])].role == graph::Role::Slot);  // V, not a gradient buffer
        CHECK(ad::attrs_as<graph::MatmulMomentumAttrs>(n.attrs, "test").momentum == 0.9f);
      }
    CHECK(g.report().find("2 of 4 parameter update(s) folded") != std::string::npos);
  }
  SUBCASE("Nesterov momentum and Adam keep their update nodes, which read the gradient") {
    auto nesterov = record(mlp, params, {.kind = graph::UpdateKind::SGD, .momentum = 0.9f, .nesterov = true});
    graph::optimize(nesterov);
    CHECK(count(nesterov, graph::ops::momentum_update) == 4);
    CHECK(count(nesterov, graph::ops::matmul_momentum_update) == 0);
    CHECK(nesterov.report().find("Nesterov momentum needs the gradient itself") != std::string::npos);
    auto adam = record(mlp, params, {.kind = graph::UpdateKind::Adam});
    graph::optimize(adam);
    CHECK(count(adam, graph::ops::adam_update) == 4);
    CHECK(adam.report().find("Adam or RMSprop state") != std::string::npos);
  }
  SUBCASE("without fuse_dense the bias gradient comes from a column sum and is left alone") {
    auto g = record(mlp, params, {.kind = graph::UpdateKind::SGD});
    graph::optimize(g, {.fuse_dense = false});
    CHECK(count(g, graph::ops::sgd_update) == 2);
    CHECK(g.report().find("only GEMMs and fused bias reductions fold") != std::string::npos);
  }
}

TEST_CASE("remove_dead_nodes drops nodes whose values nobody reads") {
  ad::Rng rng(3);
  Var w = ad::param(Tensor::uniform({2, 2}, -1, 1, rng));
  ad::Tape tape;
  Var unused = ad::tanh(w);  // recorded, but the loss does not read it
  Var loss = ad::sum(ad::relu(w));
  auto g = graph::Graph::from(tape, loss, {.parameters = {w}});
  // Graph::from already skips ops off the loss's path; a pass can still leave such nodes.
  CHECK(count(g, ad::defs::tanh) == 0);
  graph::Node orphan;
  orphan.op = &ad::defs::neg;
  orphan.inputs = {g.parameters[0]};
  orphan.outputs = {g.add_value({2, 2}, graph::Role::Temporary, "orphan")};
  g.add_node(orphan);
  graph::remove_dead_nodes(g);
  g.compact();
  CHECK(count(g, ad::defs::neg) == 0);
  CHECK(count(g, ad::defs::relu) == 1);
  CHECK(g.report().find("1 node(s) removed") != std::string::npos);
  (void)unused;
}
