// Row-split weights (graph/row_split.h): forced on, off or chosen by timing, a step trains to
// the eager step's weights with every hidden activation; only a weight whose GEMMs are its
// forward product and its folded SGD update, with enough rows, is split, and only with more than
// one thread; the report names the weights and the choice.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <regex>

#include "tapegrad/autodiff/threading.h"
#include "tapegrad/graph/executor.h"
#include "tapegrad/graph/passes.h"
#include "mlp.h"

using namespace graph_test;

namespace {

struct Threads {
  explicit Threads(int n) { ad::set_num_threads(n); }
  ~Threads() { ad::set_num_threads(0); }
};

using Step = CompiledMlp;

Step compile(const Mlp& mlp, graph::UpdateRule rule, graph::ExecutorOptions options) {
  return compile_mlp(mlp, rule, options);
}

// The eager reference: `steps` SGD steps on the tape; the losses, and the weights in `params`.
std::vector<float> eager_sgd(const Mlp& mlp, std::vector<Var>& params, float lr, int steps) {
  std::vector<float> losses;
  for (int t = 0; t < steps; ++t) {
    ad::Tape tape;
    for (auto& p : params) p.zero_grad();
    Var loss = mlp.loss(params);
    loss.backward();
    losses.push_back(loss.item());
    for (auto& p : params)
      for (int64_t k = 0; k < p.size(); ++k) p.value()[k] -= lr * p.grad()[k];
  }
  return losses;
}

const graph::UpdateRule kSgd{.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f};

}  // namespace

TEST_CASE("a step with its first layer split by rows trains to the eager step's weights, split or whole") {
  Threads two(2);
  for (std::string act : {"relu", "sigmoid", "tanh", "softplus", "linear"})
    for (int64_t batch : {5, 32}) {
      CAPTURE(act);
      CAPTURE(batch);
      // 301 input features: the two blocks of rows differ in size.
      Mlp mlp({.widths = {301, 40, 10}, .activation = act, .batch = batch, .seed = 4});
      const int steps = 6;
      auto eager = mlp.fresh_params();
      std::vector<float> losses = eager_sgd(mlp, eager, kSgd.learning_rate, steps);
      for (auto mode : {graph::RowSplitMode::On, graph::RowSplitMode::Off, graph::RowSplitMode::Auto}) {
        CAPTURE(static_cast<int>(mode));
        Step s = compile(mlp, kSgd, {.mode = graph::ExecutionMode::Serial, .trial_runs = 1, .row_split = mode});
        graph::Executor& e = *s.step;
        for (int t = 0; t < steps; ++t) {
          e.run({.learning_rate = kSgd.learning_rate});
          CHECK(e.loss() == doctest::Approx(losses[static_cast<size_t>(t)]).epsilon(1e-4));
        }
        if (mode == graph::RowSplitMode::On) {
          CHECK(e.row_split_chosen());
          REQUIRE(e.row_split() != nullptr);
          CHECK(e.row_split()->node_runs() == 2 * steps);  // the forward and the folded update, each step
        }
        if (mode == graph::RowSplitMode::Off) {
          CHECK_FALSE(e.row_split_chosen());
          CHECK(e.row_split() == nullptr);
        }
        CHECK(e.row_split_decided());
        for (size_t i = 0; i < eager.size(); ++i) {
          CAPTURE(i);
          std::string diff = compare(s.params[i].value(), eager[i].value(), 1e-4f, 1e-3f);
          CHECK_MESSAGE(diff.empty(), diff);
        }
      }
    }
}

TEST_CASE("the row split leaves whole what it cannot split, and the report names the weight and the choice") {
  Mlp mlp({.widths = {300, 40, 10}, .batch = 8});
  SUBCASE("one thread: nothing to split over") {
    Threads one(1);
    Step s = compile(mlp, kSgd, {.mode = graph::ExecutionMode::Serial, .row_split = graph::RowSplitMode::On});
    CHECK_FALSE(s.step->row_split_chosen());
    CHECK(s.step->row_split_report().empty());
  }
  SUBCASE("the separate SGD form forced: a split would fold SGD into its GEMMs, so none is made") {
    Threads two(2);
    Step s = compile(mlp, kSgd, {.mode = graph::ExecutionMode::Serial, .sgd_gemm_form = graph::GemmForm::Separate,
                                 .row_split = graph::RowSplitMode::On});
    CHECK_FALSE(s.step->row_split_chosen());
    CHECK(s.step->row_split_report().empty());
  }
  SUBCASE("parallel order forced: the nodes already share the threads") {
    Threads two(2);
    Step s = compile(mlp, kSgd, {.mode = graph::ExecutionMode::Parallel, .row_split = graph::RowSplitMode::On});
    CHECK_FALSE(s.step->row_split_chosen());
  }
  SUBCASE("a weight read by another node (its value in the loss, as a weight penalty would) stays whole") {
    Threads two(2);
    auto params = mlp.fresh_params();
    ad::Tape tape;
    Var loss = mlp.loss(params) + ad::sum(ad::square(params[0])) * 1e-3f;
    auto g = graph::Graph::from(tape, loss, {.inputs = {mlp.x}, .targets = {mlp.y}, .parameters = params, .update = kSgd});
    graph::optimize(g);
    graph::Executor e(std::move(g), {.mode = graph::ExecutionMode::Serial, .row_split = graph::RowSplitMode::On});
    CHECK(e.row_split_report().empty());
  }
  SUBCASE("two threads, SGD: the first layer (300 rows) is split, the second (40 rows) is not") {
    Threads two(2);
    Step s = compile(mlp, kSgd, {.mode = graph::ExecutionMode::Serial, .trial_runs = 2, .row_split = graph::RowSplitMode::Auto});
    graph::Executor& e = *s.step;
    // Serial order: forms timed on runs 1 to 4, the split on runs 5 to 8.
    for (int r = 0; r < 8; ++r) e.run({.learning_rate = kSgd.learning_rate});
    CHECK_FALSE(e.row_split_decided());
    CHECK(e.row_split_report().find("(not decided yet)") != std::string::npos);
    e.run({.learning_rate = kSgd.learning_rate});
    REQUIRE(e.row_split_decided());
    std::string report = e.row_split_report();
    CAPTURE(report);
    std::regex lines(R"((\S+) \[300,40\]: rows split over 2 threads: fused_dense#\d+, matmul_sgd_update#\d+
step with the rows split ([0-9.]+) ms, without ([0-9.]+) ms -> (split|whole)
)");
    std::smatch m;
    REQUIRE(std::regex_match(report, m, lines));
    CHECK(m[1].str() == e.graph().values[static_cast<size_t>(e.graph().parameters[0])].name);
    bool faster_split = std::stod(m[2].str()) < std::stod(m[3].str());
    CHECK((m[4].str() == "split") == e.row_split_chosen());
    // The times are rounded to µs in the report: only a clear difference decides the check.
    if (std::fabs(std::stod(m[2].str()) - std::stod(m[3].str())) > 0.002) CHECK(e.row_split_chosen() == faster_split);
  }
}

TEST_CASE("every optimizer's step with the first layer split by rows equals the step without") {
  // 3 threads: three partial products to sum, blocks of 100 and 101 rows. 301 x 120 weights:
  // each block's update runs in two chunks.
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    Threads count(threads);
    Mlp mlp({.widths = {301, 120, 6}, .activation = "tanh", .batch = 16, .seed = 6});
    const graph::UpdateRule rules[] = {
        {.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f},
        {.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f, .momentum = 0.9f},
        {.kind = graph::UpdateKind::SGD, .learning_rate = 0.05f, .momentum = 0.9f, .nesterov = true},
        {.kind = graph::UpdateKind::Adam, .learning_rate = 0.01f},
        {.kind = graph::UpdateKind::RMSprop, .learning_rate = 0.01f},
        {.kind = graph::UpdateKind::RMSprop, .learning_rate = 0.01f, .momentum = 0.5f},
    };
    for (const graph::UpdateRule& rule : rules) {
      std::string label = fmt::format("kind {} momentum {} nesterov {}", static_cast<int>(rule.kind), rule.momentum, rule.nesterov);
      CAPTURE(label);
      Step split = compile(mlp, rule, {.mode = graph::ExecutionMode::Serial, .row_split = graph::RowSplitMode::On});
      Step whole = compile(mlp, rule, {.mode = graph::ExecutionMode::Serial, .row_split = graph::RowSplitMode::Off});
      REQUIRE(split.step->row_split_chosen());
      REQUIRE(split.step->row_split() != nullptr);
      CHECK(split.step->row_split_report().find(split.step->graph().values[static_cast<size_t>(
                                                        split.step->graph().parameters[0])].name) != std::string::npos);
      for (int t = 1; t <= 5; ++t) {
        split.step->run({.learning_rate = rule.learning_rate, .iteration = t});
        whole.step->run({.learning_rate = rule.learning_rate, .iteration = t});
        CHECK(split.step->loss() == doctest::Approx(whole.step->loss()).epsilon(1e-5));
      }
      // Forward, gradient GEMM and update each step; plain SGD: forward and folded update.
      int64_t per_step = rule.kind == graph::UpdateKind::SGD && rule.momentum == 0.f ? 2 : 3;
      CHECK(split.step->row_split()->node_runs() == 5 * per_step);
      // Adam and RMSprop divide by the gradient's own size: a gradient near their epsilon moves
      // its weight by up to lr·g/(|g| + epsilon), whose slope lr/epsilon turns the split's other
      // summation order (an ulp of g) into up to about 1e-3 lr a step. A wrong row moves by lr.
      bool normalised = rule.kind != graph::UpdateKind::SGD;
      float atol = normalised ? 5e-3f * rule.learning_rate : 1e-5f;
      for (size_t i = 0; i < split.params.size(); ++i) {
        CAPTURE(i);
        std::string diff = compare(split.params[i].value(), whole.params[i].value(), atol, 1e-4f);
        CHECK_MESSAGE(diff.empty(), diff);
      }
    }
  }
}

TEST_CASE("by default a qualifying weight runs split in serial order, so that two runs give the same bits") {
  Threads two(2);
  Mlp mlp({.widths = {300, 40, 10}, .batch = 8, .seed = 9});
  const graph::UpdateRule adam{.kind = graph::UpdateKind::Adam, .learning_rate = 0.01f};
  Step first = compile(mlp, adam, {});
  Step second = compile(mlp, adam, {});
  for (int t = 1; t <= 12; ++t) {  // past where Auto would time orders and the split
    first.step->run({.learning_rate = adam.learning_rate, .iteration = t});
    second.step->run({.learning_rate = adam.learning_rate, .iteration = t});
  }
  CHECK(first.step->row_split_chosen());
  CHECK(first.step->row_split_decided());
  CHECK(first.step->chosen_mode() == graph::ExecutionMode::Serial);
  CHECK(first.step->row_split()->node_runs() == 12 * 3);
  CHECK(first.step->row_split_report().find("(on: the default") != std::string::npos);
  for (size_t i = 0; i < first.params.size(); ++i) CHECK(first.params[i].value().to_vector() == second.params[i].value().to_vector());
}

TEST_CASE("a step that skips its updates for a NaN loss leaves a split weight as it was") {
  Threads two(2);
  Mlp mlp({.widths = {300, 20, 4}, .batch = 4});
  Step s = compile(mlp, kSgd, {.mode = graph::ExecutionMode::Serial, .row_split = graph::RowSplitMode::On});
  REQUIRE(s.step->row_split_chosen());
  Tensor before = s.params[0].value().clone();
  Tensor x = mlp.x.clone();
  x[0] = NAN;
  s.step->bind(graph::Role::Input, 0, x);
  s.step->run({.learning_rate = kSgd.learning_rate});
  CHECK(std::isnan(s.step->loss()));
  CHECK(compare(s.params[0].value(), before, 0.f, 0.f).empty());
}
