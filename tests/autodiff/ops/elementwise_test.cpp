#include <doctest/doctest.h>

#include "../test_util.h"

using ad::Tensor;
using ad::Var;

TEST_CASE("heaviside and sign give steps forward and a zero gradient") {
  Tensor x = Tensor::from({5}, {-2, -0.f, 0, 1e-8f, 3});
  ad::Tape tape;
  Var p = ad::param(x);
  Var h = ad::heaviside(p), s = ad::sign(p);
  CHECK(test::close(h.value(), Tensor::from({5}, {0, 1, 1, 1, 1})));
  CHECK(test::close(s.value(), Tensor::from({5}, {-1, 0, 0, 1, 1})));
  ad::sum(h * 3.f + s * 2.f).backward();
  REQUIRE(p.has_grad());
  CHECK(p.grad().shape() == p.shape());
  for (float g : p.grad().values()) CHECK(g == 0.f);
}

TEST_CASE("the element-wise functions stay finite at extreme inputs") {
  Tensor x = Tensor::from({4}, {-1e4f, -80, 80, 1e4f});
  CHECK(test::close(ad::sigmoid(ad::constant(x)).value(), Tensor::from({4}, {0, 0, 1, 1})));
  CHECK(test::close(ad::softplus(ad::constant(x)).value(), Tensor::from({4}, {0, 0, 80, 1e4f})));
  CHECK(test::close(ad::tanh(ad::constant(x)).value(), Tensor::from({4}, {-1, -1, 1, 1})));
}

TEST_CASE("maximum and minimum send the gradient of a tie to the first operand") {
  ad::Tape tape;
  Var a = ad::param(Tensor::from({2}, {1, 2})), b = ad::param(Tensor::from({2}, {1, 3}));
  ad::sum(ad::maximum(a, b) + ad::minimum(a, b) * 10.f).backward();
  CHECK(test::close(a.grad(), Tensor::from({2}, {11, 10})));
  CHECK(test::close(b.grad(), Tensor::from({2}, {0, 1})));
}

TEST_CASE("clip passes the gradient inside its bounds only") {
  ad::Tape tape;
  Var x = ad::param(Tensor::from({4}, {-2, -0.5f, 0.5f, 2}));
  Var y = ad::clip(x, -1, 1);
  CHECK(test::close(y.value(), Tensor::from({4}, {-1, -0.5f, 0.5f, 1})));
  ad::sum(y).backward();
  CHECK(test::close(x.grad(), Tensor::from({4}, {0, 1, 1, 0})));
}
