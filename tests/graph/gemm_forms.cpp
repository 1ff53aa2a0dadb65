// The two forms of a weight-gradient GEMM with SGD folded in (graph::GemmForm): forced or
// chosen by timing, both train to the eager step's weights, allocate no arena after the first
// run, and the choice is reported per node with the times it was made from.
#include <doctest/doctest.h>

#include <regex>
#include <sstream>

#include "tapegrad/graph/executor.h"
#include "tapegrad/graph/passes.h"
#include "mlp.h"

using namespace graph_test;

namespace {

struct Step {
  std::vector<Var> params;
  std::unique_ptr<graph::Executor> executor;
};

Step compile(const Mlp& mlp, float learning_rate, graph::ExecutorOptions options) {
  Step s;
  s.params = mlp.fresh_params();
  auto g = record(mlp, s.params, {.kind = graph::UpdateKind::SGD, .learning_rate = learning_rate});
  graph::optimize(g);
  s.executor = std::make_unique<graph::Executor>(std::move(g), options);
  s.executor->bind(graph::Role::Input, 0, mlp.x);
  s.executor->bind(graph::Role::Target, 0, mlp.y);
  for (size_t i = 0; i < s.params.size(); ++i)
    s.executor->bind(graph::Role::Parameter, static_cast<int>(i), s.params[i].value());
  return s;
}

std::vector<int> sgd_gemm_nodes(const graph::Executor& e) {
  std::vector<int> nodes;
  for (size_t i = 0; i < e.graph().nodes.size(); ++i)
    if (e.graph().nodes[i].is(graph::ops::matmul_sgd_update)) nodes.push_back(static_cast<int>(i));
  return nodes;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const char* form_name(graph::GemmForm f) {
  return f == graph::GemmForm::Auto ? "auto" : (f == graph::GemmForm::Folded ? "folded" : "separate");
}

}  // namespace

TEST_CASE("each form of the SGD weight-gradient GEMMs, forced or timed, trains to the eager step's weights") {
  Mlp mlp({.widths = {30, 40, 20, 5}, .activation = "tanh", .batch = 16, .seed = 3});
  const float lr = 0.05f;
  const int steps = 12;  // past Auto's trials of the order and of the forms (trial_runs 2)
  // The eager reference: the tape's gradients, then w -= lr·g.
  auto eager = mlp.fresh_params();
  std::vector<float> eager_losses;
  for (int t = 0; t < steps; ++t) {
    ad::Tape tape;
    for (auto& p : eager) p.zero_grad();
    Var loss = mlp.loss(eager);
    loss.backward();
    eager_losses.push_back(loss.item());
    for (auto& p : eager)
      for (int64_t k = 0; k < p.size(); ++k) p.value()[k] -= lr * p.grad()[k];
  }
  for (auto form : {graph::GemmForm::Folded, graph::GemmForm::Separate, graph::GemmForm::Auto})
    for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel, graph::ExecutionMode::Auto}) {
      CAPTURE(form_name(form));
      CAPTURE(static_cast<int>(mode));
      Step s = compile(mlp, lr, {.mode = mode, .trial_runs = 2, .sgd_gemm_form = form});
      graph::Executor& e = *s.executor;
      auto nodes = sgd_gemm_nodes(e);
      REQUIRE(nodes.size() == 3);  // every layer's kernel update is folded by the pass
      for (int t = 0; t < steps; ++t) {
        e.run({.learning_rate = lr});
        CHECK(e.loss() == doctest::Approx(eager_losses[static_cast<size_t>(t)]).epsilon(1e-4));
      }
      CHECK(e.gemm_forms_decided());
      for (int n : nodes) {
        if (form != graph::GemmForm::Auto) CHECK(e.gemm_form(n) == form);
        // The separate form's plain GEMM exists exactly when the node runs in that form.
        CHECK((e.separate_plan(n) != nullptr) == (e.gemm_form(n) == graph::GemmForm::Separate));
        if (const auto* plain = e.separate_plan(n)) {
          CHECK_FALSE(plain->spec().accumulate);
          CHECK(plain->spec().scale == 1.f);
          CHECK(plain->spec().trans_a == e.gemm_plan(n)->spec().trans_a);
        }
      }
      for (size_t i = 0; i < eager.size(); ++i) {
        CAPTURE(i);
        std::string diff = compare(s.params[i].value(), eager[i].value(), 1e-4f, 1e-3f);
        CHECK_MESSAGE(diff.empty(), diff);
      }
    }
}

TEST_CASE("the executor times both forms per node after the order is settled, keeps the faster and reports it") {
  Mlp mlp({.widths = {50, 40, 10}, .batch = 32});
  for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Auto}) {
    CAPTURE(static_cast<int>(mode));
    const int trials = 2;
    Step s = compile(mlp, 0.01f, {.mode = mode, .trial_runs = trials});
    graph::Executor& e = *s.executor;
    auto nodes = sgd_gemm_nodes(e);
    REQUIRE(nodes.size() == 2);
    // Auto first times the orders (runs 1 to 2·trials), then the forms; an explicit order
    // times the forms from the second run. The first run (cold caches) is never timed.
    int begin = mode == graph::ExecutionMode::Auto ? 2 * trials + 1 : 1;
    for (int r = 0; r < begin + 2 * trials - 1; ++r) e.run();
    CHECK_FALSE(e.gemm_forms_decided());
    auto undecided = lines_of(e.gemm_form_report());
    CHECK(undecided.size() == nodes.size());
    for (const std::string& line : undecided) CHECK(line.find("(not decided yet)") != std::string::npos);
    e.run();
    REQUIRE(e.gemm_forms_decided());
    auto lines = lines_of(e.gemm_form_report());
    REQUIRE(lines.size() == nodes.size());
    std::regex row(R"((\S+) \[(\d+),(\d+)\] \+= -lr \* .*: folded ([0-9.]+) µs, separate ([0-9.]+) µs -> (folded|separate))");
    for (size_t k = 0; k < nodes.size(); ++k) {
      CAPTURE(lines[k]);
      std::smatch m;
      REQUIRE(std::regex_match(lines[k], m, row));
      const graph::Value& w = e.graph().values[static_cast<size_t>(e.graph().nodes[static_cast<size_t>(nodes[k])].outputs[0])];
      CHECK(m[1].str() == w.name);
      CHECK(std::stoll(m[2].str()) == w.shape[0]);
      CHECK(std::stoll(m[3].str()) == w.shape[1]);
      double folded = std::stod(m[4].str()), separate = std::stod(m[5].str());
      CHECK(folded > 0);
      CHECK(separate > 0);
      graph::GemmForm chosen = e.gemm_form(nodes[k]);
      CHECK(m[6].str() == form_name(chosen));
      // The faster form (the report rounds to 0.1 µs: a tie there says nothing).
      if (folded != separate) CHECK(chosen == (separate < folded ? graph::GemmForm::Separate : graph::GemmForm::Folded));
    }
  }
}

TEST_CASE("a forced form is reported as forced, with no times") {
  Mlp mlp({.widths = {12, 8, 3}, .batch = 4});
  Step s = compile(mlp, 0.01f, {.mode = graph::ExecutionMode::Serial, .sgd_gemm_form = graph::GemmForm::Separate});
  CHECK(s.executor->gemm_forms_decided());
  for (int r = 0; r < 4; ++r) s.executor->run();
  auto lines = lines_of(s.executor->gemm_form_report());
  REQUIRE(lines.size() == 2);
  for (const std::string& line : lines) {
    CAPTURE(line);
    CHECK(line.find("folded -, separate - -> separate (forced)") != std::string::npos);
  }
}

TEST_CASE("neither form allocates arena memory after the first run") {
  Mlp mlp({.widths = {40, 30, 10}, .batch = 16});
  for (auto form : {graph::GemmForm::Auto, graph::GemmForm::Folded, graph::GemmForm::Separate})
    for (auto mode : {graph::ExecutionMode::Serial, graph::ExecutionMode::Parallel, graph::ExecutionMode::Auto}) {
      CAPTURE(form_name(form));
      CAPTURE(static_cast<int>(mode));
      Step s = compile(mlp, 0.01f, {.mode = mode, .sgd_gemm_form = form});
      s.executor->run();
      int64_t before = graph::arena_allocation_count();
      for (int i = 0; i < 16; ++i) s.executor->run();  // across both trials and the chosen forms
      CHECK(s.executor->gemm_forms_decided());
      CHECK(graph::arena_allocation_count() == before);
    }
}
