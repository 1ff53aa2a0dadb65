#include <doctest/doctest.h>

#include "../test_util.h"

using ad::Shape;
using ad::Tensor;
using ad::Var;

TEST_CASE("matmul of an empty batch gives an empty result and zero weight gradients") {
  ad::Tape tape;
  Var x = ad::param(Tensor::zeros({0, 4})), W = ad::param(Tensor::ones({4, 3}));
  Var y = ad::matmul(x, W);
  CHECK(y.shape() == Shape{0, 3});
  ad::sum(y).backward();
  REQUIRE(W.grad().shape() == Shape{4, 3});
  for (float v : W.grad().values()) CHECK(v == 0.f);
}

TEST_CASE("matmul with an inner dimension of 0 gives zeros") {
  Var y = ad::matmul(ad::constant(Tensor::zeros({3, 0})), ad::constant(Tensor::zeros({0, 2})));
  CHECK(test::close(y.value(), Tensor::zeros({3, 2})));
}

TEST_CASE("matmul reads operands that are row views of a larger tensor") {
  Tensor x = test::random({6, 3}, -1, 1, 4), W = test::random({3, 2}, -1, 1, 5);
  Tensor whole = ad::matmul(ad::constant(x), ad::constant(W)).value();
  Tensor part = ad::matmul(ad::constant(x.rows(2, 5)), ad::constant(W)).value();
  CHECK(test::close(part, whole.rows(2, 5)));
}
