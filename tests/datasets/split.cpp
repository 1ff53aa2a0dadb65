#include "tapegrad/datasets/split.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "tapegrad/autodiff/error.h"

namespace {

ad::Tensor counting(int64_t n) {
  ad::Tensor y({n});
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(i);
  return y;
}

std::set<float> values_of(const ad::Tensor& t) {
  std::vector<float> v = t.to_vector();
  return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("split takes the first rows as views, the way the book carves out 5,000 for validation") {
  ad::Tensor X({7000, 28, 28});
  X.at({5000, 0, 0}) = 1.f;
  auto [X_valid, X_train] = datasets::split(X, 5000);
  CHECK(X_valid.shape() == ad::Shape{5000, 28, 28});
  CHECK(X_train.shape() == ad::Shape{2000, 28, 28});
  CHECK(X_train.at({0, 0, 0}) == 1.f);
  CHECK(X_train.shares_storage_with(X));

  SUBCASE("the edges are allowed") {
    CHECK(datasets::split(X, 0).first.dim(0) == 0);
    CHECK(datasets::split(X, 7000).second.dim(0) == 0);
  }
  SUBCASE("more rows than there are is an error") {
    CHECK_THROWS_WITH_AS(datasets::split(X, 7001), "split: cannot take the first 7001 rows of shape [7000,28,28]",
                         ad::Error);
    CHECK_THROWS_AS(datasets::split(X, -1), ad::Error);
  }
}

TEST_CASE("train_test_split holds out a rounded-up fraction, disjoint from training and paired") {
  ad::Tensor y = counting(103);
  ad::Tensor x({103, 2});
  for (int64_t i = 0; i < 103; ++i) x.at({i, 1}) = static_cast<float>(i);

  auto [x_train, x_test, y_train, y_test] = datasets::train_test_split(x, y, {.test_size = 0.2, .seed = 5});
  CHECK(y_test.dim(0) == 21);  // ceil(0.2 * 103)
  CHECK(y_train.dim(0) == 82);
  CHECK(x_train.shape() == ad::Shape{82, 2});

  std::set<float> train = values_of(y_train), test = values_of(y_test);
  CHECK(train.size() == 82);
  CHECK(test.size() == 21);
  std::vector<float> common;
  std::set_intersection(train.begin(), train.end(), test.begin(), test.end(), std::back_inserter(common));
  CHECK(common.empty());
  for (int64_t i = 0; i < 21; ++i) CHECK(x_test.at({i, 1}) == y_test[i]);

  SUBCASE("the same seed gives the same split, another seed another one") {
    CHECK(datasets::train_test_split(x, y, {.test_size = 0.2, .seed = 5}).y_test.to_vector() == y_test.to_vector());
    CHECK(datasets::train_test_split(x, y, {.test_size = 0.2, .seed = 6}).y_test.to_vector() != y_test.to_vector());
  }
  SUBCASE("without shuffling the last rows are held out in order") {
    auto plain = datasets::train_test_split(x, y, {.test_size = 0.2, .shuffle = false});
    CHECK(plain.y_test[0] == 82.f);
    CHECK(plain.y_train[81] == 81.f);
  }
}

TEST_CASE("train_test_split refuses sizes that leave a side empty and mismatched inputs") {
  ad::Tensor y = counting(4);
  CHECK_THROWS_WITH_AS(datasets::train_test_split(y, y, {.test_size = 0}),
                       "train_test_split: test_size must be in (0,1), got 0", ad::Error);
  CHECK_THROWS_WITH_AS(datasets::train_test_split(y, y, {.test_size = 0.9}),
                       "train_test_split: test_size 0.9 of 4 rows leaves no training rows", ad::Error);
  CHECK_THROWS_WITH_AS(datasets::train_test_split(ad::Tensor({3, 2}), y),
                       "train_test_split: features and labels must have the same number of rows: shapes [3,2] and [4]",
                       ad::Error);
}
