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
