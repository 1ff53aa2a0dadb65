#include "tapegrad/datasets/batches.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>

#include "tapegrad/autodiff/error.h"

namespace {

ad::Tensor counting(int64_t n) {
  ad::Tensor y({n});
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(i);
  return y;
}

}  // namespace

TEST_CASE("batches cover every row once, in order, with a smaller last batch") {
  ad::Tensor x({10, 3}), y = counting(10);
  for (int64_t i = 0; i < 10; ++i) x.at({i, 2}) = static_cast<float>(i);

  datasets::Batches batches(x, y, {.batch_size = 4});
  REQUIRE(batches.size() == 3);
  std::vector<int64_t> sizes;
  std::vector<float> seen;
  for (auto [xb, yb] : batches) {
    sizes.push_back(xb.dim(0));
    CHECK(xb.dim(0) == yb.dim(0));
    CHECK(xb.shares_storage_with(x));  // views, no copy
    for (int64_t i = 0; i < xb.dim(0); ++i) {
      CHECK(xb.at({i, 2}) == yb[i]);
      seen.push_back(yb[i]);
    }
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  CHECK(seen == y.to_vector());
}

TEST_CASE("drop_remainder skips the last partial batch") {
  ad::Tensor y = counting(10);
  CHECK(datasets::Batches(y, {.batch_size = 4, .drop_remainder = true}).size() == 2);
  CHECK(datasets::Batches(y, {.batch_size = 5, .drop_remainder = true}).size() == 2);
  CHECK(datasets::Batches(y, {.batch_size = 11}).size() == 1);
  CHECK(datasets::Batches(y, {.batch_size = 11, .drop_remainder = true}).size() == 0);
  CHECK(datasets::Batches(counting(0), {.batch_size = 3}).size() == 0);
}

// (n + batch_size - 1) / batch_size overflowed here and gave no batch at all.
TEST_CASE("a batch size up to INT64_MAX gives one batch of every row") {
  ad::Tensor y = counting(8);
  for (int64_t batch_size : {int64_t{9}, int64_t{1} << 62, std::numeric_limits<int64_t>::max()}) {
    CAPTURE(batch_size);
    for (bool shuffle : {false, true}) {
      datasets::Batches batches(y, {.batch_size = batch_size, .shuffle = shuffle});
      REQUIRE(batches.size() == 1);
      CHECK(batches[0].x.dim(0) == 8);
    }
    CHECK(datasets::Batches(y, {.batch_size = batch_size, .drop_remainder = true}).size() == 0);
  }
}

TEST_CASE("shuffled batches are a seeded permutation of the rows, features and labels together") {
  ad::Tensor x({25, 2}), y = counting(25);
  for (int64_t i = 0; i < 25; ++i) x.at({i, 1}) = static_cast<float>(100 + i);

  auto order_of = [&](uint64_t seed) {
    std::vector<float> order;
    for (auto [xb, yb] : datasets::Batches(x, y, {.batch_size = 8, .shuffle = true, .seed = seed})) {
      CHECK_FALSE(xb.shares_storage_with(x));
      for (int64_t i = 0; i < xb.dim(0); ++i) {
        CHECK(xb.at({i, 1}) == 100 + yb[i]);
        order.push_back(yb[i]);
      }
    }
    return order;
  };
  std::vector<float> first = order_of(1);
  CHECK(first.size() == 25);
  CHECK(first == order_of(1));
  CHECK(first != order_of(2));
  CHECK(first != y.to_vector());
  std::sort(first.begin(), first.end());
  CHECK(first == y.to_vector());
}

TEST_CASE("features alone can be batched, and a batch can be taken by index") {
  ad::Tensor x = counting(7);
  datasets::Batches batches(x, {.batch_size = 3});
  CHECK(batches[2].x.to_vector() == std::vector<float>{6});
  CHECK(batches[0].y.size() == 0);
  CHECK_THROWS_WITH_AS(batches[3], "Batches: batch 3 is outside [0,3)", ad::Error);
}

TEST_CASE("Batches refuses a zero batch size and unpaired labels") {
  CHECK_THROWS_WITH_AS(datasets::Batches(counting(4), {.batch_size = 0}), "Batches: batch_size must be positive, got 0",
                       ad::Error);
  CHECK_THROWS_WITH_AS(datasets::Batches(counting(4), counting(5)),
                       "Batches: features and labels must have the same number of rows: shapes [4] and [5]", ad::Error);
}
