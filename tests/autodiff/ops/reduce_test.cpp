#include <doctest/doctest.h>

#include "../test_util.h"

using ad::Shape;
using ad::Tensor;
using ad::Var;

TEST_CASE("sum and mean give the shapes keepdims asks for") {
  Var x = ad::constant(Tensor::ones({2, 3, 4}));
  struct Row {
    int64_t axis;
    bool keepdims;
    Shape expected;
  };
  for (const Row& r : {Row{0, false, {3, 4}}, Row{1, true, {2, 1, 4}}, Row{-1, false, {2, 3}}, Row{2, true, {2, 3, 1}}}) {
    INFO("axis " << r.axis << " keepdims " << r.keepdims);
    CHECK(ad::sum(x, r.axis, r.keepdims).shape() == r.expected);
    CHECK(ad::mean(x, r.axis, r.keepdims).shape() == r.expected);
  }
  CHECK(ad::sum(x).shape() == Shape{});
  CHECK(ad::mean(x).item() == 1.f);
}

TEST_CASE("sum of an empty tensor or along an empty axis is zero") {
  CHECK(ad::sum(ad::constant(Tensor::zeros({0, 3}))).item() == 0.f);
  Var s = ad::sum(ad::constant(Tensor::zeros({0, 3})), 0);
  CHECK(test::close(s.value(), Tensor::zeros({3})));
}

TEST_CASE("sum of many values keeps float32 precision") {
  // 1e6 values of 0.1: a float running sum drifts by about 1%, a double one does not.
  Tensor x = Tensor::full({1000, 1000}, 0.1f);
  CHECK(ad::sum(ad::constant(x)).item() == doctest::Approx(1e5).epsilon(1e-5));
  CHECK(ad::mean(ad::constant(x)).item() == doctest::Approx(0.1).epsilon(1e-5));
}
