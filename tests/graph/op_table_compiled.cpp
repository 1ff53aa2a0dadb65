// The op table (tests/autodiff/ops/op_table.h) through the compiled path: every row is recorded,
// captured into a graph with its backward, optimized and executed; its loss and gradients must
// equal the eager tape's, and the compiled gradients pass a finite-difference check run on the
// compiled forward graph itself. Every op of the registry must show up in some row's graph.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/graph/executor.h"
#include "tapegrad/graph/passes.h"
#include "tests/autodiff/ops/op_table.h"
#include "tests/autodiff/test_util.h"

using ad::Tensor;
using ad::Var;

namespace {

// The row's op weighted element by element, summed: a scalar whose gradient differs per element.
Var weighted(const test::OpCase& c, std::span<const Var> x, const Tensor& weights) {
  return ad::sum(c.op(x) * ad::constant(weights));
}

struct Compiled {
  std::unique_ptr<graph::Executor> step;
  std::vector<int> gradients;
};

Compiled compile(const test::OpCase& c, std::vector<Var>& params, const Tensor& weights, bool backward,
                 std::set<std::string>* seen = nullptr) {
  ad::Tape tape;
  Var loss = weighted(c, params, weights);
  graph::Graph g = graph::Graph::from(tape, loss, {.parameters = params, .backward = backward});
  if (seen)
    for (const graph::Node& n : g.nodes) seen->insert(n.name());
  if (backward) graph::optimize(g);
  Compiled out;
  out.gradients = g.gradients;
  out.step = std::make_unique<graph::Executor>(std::move(g), graph::ExecutorOptions{.mode = graph::ExecutionMode::Serial});
  for (size_t i = 0; i < params.size(); ++i) out.step->bind(graph::Role::Parameter, static_cast<int>(i), params[i].value());
  return out;
}

}  // namespace

TEST_CASE("every op in the table runs compiled, equals the eager tape, and its graph passes gradcheck") {
  std::set<std::string> seen;
  uint64_t seed = 7000;
  for (const test::OpCase& c : test::op_cases()) {
    INFO(c.name);
    std::vector<Tensor> inputs = c.make_inputs(seed++);
    std::vector<Var> params;
    for (const Tensor& t : inputs) params.push_back(ad::param(t.clone()));
    Tensor weights = [&] {
      ad::NoGrad no_grad;
      return test::random(c.op(params).shape(), 0.5f, 1.5f, seed++);
    }();
    Compiled train = compile(c, params, weights, true, &seen);
    Compiled forward = compile(c, params, weights, false);
    // Eager.
    ad::Tape tape;
    Var loss = weighted(c, params, weights);
    loss.backward();
    // Compiled.
    train.step->run();
    CHECK(train.step->loss() == doctest::Approx(loss.item()).epsilon(1e-5));
    for (size_t i = 0; i < params.size(); ++i) {
      int gv = train.gradients[i];
      if (!params[i].has_grad()) {
        CHECK(gv < 0);
        continue;
      }
      REQUIRE(gv >= 0);
      Tensor compiled_grad = train.step->value(gv);
      CHECK_MESSAGE(test::close(compiled_grad, params[i].grad(), 1e-5f, 1e-5f),
                    fmt::format("input {}: compiled {} vs eager {}", i, compiled_grad, params[i].grad()));
      // Central differences of the compiled forward graph (it reads the parameters' storage).
      Tensor& x = params[i].value();
      for (int64_t k = 0; k < x.size(); ++k) {
        float saved = x[k], h = 1e-2f * std::max(1.f, std::fabs(saved));
        x[k] = saved + h;
        forward.step->run();
        float up = forward.step->value(forward.step->graph().prediction)[0];
        x[k] = saved - h;
        forward.step->run();
        float down = forward.step->value(forward.step->graph().prediction)[0];
        x[k] = saved;
        float numeric = (up - down) / (2 * h);
        CHECK_MESSAGE(std::fabs(numeric - compiled_grad[k]) <= 2e-2f * std::max(1.f, std::fabs(numeric)),
                      fmt::format("input {} element {}: compiled {} vs central difference {}", i, k, compiled_grad[k], numeric));
      }
    }
  }
  for (const ad::OpDef* op : ad::registered_ops()) CHECK_MESSAGE(seen.count(op->name) == 1, "no table row's graph holds ", op->name);
}
