#include "tapegrad/autodiff/tensor.h"

#include "tapegrad/autodiff/block_pool.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace ad {

namespace {

// Frees tensor storage to the block pool; the size is needed to find its size class.
struct StorageDeleter {
  size_t bytes;
  void operator()(float* data) const noexcept { free_block(data, bytes); }
};

std::shared_ptr<float[]> allocate(int64_t count) {
  if (count == 0) return nullptr;
  TG_CHECK(static_cast<uint64_t>(count) <= std::numeric_limits<size_t>::max() / sizeof(float) / 2,
           "Tensor: {} elements do not fit in memory", count);
  size_t bytes = static_cast<size_t>(count) * sizeof(float);
  float* data = nullptr;
  try {
    data = static_cast<float*>(allocate_block(bytes));  // 64-byte aligned
  } catch (const std::bad_alloc&) {
    fail("Tensor: cannot allocate {} bytes", bytes);
  }
  // The reference count comes from the pool too (on failure the deleter frees the data).
  return std::shared_ptr<float[]>(data, StorageDeleter{bytes}, BlockAllocator<float>{});
}

}  // namespace

std::string to_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ",")); }

int64_t element_count(const Shape& shape, const char* who) {
  int64_t count = 1;
  bool overflow = false;
  for (int64_t d : shape) {
    TG_CHECK(d >= 0, "{}: negative dimension in shape {}", who, to_string(shape));
    overflow |= __builtin_mul_overflow(count, d, &count);
  }
  // A zero dimension anywhere makes the count 0, even after an overflowing partial product.
  if (overflow && std::find(shape.begin(), shape.end(), 0) == shape.end())
    fail("{}: element count of shape {} overflows", who, to_string(shape));
  return overflow ? 0 : count;
}

int64_t add_counts(int64_t a, int64_t b, const char* who) {
  TG_CHECK(a >= 0 && b >= 0, "{}: negative count in {} + {}", who, a, b);
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) fail("{}: the count {} + {} overflows int64", who, a, b);
  return sum;
}

int64_t multiply_counts(int64_t a, int64_t b, const char* who) {
  TG_CHECK(a >= 0 && b >= 0, "{}: negative count in {} * {}", who, a, b);
  int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) fail("{}: the count {} * {} overflows int64", who, a, b);
  return product;
}

float Rng::uniform(float low, float high) {
  return std::uniform_real_distribution<float>(low, high)(engine_);
}

float Rng::normal(float mean, float stddev) {
  return std::normal_distribution<float>(mean, stddev)(engine_);
}

const Shape& Tensor::default_shape() {
  static const Shape shape{0};
  return shape;
}

Tensor::Tensor(Shape shape) : shape_(std::move(shape)) {
  size_ = element_count(shape_);
  storage_ = allocate(size_);
  data_ = storage_.get();
  if (size_) std::memset(data_, 0, static_cast<size_t>(size_) * sizeof(float));
}

Tensor Tensor::empty(Shape shape) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.size_ = element_count(t.shape_);
  t.storage_ = allocate(t.size_);
  t.data_ = t.storage_.get();
  return t;
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = empty(std::move(shape));
  t.fill(value);
  return t;
}

Tensor Tensor::from(Shape shape, std::span<const float> values) {
  Tensor t = empty(std::move(shape));
  TG_CHECK(static_cast<int64_t>(values.size()) == t.size_,
           "Tensor::from: shape {} needs {} values, got {}", to_string(t.shape()), t.size_, values.size());
  std::copy(values.begin(), values.end(), t.data_);
  return t;
}

Tensor Tensor::uniform(Shape shape, float low, float high, Rng& rng) {
  TG_CHECK(low <= high, "Tensor::uniform: low {} is above high {}", low, high);
  Tensor t = empty(std::move(shape));
  std::uniform_real_distribution<float> dist(low, high);
  for (float& v : t.values()) v = dist(rng.engine());
  return t;
}

Tensor Tensor::normal(Shape shape, float mean, float stddev, Rng& rng) {
  TG_CHECK(stddev >= 0, "Tensor::normal: negative standard deviation {}", stddev);
  Tensor t = empty(std::move(shape));
  std::normal_distribution<float> dist(mean, stddev);
  for (float& v : t.values()) v = dist(rng.engine());
  return t;
}

int64_t Tensor::dim(int64_t axis) const {
  int64_t r = rank();
  TG_CHECK(axis >= -r && axis < r, "Tensor::dim: axis {} out of range for shape {}", axis, to_string(shape()));
  return shape()[static_cast<size_t>(axis < 0 ? axis + r : axis)];
}

int64_t Tensor::rows() const {
  TG_CHECK(rank() == 1 || rank() == 2, "Tensor::rows: expected rank 1 or 2, got shape {}", to_string(shape()));
  return rank() == 2 ? shape()[0] : 1;
}

int64_t Tensor::cols() const {
  TG_CHECK(rank() == 1 || rank() == 2, "Tensor::cols: expected rank 1 or 2, got shape {}", to_string(shape()));
  return shape().back();
}

float& Tensor::at(std::initializer_list<int64_t> index) {
  TG_CHECK(static_cast<int64_t>(index.size()) == rank(), "Tensor::at: index of rank {} for shape {}",
           index.size(), to_string(shape()));
  int64_t flat = 0, axis = 0;
  for (int64_t i : index) {
    int64_t d = shape()[static_cast<size_t>(axis)];
    TG_CHECK(i >= 0 && i < d, "Tensor::at: index {} out of range [0,{}) on axis {} of shape {}", i, d, axis,
             to_string(shape()));
    flat = flat * d + i;
    ++axis;
  }
  return data_[flat];
}

float Tensor::at(std::initializer_list<int64_t> index) const { return const_cast<Tensor*>(this)->at(index); }

float Tensor::item() const {
  TG_CHECK(size_ == 1, "Tensor::item: needs exactly one element, shape is {}", to_string(shape()));
  return data_[0];
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  TG_CHECK(rank() >= 1, "Tensor::rows: a scalar has no rows");
  TG_CHECK(0 <= begin && begin <= end && end <= shape()[0], "Tensor::rows: range [{},{}) outside [0,{}] of shape {}",
           begin, end, shape()[0], to_string(shape()));
  Tensor t = *this;
  int64_t row_size = shape()[0] ? size_ / shape()[0] : element_count(Shape(shape().begin() + 1, shape().end()));
  if (t.shape_.empty()) t.shape_ = {0};  // a default tensor: materialise its [0]
  t.shape_[0] = end - begin;
  t.size_ = (end - begin) * row_size;
  t.data_ = data_ ? data_ + begin * row_size : nullptr;
  return t;
}

Shape reshaped(Shape shape, const Shape& from) {
  int64_t size = element_count(from, "reshape");
  int64_t inferred = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      TG_CHECK(inferred < 0, "reshape: more than one -1 in {}", to_string(shape));
      inferred = static_cast<int64_t>(i);
    } else {
      TG_CHECK(shape[i] >= 0, "reshape: negative dimension in {}", to_string(shape));
      known = element_count({known, shape[i]}, "reshape");
    }
  }
  if (inferred >= 0) {
    TG_CHECK(known != 0 && size % known == 0, "reshape: cannot infer -1 in {} from shape {}", to_string(shape),
             to_string(from));
    shape[static_cast<size_t>(inferred)] = size / known;
  }
  TG_CHECK(element_count(shape, "reshape") == size, "reshape: shape {} has {} elements, tensor {} has {}",
           to_string(shape), element_count(shape), to_string(from), size);
  return shape;
}

Tensor Tensor::reshape(Shape shape) const {
  shape = reshaped(std::move(shape), this->shape());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  if (size_) std::memcpy(t.data_, data_, static_cast<size_t>(size_) * sizeof(float));
  return t;
}

void Tensor::assign(const Tensor& other) {
  TG_CHECK(shape() == other.shape(), "Tensor::assign: shapes differ: {} and {}", to_string(shape()),
           to_string(other.shape()));
  if (size_ && data_ != other.data_) std::memmove(data_, other.data_, static_cast<size_t>(size_) * sizeof(float));
}

void Tensor::fill(float value) { std::fill(data_, data_ + size_, value); }

bool same_shape(const Tensor& a, const Tensor& b) { return a.shape() == b.shape(); }

float max_abs_difference(const Tensor& a, const Tensor& b) {
  TG_CHECK(same_shape(a, b), "max_abs_difference: shapes differ: {} and {}", to_string(a.shape()),
           to_string(b.shape()));
  float worst = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    float d = std::fabs(a[i] - b[i]);
    if (std::isnan(d)) return d;
    worst = std::max(worst, d);
  }
  return worst;
}

}  // namespace ad

namespace {

// Prints nested brackets like numpy, eliding the middle of long axes.
void format_axis(fmt::format_context::iterator& out, const ad::Tensor& t, size_t axis, int64_t offset,
                 int64_t stride) {
  constexpr int64_t kEdge = 3;
  int64_t n = t.shape()[axis];
  int64_t inner = n ? stride / n : 0;
  out = fmt::format_to(out, "[");
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdge && i == kEdge) {
      out = fmt::format_to(out, "..., ");
      i = n - kEdge;
    }
    if (axis + 1 == t.shape().size())
      out = fmt::format_to(out, "{:.4g}", t[offset + i]);
    else
      format_axis(out, t, axis + 1, offset + i * inner, inner);
    if (i + 1 < n) out = fmt::format_to(out, ", ");
  }
  out = fmt::format_to(out, "]");
}

}  // namespace

fmt::format_context::iterator fmt::formatter<ad::Tensor>::format(const ad::Tensor& t, format_context& ctx) const {
  auto out = fmt::format_to(ctx.out(), "Tensor{} ", ad::to_string(t.shape()));
  if (t.rank() == 0) return fmt::format_to(out, "{:.4g}", t[0]);
  format_axis(out, t, 0, 0, t.size());
  return out;
}
