#include "tapegrad/datasets/batches.h"

#include <algorithm>
#include <span>

#include "tapegrad/datasets/shuffle.h"

namespace datasets {

Batches::Batches(ad::Tensor x, ad::Tensor y, const BatchOptions& options)
    : x_(std::move(x)), y_(std::move(y)), has_labels_(true), options_(options) {
  TG_CHECK(x_.rank() >= 1 && y_.rank() >= 1 && x_.dim(0) == y_.dim(0),
           "Batches: features and labels must have the same number of rows: shapes {} and {}",
           ad::to_string(x_.shape()), ad::to_string(y_.shape()));
  TG_CHECK(options.batch_size > 0, "Batches: batch_size must be positive, got {}", options.batch_size);
  const int64_t n = x_.dim(0);
  // n / batch_size, plus one for a partial last batch: (n + batch_size - 1) would overflow for
  // a batch_size near INT64_MAX.
  count_ = n / options.batch_size + (!options.drop_remainder && n % options.batch_size != 0 ? 1 : 0);
  if (options.shuffle) order_ = permutation(n, options.seed);
}

Batches::Batches(ad::Tensor x, const BatchOptions& options) : Batches(x, x, options) {
  has_labels_ = false;
  y_ = ad::Tensor();
}

Batch Batches::operator[](int64_t index) const {
  TG_CHECK(index >= 0 && index < count_, "Batches: batch {} is outside [0,{})", index, count_);
  const int64_t begin = index * options_.batch_size;
  const int64_t end = begin + std::min(options_.batch_size, x_.dim(0) - begin);
  if (!options_.shuffle) return {.x = x_.rows(begin, end), .y = has_labels_ ? y_.rows(begin, end) : ad::Tensor()};
  std::span<const int64_t> rows(order_.data() + begin, static_cast<size_t>(end - begin));
  return {.x = gather_rows(x_, rows), .y = has_labels_ ? gather_rows(y_, rows) : ad::Tensor()};
}

}  // namespace datasets
