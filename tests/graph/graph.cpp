// Graph::from: the recorded tape becomes forward, backward and update nodes whose gradients
// are the tape's own.
#include "tapegrad/graph/graph.h"

#include <doctest/doctest.h>

#include "tapegrad/autodiff/op_defs.h"

#include "mlp.h"

using namespace graph_test;

namespace {

std::vector<std::string> kinds(const graph::Graph& g) {
  std::vector<std::string> k;
  for (const auto& n : g.nodes) k.push_back(n.name());
  return k;
}

}  // namespace

TEST_CASE("a recorded dense layer becomes matmul, add and relu nodes followed by its backward and updates") {
  Mlp mlp({.widths = {4, 3}, .activation = "relu", .loss = "mse", .batch = 5});
  auto params = mlp.fresh_params();
  auto g = record(mlp, params, {.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f});
  std::vector<std::string> expected = {"matmul", "add", "relu", "mse_loss",       // forward
                                       "mse_loss_grad", "relu_grad", "sum_to",  // backward
                                       "matmul",                                // dW (x needs none)
                                       "sgd_update", "sgd_update"};
  CHECK(kinds(g) == expected);
  REQUIRE(g.gradients.size() == 2);
  CHECK(g.values[static_cast<size_t>(g.gradients[0])].shape == Shape{4, 3});
  CHECK(g.values[static_cast<size_t>(g.gradients[1])].shape == Shape{3});
  CHECK(g.values[static_cast<size_t>(g.inputs[0])].role == graph::Role::Input);
  CHECK(g.prediction == g.nodes[2].outputs[0]);
}

TEST_CASE("RMSprop ends the graph with an rmsprop_update per parameter on its velocity and momentum slots") {
  Mlp mlp({.widths = {4, 3}, .activation = "relu", .loss = "mse", .batch = 5});
  auto params = mlp.fresh_params();
  for (float momentum : {0.f, 0.5f}) {
    CAPTURE(momentum);
    auto g = record(mlp, params, {.kind = graph::UpdateKind::RMSprop, .momentum = momentum});
    std::vector<std::string> names = momentum != 0 ? std::vector<std::string>{"velocity", "momentum"}
                                                   : std::vector<std::string>{"velocity"};
    CHECK(g.update.slot_names() == names);
    std::vector<const graph::Node*> updates;
    for (const auto& n : g.nodes)
      if (n.is(graph::ops::rmsprop_update)) updates.push_back(&n);
    REQUIRE(updates.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
      CAPTURE(i);
      // In place: the parameter and its slots are both read and written.
      std::vector<int> outputs = {g.parameters[i]};
      for (int s : g.slots[i]) outputs.push_back(s);
      CHECK(updates[i]->outputs == outputs);
      CHECK(updates[i]->inputs.size() == 2 + names.size());
      REQUIRE(g.slots[i].size() == names.size());
      const std::string& last = g.values[static_cast<size_t>(g.slots[i].back())].name;
      CHECK(last.substr(last.size() - names.back().size()) == names.back());
    }
    CHECK(g.dump().find("rmsprop_update") != std::string::npos);
  }
}

TEST_CASE("the graph's gradients equal the tape's for every activation and loss") {
  for (std::string loss : {"mse", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"})
    for (std::string act : {"relu", "sigmoid", "tanh", "linear"}) {
      CAPTURE(loss);
      CAPTURE(act);
      Mlp mlp({.widths = {5, 7, 4}, .activation = act, .loss = loss, .batch = 6, .seed = 3});
      auto eager = mlp.fresh_params();
      ad::Tape tape;
      Var l = mlp.loss(eager);
      l.backward();
      auto params = mlp.fresh_params();
      graph::Executor step(record(mlp, params, {}), {.mode = graph::ExecutionMode::Serial});
      step.bind(graph::Role::Input, 0, mlp.x);
      step.bind(graph::Role::Target, 0, mlp.y);
      for (size_t i = 0; i < params.size(); ++i) step.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
      step.run();
      CHECK(step.loss() == doctest::Approx(l.item()).epsilon(1e-5));
      for (size_t i = 0; i < params.size(); ++i) {
        CAPTURE(i);
        std::string diff = compare(step.value(step.graph().gradients[i]), eager[i].grad(), 1e-6f, 1e-4f);
        CHECK_MESSAGE(diff.empty(), diff);
      }
    }
}

TEST_CASE("an op without a gradient on a parameter's path is named in the error") {
  ad::Rng rng(1);
  Var w = ad::param(Tensor::uniform({3}, -1, 1, rng));
  ad::Tape tape;
  Var loss = ad::sum(ad::apply(ad::defs::relu_grad, {w, w}));
  CHECK_THROWS_WITH_AS(graph::Graph::from(tape, loss, {.parameters = {w}}), doctest::Contains("relu_grad"), ad::Error);
}

TEST_CASE("a loss that was not recorded on the tape is refused") {
  ad::Tape tape;
  Var c = ad::constant(Tensor::ones({2}));
  Var loss = ad::sum(c);  // nothing requires a gradient: not recorded
  CHECK_THROWS_AS(graph::Graph::from(tape, loss, {}), ad::Error);
}

TEST_CASE("the text dump and the Graphviz view name every node and value") {
  Mlp mlp({.widths = {4, 3, 2}, .loss = "sparse_categorical_crossentropy", .batch = 2});
  auto params = mlp.fresh_params();
  auto g = record(mlp, params, {.kind = graph::UpdateKind::SGD});
  std::string text = g.dump(), dot = g.to_dot();
  CHECK(text.find("matmul(x0[2,4], W0[4,3])") != std::string::npos);
  CHECK(text.find("sgd_update") != std::string::npos);
  CHECK(dot.rfind("digraph", 0) == 0);
  CHECK(dot.find("softmax_grad") != std::string::npos);
  CHECK(dot.back() == '\n');
}
