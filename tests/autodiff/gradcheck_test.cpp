#include "tapegrad/autodiff/gradcheck.h"

#include <doctest/doctest.h>

#include "tapegrad/autodiff/op.h"
#include "tapegrad/autodiff/ops.h"
#include "test_util.h"

using ad::Tensor;
using ad::Var;

namespace {

// x * x with a backward that forgets the factor 2: what gradcheck exists to catch.
const ad::OpDef wrong_square_op{
    .name = "wrong_square",
    .infer = [](ad::ShapeArgs s) { return *s.inputs[0]; },
    .forward =
        [](const ad::KernelArgs& k) {
          for (int64_t i = 0; i < k.out[0].size; ++i) k.out[0].data[i] = k.in[0].data[i] * k.in[0].data[i];
        },
    .backward = [](const ad::BackwardArgs& b) -> ad::Gradients { return {b.grad * b.inputs[0]}; }};

Var wrong_square(const Var& a) { return ad::apply(wrong_square_op, {a}); }

}  // namespace

TEST_CASE("gradcheck accepts a correct gradient") {
  auto result = ad::gradcheck([](std::span<const Var> x) { return ad::sum(ad::tanh(x[0]) * x[1]); },
                              {test::random({3, 4}, -1, 1, 1), test::random({3, 4}, -1, 1, 2)});
  CHECK_MESSAGE(result.ok, result.message);
  CHECK(result.max_abs_error < 1e-3f);
}

TEST_CASE("gradcheck rejects a wrong gradient and names the input and element") {
  auto result = ad::gradcheck([](std::span<const Var> x) { return ad::sum(wrong_square(x[0])); },
                              {Tensor::from({3}, {1, 2, 3})});
  CHECK_FALSE(result.ok);
  CHECK(test::contains(result.message, "input 0 element 0"));
  CHECK(test::contains(result.message, "analytic 1"));
  CHECK(result.max_abs_error == doctest::Approx(3).epsilon(0.01));  // element 2: 3 vs 6
}

TEST_CASE("gradcheck leaves the caller's tensors untouched") {
  Tensor x = Tensor::from({2}, {0.5f, -0.25f});
  Tensor copy = x.clone();
  (void)ad::gradcheck([](std::span<const Var> v) { return ad::sum(ad::square(v[0])); }, {x});
  CHECK(ad::max_abs_difference(x, copy) == 0.f);
}

TEST_CASE("gradcheck treats an input the function ignores as having gradient zero") {
  auto result = ad::gradcheck([](std::span<const Var> x) { return ad::sum(x[0]); },
                              {Tensor::ones({2}), Tensor::ones({3})});
  CHECK_MESSAGE(result.ok, result.message);
}

TEST_CASE("gradcheck needs a one-element function value") {
  std::string message = test::error_of([] {
    ad::gradcheck([](std::span<const Var> x) { return x[0] * 2.f; }, {Tensor::ones({2, 2})});
  });
  CHECK(test::contains(message, "gradcheck"));
  CHECK(test::contains(message, "[2,2]"));
}
