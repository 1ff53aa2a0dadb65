#include <doctest/doctest.h>

#include "../test_util.h"

using ad::Shape;
using ad::Tensor;
using ad::Var;

TEST_CASE("broadcast_shape follows numpy: aligned from the right, 1 stretches") {
  struct Row {
    Shape a, b, expected;
  };
  const Row rows[] = {{{3, 4}, {4}, {3, 4}},       {{3, 1}, {1, 4}, {3, 4}},  {{}, {2, 2}, {2, 2}},
                      {{2, 1, 4}, {3, 1}, {2, 3, 4}}, {{0, 4}, {4}, {0, 4}},   {{1}, {0}, {0}}};
  for (const Row& r : rows) {
    INFO(ad::to_string(r.a) << " with " << ad::to_string(r.b));
    CHECK(ad::broadcast_shape(r.a, r.b, "test") == r.expected);
    CHECK(ad::broadcast_shape(r.b, r.a, "test") == r.expected);
  }
  CHECK(test::contains(test::error_of([] { ad::broadcast_shape({2, 3}, {2}, "myop"); }),
                       "myop: shapes [2,3] and [2] cannot be broadcast together"));
}

TEST_CASE("broadcast_to copies along stretched axes and sum_to_shape sums them back") {
  Tensor column = Tensor::from({2, 1}, {1, 2});
  Tensor wide = ad::broadcast_to(column, {2, 3});
  CHECK(test::close(wide, Tensor::from({2, 3}, {1, 1, 1, 2, 2, 2})));
  CHECK(ad::broadcast_to(column, {2, 1}).shares_storage_with(column));  // no copy when nothing stretches
  Tensor g = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(test::close(ad::sum_to_shape(g, {2, 1}), Tensor::from({2, 1}, {6, 15})));
  CHECK(test::close(ad::sum_to_shape(g, {3}), Tensor::from({3}, {5, 7, 9})));
  CHECK(test::close(ad::sum_to_shape(g, {1, 3}), Tensor::from({1, 3}, {5, 7, 9})));
  CHECK(test::close(ad::sum_to_shape(g, {}), Tensor::scalar(21)));
  CHECK(test::contains(test::error_of([&] { ad::broadcast_to(g, {3, 3}); }), "broadcast_to"));
}

TEST_CASE("arithmetic on empty tensors gives empty results and empty gradients") {
  ad::Tape tape;
  Var a = ad::param(Tensor::zeros({0, 4})), b = ad::param(Tensor::ones({4}));
  Var y = a * b + 1.f;
  CHECK(y.shape() == Shape{0, 4});
  ad::sum(y).backward();
  CHECK(b.grad().shape() == Shape{4});
  for (float v : b.grad().values()) CHECK(v == 0.f);
}
