// Models built from ops that used to make the whole model fall back to the eager tape — softplus
// layers, MAE and Huber losses, RMSprop, a transpose, reductions along an axis, and a user's own
// op — now train through the compiled graph, and step by step give what the eager tape gives.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "tapegrad/autodiff/op.h"
#include "tapegrad/autodiff/ops.h"
#include "tapegrad/graph/executor.h"
#include "tapegrad/graph/graph.h"
#include "tapegrad/nn/compiled_step.h"
#include "tapegrad/nn/eager_step.h"
#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/optimizers/adam.h"
#include "tapegrad/nn/optimizers/rmsprop.h"
#include "tapegrad/nn/optimizers/sgd.h"
#include "../autodiff/short_backward_op.h"
#include "tapegrad/nn/sequential.h"

namespace {

using ad::Shape;
using ad::Tensor;
using ad::Var;

// A user's op, defined outside the library: y = x·|x| (a signed square), gradient 2|x|.
const ad::OpDef signed_square{
    .name = "signed_square",
    .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
    .forward =
        [](const ad::KernelArgs& k) {
          for (int64_t i = 0; i < k.out[0].size; ++i) k.out[0].data[i] = k.in[0].data[i] * std::fabs(k.in[0].data[i]);
        },
    .backward = [](const ad::BackwardArgs& b) -> ad::Gradients { return {b.grad * ad::abs(b.inputs[0]) * 2.f}; }};

// A subclassed model whose call() uses a transpose, reductions along axes and the user's op
// between two Dense layers.
class Mixer : public nn::Model {
 public:
  Mixer() : Model("mixer") {
    hidden_->set_name("dense");
    output_->set_name("dense_1");
    layers_ = {hidden_, output_};
  }
  std::string type() const override { return "Mixer"; }
  Shape input_shape() const override { return hidden_->input_shape(); }
  Shape output_shape() const override { return output_->output_shape(output_->input_shape()); }
  nn::Json get_config() const override { return {{"name", name()}, {"type", type()}}; }

 protected:
  Var call(const Var& x, bool /*training*/) override {
    Var h = hidden_->call(x);                                   // [n, 6]
    Var centred = h - ad::mean(h, 1, true);                     // per-row centring: an axis mean
    Var t = ad::transpose(ad::apply(signed_square, {centred}));  // [6, n]
    Var back = ad::transpose(t) + ad::sum(t, 1, false) * 0.01f;  // an axis sum on the path as well: [6]
    return output_->call(back * 0.5f);
  }
  void build_layers(const Shape& input_shape, ad::Rng& rng, bool redraw) override {
    build_layer(*output_, build_layer(*hidden_, input_shape, rng, redraw), rng, redraw);
  }

 private:
  std::shared_ptr<nn::Dense> hidden_ = std::make_shared<nn::Dense>(6, "softplus");
  std::shared_ptr<nn::Dense> output_ = std::make_shared<nn::Dense>(2);
};

struct Batch {
  Tensor x, y;
};

Batch regression(int64_t n, uint64_t seed) {
  ad::Rng rng(seed);
  Batch b{Tensor::uniform({n, 5}, -1, 1, rng), Tensor::empty({n, 2})};
  for (int64_t i = 0; i < n; ++i) {
    b.y[i * 2] = b.x[i * 5] - 0.5f * b.x[i * 5 + 3];
    b.y[i * 2 + 1] = std::sin(2 * b.x[i * 5 + 1]);
  }
  return b;
}

// Trains two copies step by step, one through each runner; the compiled one must really be
// compiled, and both must agree on every loss and weight.
template <typename MakeModel>
void check_compiled_equals_eager(MakeModel make, int steps) {
  Batch b = regression(24, 3);
  auto eager_model = make(), compiled_model = make();
  nn::EagerStep eager(*eager_model);
  nn::CompiledStep compiled(*compiled_model);
  for (int s = 0; s < steps; ++s) {
    CAPTURE(s);
    Tensor pe, pc;
    float le = eager.train(b.x, b.y, pe), lc = compiled.train(b.x, b.y, pc);
    REQUIRE_MESSAGE(compiled.supported(), compiled.reason());
    CHECK(std::string(compiled.kind()) == "compiled");
    CHECK(lc == doctest::Approx(le).epsilon(1e-5));
    CHECK(ad::max_abs_difference(pc, pe) <= 1e-5f);
  }
  auto we = eager_model->get_weights(), wc = compiled_model->get_weights();
  REQUIRE(we.size() == wc.size());
  for (size_t i = 0; i < we.size(); ++i) CHECK(ad::max_abs_difference(wc[i], we[i]) <= 1e-5f);
  // Every node of the step ran in the executor: the graph holds the model's ops themselves.
  std::string text = compiled.describe(b.x.shape());
  CHECK(text.find("fusion report") != std::string::npos);
}

std::unique_ptr<nn::Sequential> softplus_model(const char* loss, nn::OptimizerRef optimizer) {
  auto m = std::make_unique<nn::Sequential>(
      nn::Sequential({nn::Dense(8, "softplus"), nn::Dense(8, "softplus"), nn::Dense(2)}));
  m->build({5}, 7);
  m->compile({.loss = loss, .optimizer = std::move(optimizer)});
  return m;
}

}  // namespace

TEST_CASE("softplus layers with Huber loss and RMSprop train compiled, as the eager tape does") {
  check_compiled_equals_eager([] { return softplus_model("huber", nn::RMSprop(0.01)); }, 5);
}

TEST_CASE("softplus layers with MAE loss and Adam train compiled, as the eager tape does") {
  check_compiled_equals_eager([] { return softplus_model("mae", nn::Adam(0.01)); }, 5);
}

TEST_CASE("a subclassed model with a transpose, axis reductions and a user's own op trains compiled") {
  auto make = [] {
    auto m = std::make_unique<Mixer>();
    m->build({5}, 11);
    m->compile({.loss = "mse", .optimizer = nn::SGD(0.05, {.momentum = 0.5})});
    return m;
  };
  check_compiled_equals_eager(make, 5);
  auto m = make();
  nn::CompiledStep step(*m);
  Batch b = regression(24, 3);
  Tensor p;
  step.train(b.x, b.y, p);
  std::string text = step.describe(b.x.shape());
  for (const char* op : {"signed_square", "transpose", "mean_axis", "sum_axis", "softplus"}) {
    CAPTURE(op);
    CHECK(text.find(op) != std::string::npos);
  }
}

namespace {

// A rule that reads its input's values (detach) instead of applying ops: eagerly it works, but
// a graph would bake the traced placeholder into a constant.
const ad::OpDef reads_values{
    .name = "reads_values",
    .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
    .forward =
        [](const ad::KernelArgs& k) {
          for (int64_t i = 0; i < k.out[0].size; ++i) k.out[0].data[i] = k.in[0].data[i] * k.in[0].data[i];
        },
    .backward = [](const ad::BackwardArgs& b) -> ad::Gradients { return {b.grad * b.inputs[0].detach() * 2.f}; }};

}  // namespace

TEST_CASE("a backward rule that answers for fewer inputs than the op has is refused by the graph, naming the op") {
  Var x = ad::param(Tensor::from({3}, {1, -2, 3})), y = ad::param(Tensor::from({3}, {2, 2, 2}));
  ad::Tape tape;
  Var loss = ad::sum(ad::apply(test::short_backward_op, {x, y}));
  CHECK_THROWS_WITH_AS(graph::Graph::from(tape, loss, {.parameters = {x, y}}),
                       doctest::Contains("short_backward: backward returned 1 gradients for 2 inputs"), ad::Error);
}

TEST_CASE("a backward rule that reads values instead of applying ops is refused by the graph, naming the op") {
  Var x = ad::param(Tensor::from({3}, {1, -2, 3}));
  {
    ad::Tape tape;
    ad::sum(ad::apply(reads_values, {x})).backward();
    CHECK(ad::max_abs_difference(x.grad(), Tensor::from({3}, {2, -4, 6})) == 0.f);  // eagerly fine
  }
  ad::Tape tape;
  Var loss = ad::sum(ad::apply(reads_values, {x}));
  CHECK_THROWS_WITH_AS(graph::Graph::from(tape, loss, {.parameters = {x}}), doctest::Contains("reads_values"), ad::Error);
}

TEST_CASE("the compiled step refuses targets of another shape than its graph was made for") {
  auto m = softplus_model("mse", nn::SGD(0.1));
  nn::CompiledStep step(*m);
  Batch b = regression(8, 2);
  Tensor p;
  step.train(b.x, b.y, p);
  CHECK_THROWS_WITH_AS(step.train(b.x, b.y.reshape({4, 4}), p), doctest::Contains("[4,4]"), ad::Error);
}

TEST_CASE("a parameter read without its gradient (detach) stays live in the compiled step") {
  // loss = mse(x·W) + 0.1·sum(W ⊙ W.detach()): the second term's gradient is 0.1·W, from W's
  // current value at every step, not the value it had when the graph was made.
  Batch b = regression(8, 5);
  ad::Rng rng(2);
  Tensor w0 = Tensor::uniform({5, 2}, -0.5f, 0.5f, rng);
  auto step_loss = [&](const Var& W) {
    return ad::mse_loss(ad::matmul(ad::constant(b.x), W), ad::constant(b.y)) + ad::sum(W * W.detach()) * 0.1f;
  };
  Var We = ad::param(w0.clone()), Wc = ad::param(w0.clone());
  std::unique_ptr<graph::Executor> step;
  for (int s = 0; s < 3; ++s) {
    CAPTURE(s);
    ad::Tape tape;
    Var le = step_loss(We);
    le.backward();
    float expected = le.item();
    {
      ad::NoGrad update;
      for (int64_t i = 0; i < We.size(); ++i) We.value()[i] -= 0.1f * We.grad()[i];
    }
    We.zero_grad();
    if (!step) {
      ad::Tape record;
      Var lc = step_loss(Wc);
      graph::Graph g = graph::Graph::from(record, lc, {.parameters = {Wc},
                                                      .update = {.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f}});
      step = std::make_unique<graph::Executor>(std::move(g));
      step->bind(graph::Role::Parameter, 0, Wc.value());
    }
    step->run({.learning_rate = 0.1f});
    CHECK(step->loss() == doctest::Approx(expected).epsilon(1e-5));
  }
  CHECK(ad::max_abs_difference(Wc.value(), We.value()) <= 1e-5f);
}
