// Every row of the op table: the forward value against its plain-loop reference, the
// analytic gradient against central differences, and gradients of the inputs' shapes.
#include <doctest/doctest.h>

#include <set>

#include "../test_util.h"
#include "tapegrad/autodiff/gradcheck.h"
#include "op_table.h"

using ad::Tensor;
using ad::Var;

namespace {

// A fixed weighting of the op's output, so the scalar that gradcheck differentiates gives
// every output element a different gradient (a plain sum would hide swapped or transposed
// gradients).
Tensor output_weights(const test::OpCase& c, const std::vector<Tensor>& inputs, uint64_t seed) {
  ad::NoGrad no_grad;
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.push_back(ad::constant(t));
  return test::random(c.op(vars).shape(), 0.5f, 1.5f, seed);
}

}  // namespace

TEST_CASE("every op in the table computes the value of its plain-loop reference") {
  REQUIRE(test::op_cases().size() > 100);
  uint64_t seed = 1;
  for (const test::OpCase& c : test::op_cases()) {
    INFO(c.name);
    std::vector<Tensor> inputs = c.make_inputs(seed++);
    std::vector<Var> vars;
    for (const Tensor& t : inputs) vars.push_back(ad::constant(t));
    Tensor actual = c.op(vars).value();
    Tensor expected = c.reference(inputs);
    REQUIRE(actual.shape() == expected.shape());
    CHECK_MESSAGE(test::close(actual, expected, 1e-5f, 1e-5f), fmt::format("{}\nvs reference {}", actual, expected));
  }
}

TEST_CASE("every op in the table passes gradcheck and gives gradients of its inputs' shapes") {
  uint64_t seed = 1000;
  for (const test::OpCase& c : test::op_cases()) {
    INFO(c.name);
    std::vector<Tensor> inputs = c.make_inputs(seed++);
    Tensor weights = output_weights(c, inputs, seed++);
    auto scalar = [&](std::span<const Var> x) { return ad::sum(c.op(x) * ad::constant(weights)); };
    ad::GradcheckResult result = ad::gradcheck(scalar, inputs);
    CHECK_MESSAGE(result.ok, result.message);

    ad::Tape tape;
    std::vector<Var> params;
    for (const Tensor& t : inputs) params.push_back(ad::param(t.clone()));
    scalar(params).backward();
    for (const Var& p : params)
      if (p.has_grad()) CHECK(p.grad().shape() == p.shape());
  }
}

TEST_CASE("the op table covers every op in ops.h") {
  // Names as they open a table row; a new op must get rows before this passes.
  const char* ops[] = {"add", "sub", "mul", "div", "neg", "x + 2", "2 + x", "x - 2", "2 - x", "x * 3", "3 * x", "x / 4",
                       "3 / x", "unary minus", "exp", "log", "square", "sqrt", "abs", "relu", "sigmoid", "tanh",
                       "softplus", "heaviside", "sign", "maximum", "minimum", "clip", "matmul", "softmax",
                       "log_softmax", "sum of all", "sum of [", "mean of all", "mean of [", "reshape", "flatten",
                       "transpose", "mse_loss", "mae_loss", "huber_loss", "binary_crossentropy [4,3] from probabilities",
                       "binary_crossentropy [4,3] from logits", "categorical_crossentropy from probabilities",
                       "categorical_crossentropy from logits", "sparse_categorical_crossentropy from probabilities",
                       "sparse_categorical_crossentropy from logits"};
  for (const char* op : ops) {
    INFO(op);
    bool found = false;
    for (const test::OpCase& c : test::op_cases()) found = found || c.name.rfind(op, 0) == 0;
    CHECK(found);
  }
  std::set<std::string> names;
  for (const test::OpCase& c : test::op_cases()) CHECK_MESSAGE(names.insert(c.name).second, c.name);
}

// NaN as IEEE arithmetic carries it: a NaN in any input reaches the value, and the gradient at
// that element is NaN for every op whose derivative depends on the input's value (all but the
// linear ones, whose derivative is a constant). A comparison-based kernel (relu as x > 0 ? x : 0)
// would turn it into 0 and let a NaN in the data train on silently.
TEST_CASE("every op in the table carries a NaN in any input to its value and to its gradient") {
  const char* value_dependent[] = {"exp",     "log",      "square",   "sqrt",        "abs",     "relu",
                                   "sigmoid", "tanh",     "softplus", "heaviside",   "sign",    "clip",
                                   "maximum", "minimum",  "softmax",  "log_softmax", "mse_loss", "mae_loss",
                                   "huber_loss", "binary_crossentropy", "categorical_crossentropy",
                                   "sparse_categorical_crossentropy from logits"};
  auto starts_with = [](const std::string& name, const char* prefix) { return name.rfind(prefix, 0) == 0; };
  uint64_t seed = 5000;
  int gradients_checked = 0;
  for (const test::OpCase& c : test::op_cases()) {
    // It reads one probability per row, the label's: a NaN elsewhere does not enter its value.
    if (starts_with(c.name, "sparse_categorical_crossentropy from probabilities")) continue;
    for (size_t k = 0; k < c.shapes.size(); ++k) {
      std::string label = fmt::format("{}, NaN in input {}", c.name, k);
      INFO(label);
      std::vector<Tensor> inputs = c.make_inputs(seed++);
      inputs[k][0] = NAN;
      ad::Tape tape;
      std::vector<Var> params;
      for (const Tensor& t : inputs) params.push_back(ad::param(t.clone()));
      Var out = c.op(params);
      bool any_nan = false;
      for (float v : out.value().values()) any_nan = any_nan || std::isnan(v);
      CHECK(any_nan);
      bool depends = false;
      for (const char* op : value_dependent) depends = depends || starts_with(c.name, op);
      if (!depends) continue;
      ad::sum(out).backward();
      CHECK(std::isnan(params[k].grad()[0]));
      ++gradients_checked;
    }
  }
  CHECK(gradients_checked > 50);
}
