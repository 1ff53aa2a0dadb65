#include "tapegrad/autodiff/kernels/softmax.h"

#include <doctest/doctest.h>

#include <algorithm>
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

// Rows shifted by large positive and negative amounts, against log-softmax in double from the
// same float inputs. The error may be a few float roundings of the result, never the rounding
// of max + log(sum) (at 1e3 that alone is up to 3e-5; at 2^24, all of ln 2).
TEST_CASE("softmax and log_softmax keep full precision for rows offset by large amounts") {
  const float offsets[] = {0, 1e3f, -1e3f, 1e4f, 65536, -65536, 16777216, -16777216, 1e8f, -1e8f, 3e37f, -3e37f};
  const float patterns[][4] = {{0, 0, 0, 0}, {0, -1, 0.5f, -3}, {0, -0.25f, -20, -0.125f}};
  for (float offset : offsets) {
    Tensor x({3, 4});
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) x[i * 4 + j] = offset + patterns[i][j];
    Tensor log_p = ad::kernels::log_softmax(x), p = ad::kernels::softmax(x);
    for (int64_t i = 0; i < 3; ++i) {
      double largest = -INFINITY, total = 0;
      for (int64_t j = 0; j < 4; ++j) largest = std::max(largest, double(x[i * 4 + j]));
      for (int64_t j = 0; j < 4; ++j) total += std::exp(double(x[i * 4 + j]) - largest);
      for (int64_t j = 0; j < 4; ++j) {
        CAPTURE(offset);
        CAPTURE(i);
        CAPTURE(j);
        double expected = double(x[i * 4 + j]) - largest - std::log(total);
        CHECK(std::fabs(log_p[i * 4 + j] - expected) <= 1e-6 * (1 + std::fabs(expected)));
        CHECK(std::fabs(p[i * 4 + j] - std::exp(expected)) <= 4e-6 * std::exp(expected));
      }
    }
  }
}

TEST_CASE("softmax of [2^24, 2^24] is [0.5, 0.5]") {
  Tensor x = Tensor::from({1, 2}, {16777216, 16777216});
  Tensor p = ad::kernels::softmax(x), log_p = ad::kernels::log_softmax(x);
  CHECK(p[0] == doctest::Approx(0.5).epsilon(1e-7));
  CHECK(p[1] == doctest::Approx(0.5).epsilon(1e-7));
  CHECK(log_p[0] == doctest::Approx(-std::log(2.0)).epsilon(1e-7));
}

TEST_CASE("a NaN in a row makes that whole row NaN in softmax and log_softmax, and only that row") {
  Tensor x = Tensor::from({2, 3}, {1, NAN, 2, 1, 0, 2});
  for (const Tensor& out : {ad::kernels::softmax(x), ad::kernels::log_softmax(x)}) {
    for (int64_t j = 0; j < 3; ++j) CHECK(std::isnan(out[j]));
    for (int64_t j = 3; j < 6; ++j) CHECK(std::isfinite(out[j]));
  }
}
