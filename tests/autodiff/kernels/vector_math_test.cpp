// tanh runs through glibc's vector tanhf where available (kernels/vector_math.h): its values
// must stay within 2 ulp of the exact ones, NaN, infinities and signed zeros must come out as
// std::tanh gives them, in every lane of a vector, and an element's value must not depend on
// where it sits in the array.
#include <tapegrad/autodiff/ops.h>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

TEST_CASE("tanh: within 2 ulp of the exact value over [-12, 12], special values as std::tanh") {
  const int64_t n = 1 << 16;
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = -12.f + 24.f * static_cast<float>(i) / static_cast<float>(n);
  ad::Tensor y = ad::tanh(ad::constant(ad::Tensor::from({n}, x))).value();
  double worst_ulp = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto exact = static_cast<float>(std::tanh(static_cast<double>(x[static_cast<size_t>(i)])));
    float ulp = std::nextafter(std::fabs(exact), 2.f) - std::fabs(exact);
    worst_ulp = std::max(worst_ulp, static_cast<double>(std::fabs(y[i] - exact) / ulp));
  }
  CHECK(worst_ulp <= 2.0);

  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // (Subnormal inputs are left out: the kernels run with subnormals flushed to zero.)
  // 20 values: the specials land in different lanes of 4-, 8- and 16-wide vectors, and in the tail.
  std::vector<float> special = {nan, inf, -inf, 0.f, -0.f, 1e-30f, -1e-30f, 20.f, -20.f, 0.5f,
                                1e-37f, nan, 9.f, -9.f, -0.f, inf, 0.f, -inf, 3.f, nan};
  ad::Tensor s = ad::tanh(ad::constant(ad::Tensor::from({static_cast<int64_t>(special.size())}, special))).value();
  for (size_t i = 0; i < special.size(); ++i) {
    float expected = std::tanh(special[i]);
    CAPTURE(special[i]);
    if (std::isnan(expected)) {
      CHECK(std::isnan(s[static_cast<int64_t>(i)]));
    } else {
      CHECK(s[static_cast<int64_t>(i)] == expected);
      CHECK(std::signbit(s[static_cast<int64_t>(i)]) == std::signbit(expected));
    }
  }
}

TEST_CASE("tanh: an element's value does not depend on its position or the array's length") {
  // Inputs for which a scalar tanhf and the vector one differ by an ulp exist in [-6, 6]; the
  // same input at every position of arrays of 1 to 9 elements (the tail of a 4-lane loop) must
  // give one value.
  for (int64_t step = 0; step < 2000; ++step) {
    float v = -6.f + 12.f * static_cast<float>(step) / 2000.f;
    float first = 0;
    for (int64_t n = 1; n <= 9; ++n) {
      ad::Tensor y = ad::tanh(ad::constant(ad::Tensor::full({n}, v))).value();
      if (n == 1) first = y[0];
      for (int64_t i = 0; i < n; ++i)
        if (y[i] != first) FAIL_CHECK("tanh(" << v << ") is " << y[i] << " at " << i << " of " << n << ", " << first << " alone");
    }
  }
}
