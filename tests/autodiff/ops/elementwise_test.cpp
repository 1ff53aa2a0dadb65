#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

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

// The value and the gradient of each comparison-based op at NaN, beside the same op on
// numbers (which must not change): relu(NaN) = NaN, not 0.
TEST_CASE("relu, abs, sign, heaviside, clip, maximum and minimum give NaN at NaN, value and gradient") {
  Tensor x = Tensor::from({4}, {NAN, -1, 0, 2});
  using Unary = std::function<Var(const Var&)>;
  struct Case {
    const char* name;
    Unary op;
    std::vector<float> values;     // at -1, 0, 2
    std::vector<float> gradients;  // at -1, 0, 2
  };
  const Case cases[] = {
      {"relu", [](const Var& v) { return ad::relu(v); }, {0, 0, 2}, {0, 0, 1}},
      {"abs", [](const Var& v) { return ad::abs(v); }, {1, 0, 2}, {-1, 0, 1}},
      {"sign", [](const Var& v) { return ad::sign(v); }, {-1, 0, 1}, {0, 0, 0}},
      {"heaviside", [](const Var& v) { return ad::heaviside(v); }, {0, 1, 1}, {0, 0, 0}},
      {"clip", [](const Var& v) { return ad::clip(v, -0.5f, 1); }, {-0.5f, 0, 1}, {0, 1, 0}},
      {"maximum with 0.5", [](const Var& v) { return ad::maximum(v, ad::constant(Tensor::scalar(0.5f))); }, {0.5f, 0.5f, 2}, {0, 0, 1}},
      {"0.5 maximum", [](const Var& v) { return ad::maximum(ad::constant(Tensor::scalar(0.5f)), v); }, {0.5f, 0.5f, 2}, {0, 0, 1}},
      {"minimum with 0.5", [](const Var& v) { return ad::minimum(v, ad::constant(Tensor::scalar(0.5f))); }, {-1, 0, 0.5f}, {1, 1, 0}},
      {"0.5 minimum", [](const Var& v) { return ad::minimum(ad::constant(Tensor::scalar(0.5f)), v); }, {-1, 0, 0.5f}, {1, 1, 0}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    ad::Tape tape;
    Var p = ad::param(x.clone());
    Var y = c.op(p);
    CHECK(std::isnan(y.value()[0]));
    for (int i = 0; i < 3; ++i) CHECK(y.value()[i + 1] == c.values[size_t(i)]);
    ad::sum(y).backward();
    CHECK(std::isnan(p.grad()[0]));
    for (int i = 0; i < 3; ++i) CHECK(p.grad()[i + 1] == c.gradients[size_t(i)]);
  }
}

TEST_CASE("maximum and minimum of two NaN-free operands send no NaN anywhere, also at infinities") {
  ad::Tape tape;
  Var a = ad::param(Tensor::from({3}, {-INFINITY, INFINITY, 1})), b = ad::param(Tensor::from({3}, {INFINITY, -INFINITY, 1}));
  ad::sum(ad::maximum(a, b) + ad::minimum(a, b)).backward();
  CHECK(test::close(a.grad(), Tensor::from({3}, {1, 1, 2})));
  CHECK(test::close(b.grad(), Tensor::from({3}, {1, 1, 0})));
}
