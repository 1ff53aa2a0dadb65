#include "tapegrad/autodiff/kernels/softmax.h"

#include <doctest/doctest.h>

#include <cmath>

#include "../test_util.h"

using ad::Tensor;

TEST_CASE("the softmax kernels normalise along the last axis of any rank") {
  Tensor x = test::random({2, 3, 5}, -20, 20, 8);
  Tensor log_p = ad::kernels::log_softmax(x), p = ad::kernels::softmax(x);
  for (int64_t row = 0; row < 6; ++row) {
    double total = 0, largest = -1e30;
    for (int64_t j = 0; j < 5; ++j) largest = std::max(largest, double(x[row * 5 + j]));
    for (int64_t j = 0; j < 5; ++j) total += std::exp(double(x[row * 5 + j]) - largest);
    for (int64_t j = 0; j < 5; ++j) {
      double expected = double(x[row * 5 + j]) - largest - std::log(total);
      CHECK(log_p[row * 5 + j] == doctest::Approx(expected).epsilon(1e-5));
      CHECK(p[row * 5 + j] == doctest::Approx(std::exp(expected)).epsilon(1e-5));
    }
  }
  CHECK(test::contains(test::error_of([] { ad::kernels::log_softmax(Tensor::scalar(1)); }), "scalar"));
}
