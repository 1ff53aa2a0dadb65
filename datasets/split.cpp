#include "tapegrad/datasets/split.h"

#include <cmath>
#include <span>

#include "tapegrad/datasets/shuffle.h"

namespace datasets {

std::pair<ad::Tensor, ad::Tensor> split(const ad::Tensor& x, int64_t count) {
  TG_CHECK(x.rank() >= 1, "split: a scalar has no rows to split");
  TG_CHECK(count >= 0 && count <= x.dim(0), "split: cannot take the first {} rows of shape {}", count,
           ad::to_string(x.shape()));
  return {x.rows(0, count), x.rows(count, x.dim(0))};
}

TrainTestSplit train_test_split(const ad::Tensor& x, const ad::Tensor& y, const TrainTestSplitOptions& options) {
  TG_CHECK(x.rank() >= 1 && y.rank() >= 1 && x.dim(0) == y.dim(0),
           "train_test_split: features and labels must have the same number of rows: shapes {} and {}",
           ad::to_string(x.shape()), ad::to_string(y.shape()));
  TG_CHECK(options.test_size > 0 && options.test_size < 1, "train_test_split: test_size must be in (0,1), got {}",
           options.test_size);
  const int64_t n = x.dim(0);
  const auto test_rows = static_cast<int64_t>(std::ceil(options.test_size * static_cast<double>(n)));
  TG_CHECK(test_rows < n, "train_test_split: test_size {} of {} rows leaves no training rows", options.test_size, n);

  if (!options.shuffle) {
    auto [x_train, x_test] = split(x, n - test_rows);
    auto [y_train, y_test] = split(y, n - test_rows);
    return {.x_train = x_train, .x_test = x_test, .y_train = y_train, .y_test = y_test};
  }
  std::vector<int64_t> order = permutation(n, options.seed);
  std::span<const int64_t> test(order.data(), static_cast<size_t>(test_rows));
  std::span<const int64_t> train(order.data() + test_rows, static_cast<size_t>(n - test_rows));
  return {.x_train = gather_rows(x, train),
          .x_test = gather_rows(x, test),
          .y_train = gather_rows(y, train),
          .y_test = gather_rows(y, test)};
}

}  // namespace datasets
