#include "tapegrad/datasets/standardize.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "tapegrad/autodiff/error.h"

TEST_CASE("Standardizer centres and scales each column with the training set's statistics") {
  // Column 0: 1,2,3,4 (mean 2.5, population variance 1.25); column 1: constant 7.
  ad::Tensor train = ad::Tensor::from({4, 2}, {1, 7, 2, 7, 3, 7, 4, 7});
  auto scaler = datasets::Standardizer::fit(train);
  CHECK(scaler.mean.to_vector() == std::vector<float>{2.5f, 7.f});
  CHECK(scaler.scale[0] == doctest::Approx(std::sqrt(1.25)));
  CHECK(scaler.scale[1] == 1.f);  // a constant column is not divided by zero

  ad::Tensor z = scaler.transform(train);
  CHECK(z.shape() == ad::Shape{4, 2});
  double sum = 0, squares = 0;
  for (int64_t r = 0; r < 4; ++r) {
    sum += z.at({r, 0});
    squares += z.at({r, 0}) * z.at({r, 0});
    CHECK(z.at({r, 1}) == 0.f);
  }
  CHECK(sum == doctest::Approx(0).epsilon(1e-6));
  CHECK(squares / 4 == doctest::Approx(1));

  SUBCASE("other data gets the training statistics, not its own") {
    ad::Tensor test = ad::Tensor::from({2, 2}, {2.5f, 8, 5, 6});
    ad::Tensor t = scaler.transform(test);
    CHECK(t.at({0, 0}) == 0.f);
    CHECK(t.at({0, 1}) == 1.f);
    CHECK(t.at({1, 0}) == doctest::Approx(2.5 / std::sqrt(1.25)));
    CHECK(t.at({1, 1}) == -1.f);
  }
  SUBCASE("inverse_transform undoes transform") {
    CHECK(ad::max_abs_difference(scaler.inverse_transform(z), train) < 1e-6f);
  }
}

TEST_CASE("Standardizer handles a target of shape [n] and a column with a large mean") {
  ad::Tensor y = ad::Tensor::from({3}, {1e6f + 1, 1e6f + 2, 1e6f + 3});
  auto scaler = datasets::Standardizer::fit(y);
  CHECK(scaler.mean.shape() == ad::Shape{1});
  CHECK(scaler.mean[0] == 1e6f + 2);
  CHECK(scaler.scale[0] == doctest::Approx(std::sqrt(2.0 / 3.0)));
  ad::Tensor z = scaler.transform(y);
  CHECK(z.shape() == ad::Shape{3});
  CHECK(z[1] == 0.f);
  CHECK(z[2] == doctest::Approx(std::sqrt(1.5)));
}

TEST_CASE("Standardizer refuses empty data and data with another column count") {
  CHECK_THROWS_WITH_AS(datasets::Standardizer::fit(ad::Tensor({0, 3})),
                       "Standardizer::fit: needs at least one row, got shape [0,3]", ad::Error);
  CHECK_THROWS_WITH_AS(datasets::Standardizer::fit(ad::Tensor({2, 2, 2})),
                       "Standardizer::fit: expected [rows, columns] or [rows], got shape [2,2,2]", ad::Error);
  auto scaler = datasets::Standardizer::fit(ad::Tensor::from({2, 2}, {1, 2, 3, 4}));
  CHECK_THROWS_WITH_AS(scaler.transform(ad::Tensor({2, 3})),
                       "Standardizer::transform: fitted on 2 columns, got shape [2,3]", ad::Error);
}

// A NaN or infinity made its column's mean NaN and every transformed value of it NaN, silently.
TEST_CASE("Standardizer::fit refuses a NaN or infinite value, naming its row and column") {
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    CAPTURE(bad);
    ad::Tensor x = ad::Tensor::from({3, 2}, {1, 2, 3, 4, 5, 6});
    x[3] = bad;
    CHECK_THROWS_WITH_AS(datasets::Standardizer::fit(x),
                         doctest::Contains(fmt::format("Standardizer::fit: row 1, column 1 is {}", bad).c_str()), ad::Error);
  }
}

TEST_CASE("Standardizer keeps finite data finite at the float range's ends") {
  // Values 1.4e-45 apart have a deviation that is positive in double and 0 as a float: the
  // column is left unscaled, not divided by 0. Values of opposite sign near 3.4e38 overflowed
  // v - mean in float; the result itself fits.
  const float tiny = std::numeric_limits<float>::denorm_min(), big = 3.4e38f;
  ad::Tensor x = ad::Tensor::from({3, 2}, {0, big, tiny, big, 0, -big});
  datasets::Standardizer s = datasets::Standardizer::fit(x);
  ad::Tensor z = s.transform(x);
  for (int64_t i = 0; i < z.size(); ++i) {
    CAPTURE(i);
    CHECK(std::isfinite(z[i]));
  }
  CHECK(s.scale[0] == 1.f);
  CHECK(z[5] == doctest::Approx(-std::sqrt(2.0)).epsilon(1e-6));  // -4/3 big over a deviation of sqrt(8/9) big
  ad::Tensor back = s.inverse_transform(z);
  CHECK(back[5] == doctest::Approx(-big).epsilon(1e-6));
  CHECK(back[1] == doctest::Approx(big).epsilon(1e-6));
}
