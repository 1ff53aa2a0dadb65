#include <doctest/doctest.h>

#include <cmath>

#include "../test_util.h"

using ad::Tensor;
using ad::Var;

TEST_CASE("softmax and log_softmax are stable for logits of 1e4") {
  Var x = ad::param(Tensor::from({3, 3}, {1e4f, 0, -1e4f, 1e4f, 1e4f, 1e4f, -1e4f, -1e4f, 1e4f - 1}));
  ad::Tape tape;
  Var s = ad::softmax(x), l = ad::log_softmax(x);
  CHECK(test::close(s.value(), Tensor::from({3, 3}, {1, 0, 0, 1.f / 3, 1.f / 3, 1.f / 3, 0, 0, 1})));
  // Row 3: the two 1e4-apart entries vanish; log of the last is 0 up to e^-2e4.
  CHECK(test::close(l.value(), Tensor::from({3, 3}, {0, -1e4f, -2e4f, -std::log(3.f), -std::log(3.f), -std::log(3.f),
                                                      -2e4f + 1, -2e4f + 1, 0}),
                    1e-3f, 1e-6f));
  ad::sum(s * ad::constant(Tensor::from({3}, {1, 2, 3})) + l).backward();
  CHECK(test::all_finite(x.grad()));
}

TEST_CASE("softmax rows sum to one and keep their order") {
  Tensor x = test::random({5, 7}, -10, 10, 3);
  Tensor s = ad::softmax(ad::constant(x)).value();
  for (int64_t i = 0; i < 5; ++i) {
    double total = 0;
    for (int64_t j = 0; j < 7; ++j) total += s[i * 7 + j];
    CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
    for (int64_t j = 1; j < 7; ++j) CHECK((x[i * 7 + j] > x[i * 7 + j - 1]) == (s[i * 7 + j] > s[i * 7 + j - 1]));
  }
}

TEST_CASE("softmax of rows without columns gives an empty result, not a crash") {
  CHECK(ad::softmax(ad::constant(Tensor::zeros({3, 0}))).shape() == ad::Shape{3, 0});
  CHECK(ad::log_softmax(ad::constant(Tensor::zeros({0, 4}))).shape() == ad::Shape{0, 4});
}
