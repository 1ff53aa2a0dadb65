#include "tapegrad/datasets/shuffle.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>

#include "tapegrad/autodiff/error.h"

namespace {

// Row i of a [n,2] tensor holds (i, 10 i): a row's content says where it came from.
ad::Tensor numbered_rows(int64_t n) {
  ad::Tensor x({n, 2});
  for (int64_t i = 0; i < n; ++i) {
    x.at({i, 0}) = static_cast<float>(i);
    x.at({i, 1}) = static_cast<float>(10 * i);
  }
  return x;
}

// 0 .. n-1 in order.
std::vector<int64_t> identity(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

// The indices in ascending order: identity(n) exactly when they hold each of 0 .. n-1 once.
std::vector<int64_t> sorted(std::vector<int64_t> order) {
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace

TEST_CASE("permutation holds every index once and depends only on the seed") {
  std::vector<int64_t> a = datasets::permutation(1000, 7), b = datasets::permutation(1000, 7),
                       c = datasets::permutation(1000, 8);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(sorted(a) == identity(1000));
  CHECK(a != identity(1000));
  CHECK(datasets::permutation(0, 1).empty());
  CHECK(datasets::permutation(1, 1) == std::vector<int64_t>{0});
}

TEST_CASE("permutation is close to uniform: each of 3! orders about 1/6 of the time") {
  std::map<std::vector<int64_t>, int> seen;
  const int draws = 6000;
  for (int seed = 0; seed < draws; ++seed) ++seen[datasets::permutation(3, static_cast<uint64_t>(seed))];
  CHECK(seen.size() == 6);
  // Binomial(6000, 1/6): mean 1000, standard deviation 29; 5 standard deviations either side.
  for (const auto& [order, count] : seen) CHECK(std::abs(count - 1000) < 145);
}

TEST_CASE("gather_rows copies the chosen rows in the given order") {
  ad::Tensor x = numbered_rows(5);
  std::vector<int64_t> pick = {4, 0, 4};
  ad::Tensor picked = datasets::gather_rows(x, pick);
  CHECK(picked.shape() == ad::Shape{3, 2});
  CHECK(picked.to_vector() == std::vector<float>{4, 40, 0, 0, 4, 40});
  CHECK_FALSE(picked.shares_storage_with(x));
  CHECK(datasets::gather_rows(x, {}).shape() == ad::Shape{0, 2});

  std::vector<int64_t> bad = {1, 5};
  CHECK_THROWS_WITH_AS(datasets::gather_rows(x, bad),
                       "gather_rows: index 5 at position 1 is outside [0,5) of shape [5,2]", ad::Error);
}

TEST_CASE("shuffle moves features and labels by the same permutation") {
  ad::Tensor x = numbered_rows(50);
  ad::Tensor y({50});
  for (int64_t i = 0; i < 50; ++i) y[i] = static_cast<float>(i);

  auto [xs, ys] = datasets::shuffle(x, y, 3);
  std::vector<int64_t> order = datasets::permutation(50, 3);
  bool moved = false;
  for (int64_t i = 0; i < 50; ++i) {
    CHECK(xs.at({i, 0}) == ys[i]);  // still paired
    CHECK(xs.at({i, 1}) == 10 * ys[i]);
    CHECK(ys[i] == static_cast<float>(order[static_cast<size_t>(i)]));
    moved = moved || ys[i] != static_cast<float>(i);
  }
  CHECK(moved);
  CHECK(datasets::shuffle(x, 3).to_vector() == xs.to_vector());
  CHECK(datasets::shuffle(x, y, 3).y.to_vector() == ys.to_vector());
}

TEST_CASE("shuffle refuses features and labels of different lengths") {
  CHECK_THROWS_WITH_AS(datasets::shuffle(ad::Tensor({4, 2}), ad::Tensor({3}), 0),
                       "shuffle: features have 4 rows but labels have 3: shapes [4,2] and [3]", ad::Error);
}

TEST_CASE("EpochOrder starts at permutation(n, seed) and shuffles on with the same generator each epoch") {
  datasets::EpochOrder epochs(50, {.seed = 9});
  std::span<const int64_t> view = epochs.next();
  const std::vector<int64_t> first(view.begin(), view.end());
  view = epochs.next();
  const std::vector<int64_t> second(view.begin(), view.end());
  CHECK(first == datasets::permutation(50, 9));
  CHECK(second != first);
  CHECK(sorted(second) == identity(50));
  // The second epoch is the first shuffled again by the generator that made it.
  ad::Rng rng(9);
  std::vector<int64_t> order = identity(50);
  datasets::shuffle_in_place(order, rng);
  datasets::shuffle_in_place(order, rng);
  CHECK(order == second);

  datasets::EpochOrder in_order(5, {.shuffle = false});
  for (int epoch = 0; epoch < 2; ++epoch) {
    view = in_order.next();
    CHECK(std::vector<int64_t>(view.begin(), view.end()) == identity(5));
  }
  CHECK(datasets::EpochOrder(0).next().empty());
  CHECK_THROWS_WITH_AS(datasets::EpochOrder(-1), doctest::Contains("EpochOrder: negative length -1"), ad::Error);
}

TEST_CASE("an order too long for memory is an ad::Error naming the function and the length") {
  // 2^61 indices are past the vector's max_size: refused before any allocation is tried (a
  // length that merely exceeds memory, such as 2^40, takes the same path through bad_alloc).
  const int64_t n = int64_t{1} << 61;
  CHECK_THROWS_WITH_AS(datasets::permutation(n, 1), doctest::Contains("permutation: cannot allocate an order of 2305843009213693952 indices"), ad::Error);
  CHECK_THROWS_WITH_AS(datasets::EpochOrder(n, {}), doctest::Contains("EpochOrder: cannot allocate an order of 2305843009213693952"), ad::Error);
}
