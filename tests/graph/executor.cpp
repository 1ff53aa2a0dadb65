// The executor: serial and concurrent orders agree, in-place writes wait for their readers,
// buffers are shared by liveness, and steady-state steps allocate nothing.
#include "tapegrad/graph/executor.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/graph/passes.h"
#include "mlp.h"

using namespace graph_test;

namespace {

struct Step {
  std::vector<Var> params;
  std::unique_ptr<graph::Executor> executor;
};

Step compile(const Mlp& mlp, graph::UpdateRule rule, graph::ExecutionMode mode, bool optimized = true,
             bool profile = false) {
  Step s;
  s.params = mlp.fresh_params();
  auto g = record(mlp, s.params, rule);
  if (optimized) graph::optimize(g);
  s.executor = std::make_unique<graph::Executor>(std::move(g), graph::ExecutorOptions{.mode = mode, .profile = profile});
  s.executor->bind(graph::Role::Input, 0, mlp.x);
  s.executor->bind(graph::Role::Target, 0, mlp.y);
  for (size_t i = 0; i < s.params.size(); ++i)
    s.executor->bind(graph::Role::Parameter, static_cast<int>(i), s.params[i].value());
  return s;
}

}  // namespace

TEST_CASE("serial and concurrent execution give the same losses and weights over several steps") {
  Mlp mlp({.widths = {30, 40, 20, 5}, .activation = "tanh", .batch = 16, .seed = 7});
  graph::UpdateRule sgd{.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f};
  Step serial = compile(mlp, sgd, graph::ExecutionMode::Serial);
  Step parallel = compile(mlp, sgd, graph::ExecutionMode::Parallel);
  for (int step = 0; step < 5; ++step) {
    serial.executor->run({.learning_rate = 0.05f});
    parallel.executor->run({.learning_rate = 0.05f});
    CHECK(serial.executor->loss() == doctest::Approx(parallel.executor->loss()).epsilon(1e-6));
  }
  for (size_t i = 0; i < serial.params.size(); ++i) {
    std::string diff = compare(parallel.params[i].value(), serial.params[i].value(), 1e-6f, 1e-5f);
    CHECK_MESSAGE(diff.empty(), diff);
  }
  CHECK(parallel.executor->chosen_mode() == graph::ExecutionMode::Parallel);
}

TEST_CASE("a profiled executor times every node it runs, and the GEMM nodes add up to gemm_seconds") {
  Mlp mlp({.widths = {30, 40, 5}, .batch = 16});
  for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel}) {
    Step s = compile(mlp, {.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f}, mode, true, true);
    graph::Executor& e = *s.executor;
    for (int i = 0; i < 3; ++i) e.run({.learning_rate = 0.1f});
    double gemms = 0;
    int gemm_nodes = 0;
    for (size_t i = 0; i < e.graph().nodes.size(); ++i) {
      int n = static_cast<int>(i);
      CAPTURE(std::string(e.graph().nodes[i].name()));
      CHECK(e.node_seconds(n) > 0);
      if (e.gemm_plan(n)) {
        gemms += e.node_seconds(n);
        ++gemm_nodes;
      }
    }
    CHECK(gemm_nodes > 0);
    CHECK(e.gemm_seconds() == doctest::Approx(gemms));
    e.reset_profile();
    CHECK(e.gemm_seconds() == 0);
    CHECK(e.node_seconds(0) == 0);
  }
}

TEST_CASE("auto mode times both orders in its first runs and then keeps one") {
  Mlp mlp({.widths = {20, 10, 3}, .batch = 4});
  Step s = compile(mlp, {.kind = graph::UpdateKind::SGD}, graph::ExecutionMode::Auto);
  for (int i = 0; i < 8; ++i) s.executor->run();
  CHECK(s.executor->runs() == 8);
  auto mode = s.executor->chosen_mode();
  CHECK((mode == graph::ExecutionMode::Serial || mode == graph::ExecutionMode::Parallel));
}

TEST_CASE("the folded weight update runs after the input gradient that reads the old weight") {
  Mlp mlp({.widths = {6, 5, 4}, .batch = 3});
  Step s = compile(mlp, {.kind = graph::UpdateKind::SGD}, graph::ExecutionMode::Serial);
  const graph::Graph& g = s.executor->graph();
  int w1 = g.parameters[2];
  int reader = -1, writer = -1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const auto& n = g.nodes[i];
    if (!n.is(ad::defs::matmul) && !n.is(graph::ops::matmul_sgd_update)) continue;
    if (n.outputs[0] == w1) writer = static_cast<int>(i);
    else if (n.inputs[1] == w1) reader = static_cast<int>(i);  // dX = dZ · W1ᵀ
  }
  REQUIRE(reader >= 0);
  REQUIRE(writer >= 0);
  const auto& after = g.nodes[static_cast<size_t>(writer)].after;
  CHECK(std::find(after.begin(), after.end(), reader) != after.end());
}

TEST_CASE("buffers of values that are dead are shared, and never while a node may still touch them") {
  Mlp mlp({.widths = {50, 60, 60, 60, 60, 10}, .batch = 32});
  Step s = compile(mlp, {.kind = graph::UpdateKind::SGD}, graph::ExecutionMode::Serial, false);
  const graph::Graph& g = s.executor->graph();
  const graph::BufferPlan& plan = s.executor->buffer_plan();
  CHECK(plan.floats < plan.unshared_floats);
  graph::Schedule sched = graph::schedule(g);
  // Any two values whose memory overlaps: every node touching the first finishes before the
  // second's writer starts (or the other way round). The one exception: an activation's
  // backward may write its result exactly over its incoming gradient, element by element.
  std::vector<std::vector<int>> touch(g.values.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int v : g.nodes[i].inputs) touch[static_cast<size_t>(v)].push_back(static_cast<int>(i));
    for (int v : g.nodes[i].outputs) touch[static_cast<size_t>(v)].push_back(static_cast<int>(i));
  }
  auto in_place = [&](int n, int a, int b) {
    const graph::Node& node = g.nodes[static_cast<size_t>(n)];
    bool elementwise = node.is(graph::ops::activation_bias_grad) || node.is(ad::defs::relu_grad) ||
                       node.is(ad::defs::sigmoid_grad) || node.is(ad::defs::tanh_grad) || node.is(ad::defs::softplus_grad);
    return elementwise && node.inputs.size() == 2 && node.inputs[1] == a && node.outputs[0] == b &&
           plan.offsets[static_cast<size_t>(a)] == plan.offsets[static_cast<size_t>(b)] &&
           g.values[static_cast<size_t>(a)].size() == g.values[static_cast<size_t>(b)].size();
  };
  auto done_before = [&](int a, int b) {
    int writer = g.values[static_cast<size_t>(b)].producer;
    for (int n : touch[static_cast<size_t>(a)])
      if (!sched.before(n, writer) && !(n == writer && in_place(n, a, b))) return false;
    return true;
  };
  int overlaps = 0;
  for (size_t a = 0; a < g.values.size(); ++a)
    for (size_t b = a + 1; b < g.values.size(); ++b) {
      int64_t oa = plan.offsets[a], ob = plan.offsets[b];
      if (oa < 0 || ob < 0) continue;
      if (oa < ob + g.values[b].size() && ob < oa + g.values[a].size()) {
        ++overlaps;
        CHECK((done_before(static_cast<int>(a), static_cast<int>(b)) || done_before(static_cast<int>(b), static_cast<int>(a))));
      }
    }
  CHECK(overlaps > 0);
}

TEST_CASE("a relu's backward writes its result over its incoming gradient, fused or not") {
  Mlp mlp({.widths = {50, 60, 60, 10}, .batch = 32});
  for (bool optimized : {true, false}) {
    CAPTURE(optimized);
    Step s = compile(mlp, {.kind = graph::UpdateKind::SGD}, graph::ExecutionMode::Serial, optimized);
    const graph::Graph& g = s.executor->graph();
    const graph::BufferPlan& plan = s.executor->buffer_plan();
    int shared = 0;
    for (const graph::Node& n : g.nodes) {
      bool relu_backward =
          n.is(ad::defs::relu_grad) ||
          (n.is(graph::ops::activation_bias_grad) &&
           ad::attrs_as<graph::ActivationBiasGradAttrs>(n.attrs, "test").activation == ad::kernels::Activation::Relu);
      if (!relu_backward) continue;
      CHECK(plan.offsets[static_cast<size_t>(n.outputs[0])] == plan.offsets[static_cast<size_t>(n.inputs[1])]);
      ++shared;
    }
    CHECK(shared == 2);
  }
}

TEST_CASE("a compiled step allocates no buffers after its first run") {
  Mlp mlp({.widths = {40, 30, 10}, .batch = 16});
  for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel}) {
    Step s = compile(mlp, {.kind = graph::UpdateKind::SGD}, mode);
    s.executor->run();
    int64_t before = graph::arena_allocation_count();
    for (int i = 0; i < 10; ++i) s.executor->run();
    CHECK(graph::arena_allocation_count() == before);
  }
}

TEST_CASE("binding a tensor of the wrong size names the value and both shapes") {
  Mlp mlp({.widths = {4, 3}, .batch = 2});
  Step s = compile(mlp, {}, graph::ExecutionMode::Serial);
  CHECK_THROWS_WITH_AS(s.executor->bind(graph::Role::Input, 0, Tensor({3, 4})), doctest::Contains("[3,4]"), ad::Error);
}

TEST_CASE("a kept value bound to a tensor of the caller's is written there, before or after the first run") {
  Mlp mlp({.widths = {6, 5, 4}, .activation = "tanh", .batch = 3, .seed = 8});
  Step reference = compile(mlp, {}, graph::ExecutionMode::Serial);
  reference.executor->run();
  int p = reference.executor->graph().prediction;
  Tensor expected = reference.executor->value(p);
  for (bool after_first_run : {false, true}) {
    CAPTURE(after_first_run);
    Step s = compile(mlp, {}, graph::ExecutionMode::Serial);
    Tensor out = Tensor::full(expected.shape(), -7.f);
    if (after_first_run) s.executor->run();
    s.executor->bind_output(p, out);
    s.executor->run();
    CHECK(s.executor->data(p) == out.data());
    std::string diff = compare(out, expected, 0.f, 0.f);
    CHECK_MESSAGE(diff.empty(), diff);
  }
}

TEST_CASE("running before every input, target and parameter is bound names the one missing") {
  Mlp mlp({.widths = {6, 5, 4}, .batch = 3});
  auto params = mlp.fresh_params();
  auto g = record(mlp, params, {});
  graph::Executor e(std::move(g), {.mode = graph::ExecutionMode::Serial});
  e.bind(graph::Role::Input, 0, mlp.x);
  for (size_t i = 0; i < params.size(); ++i) e.bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
  CHECK_THROWS_WITH_AS(e.run(), doctest::Contains("target 0"), ad::Error);
  CHECK_THROWS_WITH_AS(e.run(), doctest::Contains("was never bound"), ad::Error);
  e.bind(graph::Role::Target, 0, mlp.y);
  CHECK_NOTHROW(e.run());
}

TEST_CASE("bind_output refuses a value the run does not keep, and a tensor of the wrong size") {
  Mlp mlp({.widths = {6, 5, 4}, .batch = 3});
  Step s = compile(mlp, {}, graph::ExecutionMode::Serial);
  const graph::Graph& g = s.executor->graph();
  int p = g.prediction;
  int input = -1;
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].role == graph::Role::Input) input = static_cast<int>(v);
  REQUIRE(input >= 0);
  CHECK_THROWS_WITH_AS(s.executor->bind_output(input, Tensor({3, 6})),
                       doctest::Contains("is not the loss, the prediction or a gradient"), ad::Error);
  CHECK_THROWS_WITH_AS(s.executor->bind_output(p, Tensor({4, 4})), doctest::Contains("[4,4]"), ad::Error);
}

TEST_CASE("a label out of range throws from inside the step instead of reading out of bounds") {
  Mlp mlp({.widths = {4, 3}, .batch = 2});
  for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel}) {
    Step s = compile(mlp, {.kind = graph::UpdateKind::SGD}, mode);
    Tensor bad = Tensor::from({2}, {0.f, 7.f});
    s.executor->bind(graph::Role::Target, 0, bad);
    CHECK_THROWS_WITH_AS(s.executor->run(), doctest::Contains("label 7"), ad::Error);
  }
}

TEST_CASE("a step whose loss is NaN leaves parameters and slots as they were") {
  // tanh carries the NaN through (relu would map it to 0 and keep the loss finite).
  Mlp mlp({.widths = {5, 4, 3}, .activation = "tanh", .loss = "mse", .batch = 4});
  Tensor x = mlp.x.clone();
  x[0] = NAN;
  for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel})
    for (graph::UpdateRule rule : {graph::UpdateRule{.kind = graph::UpdateKind::SGD},
                                   graph::UpdateRule{.kind = graph::UpdateKind::SGD, .momentum = 0.9f}}) {
      Step s = compile(mlp, rule, mode);
      std::vector<Tensor> slots;
      for (size_t i = 0; i < s.params.size(); ++i)
        for (size_t j = 0; j < rule.slot_names().size(); ++j) {
          slots.push_back(Tensor::full(s.params[i].shape(), 0.5f));
          s.executor->bind(graph::Role::Slot, static_cast<int>(i), slots.back());
        }
      s.executor->bind(graph::Role::Input, 0, x);
      s.executor->run();
      CHECK(std::isnan(s.executor->loss()));
      for (size_t i = 0; i < s.params.size(); ++i) CHECK(ad::max_abs_difference(s.params[i].value(), mlp.initial[i]) == 0.f);
      for (const Tensor& t : slots) CHECK(ad::max_abs_difference(t, Tensor::full(t.shape(), 0.5f)) == 0.f);
      s.executor->bind(graph::Role::Input, 0, mlp.x);  // a finite batch updates again
      s.executor->run();
      CHECK(ad::max_abs_difference(s.params[0].value(), mlp.initial[0]) > 0.f);
    }
}
