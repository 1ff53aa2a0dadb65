#include <doctest/doctest.h>

#include "../test_util.h"

using ad::Shape;
using ad::Tensor;
using ad::Var;

TEST_CASE("reshape and flatten share the input's storage") {
  Var x = ad::constant(Tensor::from({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}));
  CHECK(ad::reshape(x, {4, 2}).value().shares_storage_with(x.value()));
  Var f = ad::flatten(x);
  CHECK(f.shape() == Shape{2, 4});
  CHECK(f.value().shares_storage_with(x.value()));
  CHECK(ad::flatten(ad::constant(Tensor::zeros({3}))).shape() == Shape{3, 1});
  CHECK(ad::flatten(ad::constant(Tensor::zeros({0, 5, 2}))).shape() == Shape{0, 10});
}

TEST_CASE("transpose swaps rows and columns") {
  Var t = ad::transpose(ad::constant(Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6})));
  CHECK(test::close(t.value(), Tensor::from({3, 2}, {1, 4, 2, 5, 3, 6})));
  CHECK(ad::transpose(ad::constant(Tensor::zeros({0, 3}))).shape() == Shape{3, 0});
}
