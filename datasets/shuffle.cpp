#include "tapegrad/datasets/shuffle.h"

#include <cstring>
#include <exception>
#include <numeric>

namespace datasets {

namespace {

// Uniform in [0, bound) by rejection: drawing from the largest multiple of bound below 2^64
// avoids the bias of a plain modulo.
uint64_t uniform_below(ad::Rng& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    uint64_t r = rng.next();
    if (r >= threshold) return r % bound;
  }
}

void check_paired(const ad::Tensor& x, const ad::Tensor& y, const char* who) {
  TG_CHECK(x.rank() >= 1 && y.rank() >= 1, "{}: features {} and labels {} need at least one axis", who,
           ad::to_string(x.shape()), ad::to_string(y.shape()));
  TG_CHECK(x.dim(0) == y.dim(0), "{}: features have {} rows but labels have {}: shapes {} and {}", who, x.dim(0),
           y.dim(0), ad::to_string(x.shape()), ad::to_string(y.shape()));
}

// 0 .. n-1, for `who`: an ad::Error names the length when it is negative or does not fit in memory.
std::vector<int64_t> identity_order(int64_t n, const char* who) {
  TG_CHECK(n >= 0, "{}: negative length {}", who, n);
  std::vector<int64_t> order;
  try {
    order.resize(static_cast<size_t>(n));
  } catch (const std::exception&) {  // std::bad_alloc, or std::length_error past max_size()
    ad::fail("{}: cannot allocate an order of {} indices ({:.3g} bytes)", who, n,
             static_cast<double>(n) * sizeof(int64_t));
  }
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

}  // namespace

void shuffle_in_place(std::span<int64_t> order, ad::Rng& rng) {
  // Fisher-Yates, from the back.
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_below(rng, i)]);
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order = identity_order(n, "permutation");
  ad::Rng rng(seed);
  shuffle_in_place(order, rng);
  return order;
}

EpochOrder::EpochOrder(int64_t n, EpochOrderOptions options)
    : order_(identity_order(n, "EpochOrder")), rng_(options.seed), shuffle_(options.shuffle) {}

std::span<const int64_t> EpochOrder::next() {
  if (shuffle_) shuffle_in_place(order_, rng_);
  return order_;
}

ad::Tensor gather_rows(const ad::Tensor& x, std::span<const int64_t> indices) {
  TG_CHECK(x.rank() >= 1, "gather_rows: a scalar has no rows");
  const int64_t rows = x.dim(0);
  ad::Shape shape = x.shape();
  shape[0] = static_cast<int64_t>(indices.size());
  ad::Tensor out = ad::Tensor::empty(shape);
  const int64_t row_size = rows ? x.size() / rows : 0;
  const size_t row_bytes = static_cast<size_t>(row_size) * sizeof(float);
  for (size_t i = 0; i < indices.size(); ++i) {
    int64_t row = indices[i];
    TG_CHECK(row >= 0 && row < rows, "gather_rows: index {} at position {} is outside [0,{}) of shape {}", row, i, rows,
             ad::to_string(x.shape()));
    if (row_bytes) std::memcpy(out.data() + static_cast<int64_t>(i) * row_size, x.data() + row * row_size, row_bytes);
  }
  return out;
}

Shuffled shuffle(const ad::Tensor& x, const ad::Tensor& y, uint64_t seed) {
  check_paired(x, y, "shuffle");
  std::vector<int64_t> order = permutation(x.dim(0), seed);
  return {.x = gather_rows(x, order), .y = gather_rows(y, order)};
}

ad::Tensor shuffle(const ad::Tensor& x, uint64_t seed) {
  TG_CHECK(x.rank() >= 1, "shuffle: a scalar has no rows");
  return gather_rows(x, permutation(x.dim(0), seed));
}

}  // namespace datasets
