/// @file
/// Tensor: a dense, row-major float32 array of any rank whose 64-byte aligned storage is shared
/// between copies of the handle (copying a Tensor never copies data; use clone() for that).
///
/// @code
/// ad::Rng rng(42);
/// ad::Tensor x = ad::Tensor::uniform({32, 784}, -1, 1, rng);
/// ad::Tensor first = x.rows(0, 8);      // a view: same storage, no copy
/// first.at({0, 0}) = 3.f;               // visible through x too
/// fmt::print("{}\n", x);                // shape and values
/// @endcode
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/autodiff/error.h"

namespace ad {

/// Dimensions, outermost first; [] is a scalar (one element).
using Shape = std::vector<int64_t>;

/// "[32,784]": the way every error message prints a shape.
std::string to_string(const Shape& shape);
/// Number of elements; throws on a negative dimension or on overflow of int64.
int64_t element_count(const Shape& shape, const char* who = "Tensor");
/// `shape` with its -1 (at most one) resolved for the elements of `from`; throws ad::Error
/// naming reshape when the element counts differ or a dimension is negative.
Shape reshaped(Shape shape, const Shape& from);
/// a + b for counts (elements, parameters, bytes); throws naming `who` on a negative count or on
/// overflow of int64.
int64_t add_counts(int64_t a, int64_t b, const char* who);
/// a * b for counts; throws naming `who` on a negative count or on overflow of int64.
int64_t multiply_counts(int64_t a, int64_t b, const char* who);

/// The explicit, seeded generator every random choice in the library takes.
class Rng {
 public:
  /// A Mersenne Twister (std::mt19937_64) seeded with `seed`: the same seed, the same draws.
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}
  /// The engine itself, for std:: distributions.
  std::mt19937_64& engine() { return engine_; }
  /// A draw from the uniform distribution on [low, high).
  float uniform(float low, float high);
  /// A draw from the normal distribution N(mean, stddev²).
  float normal(float mean, float stddev);
  /// The next raw 64-bit draw (for seeding other generators).
  uint64_t next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

/// A dense, row-major float32 array whose 64-byte aligned storage is shared between copies of
/// the handle (see the file's description). Throws ad::Error naming the shapes on misuse.
class Tensor {
 public:
  Tensor() = default;                 ///< rank 1, zero elements, no storage
  explicit Tensor(Shape shape);       ///< zeros

  static Tensor zeros(Shape shape) { return Tensor(std::move(shape)); }  ///<  filled with 0
  static Tensor ones(Shape shape) { return full(std::move(shape), 1.f); }  ///<  filled with 1
  static Tensor full(Shape shape, float value);  ///<  filled with `value`
  static Tensor scalar(float value) { return full({}, value); }  ///<  shape [] holding `value`
  /// Copies values; their count must equal the shape's element count.
  static Tensor from(Shape shape, std::span<const float> values);
  /// The same from a braced list: `Tensor::from({2, 2}, {1, 2, 3, 4})`.
  static Tensor from(Shape shape, std::initializer_list<float> values) {
    return from(std::move(shape), std::span<const float>(values.begin(), values.size()));
  }
  /// Elements drawn from U[low, high) by `rng`, in row-major order.
  static Tensor uniform(Shape shape, float low, float high, Rng& rng);
  /// Elements drawn from N(mean, stddev²) by `rng`, in row-major order.
  static Tensor normal(Shape shape, float mean, float stddev, Rng& rng);
  /// An uninitialised tensor for kernels that overwrite every element.
  static Tensor empty(Shape shape);

  /// The dimensions; [0] for a default-constructed tensor. On a temporary Tensor, a copy: a
  /// reference would outlive the handle.
  /// @{
  const Shape& shape() const& { return shape_.empty() && size_ == 0 ? default_shape() : shape_; }
  Shape shape() const&& { return shape(); }
  /// @}
  /// Number of dimensions (0 for a scalar).
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  int64_t dim(int64_t axis) const;    ///< negative axes count from the end
  /// Number of elements.
  int64_t size() const { return size_; }
  /// Whether it holds no element (a default tensor, or a zero dimension).
  bool empty_size() const { return size_ == 0; }
  /// Rows and columns of a rank-2 tensor; rows() of rank 1 is 1 (a row vector).
  int64_t rows() const;
  int64_t cols() const;  ///<  columns of a rank-2 tensor, the length of a rank-1 one

  /// Views of the storage, row-major (data() is null when there is no element). Not on a
  /// temporary: `for (float v : model.predict(x).values())` would read storage freed with the
  /// temporary (it may be the storage's last handle); name the tensor first, or use to_vector().
  /// @{
  float* data() & { return data_; }
  const float* data() const& { return data_; }
  const float* data() const&& = delete;
  std::span<float> values() & { return {data_, static_cast<size_t>(size_)}; }
  std::span<const float> values() const& { return {data_, static_cast<size_t>(size_)}; }
  std::span<const float> values() const&& = delete;
  /// @}
  /// A copy of the elements, row-major.
  std::vector<float> to_vector() const { return {data_, data_ + size_}; }

  /// Checked element access by full index.
  float& at(std::initializer_list<int64_t> index);
  float at(std::initializer_list<int64_t> index) const;  ///<  read-only at(); throws ad::Error naming the index and shape when out of range
  /// Element `flat` in row-major order, unchecked (for loops over size()).
  float& operator[](int64_t flat) { return data_[flat]; }
  float operator[](int64_t flat) const { return data_[flat]; }  ///<  read-only, unchecked
  /// The single value of a one-element tensor.
  float item() const;

  /// Rows [begin, end) along the first axis, sharing storage.
  Tensor rows(int64_t begin, int64_t end) const;
  /// The same data with another shape of equal element count (one dimension may be -1).
  Tensor reshape(Shape shape) const;
  /// A deep copy with storage of its own.
  Tensor clone() const;
  /// Copies `other`'s values into this tensor's storage; shapes must match.
  void assign(const Tensor& other);
  /// Sets every element to `value`, in place (visible through every handle on the storage).
  void fill(float value);
  /// Whether both handles point into the same storage (views included).
  bool shares_storage_with(const Tensor& other) const { return storage_ && storage_ == other.storage_; }
  /// True when this handle is the only one on its storage and sees all of it: the data may
  /// then be taken over (a gradient moved instead of copied) without anyone noticing.
  bool sole_owner() const { return storage_ && storage_.use_count() == 1 && data_ == storage_.get(); }

 private:
  std::shared_ptr<float[]> storage_;
  float* data_ = nullptr;
  /// Empty in a default tensor, whose shape() is [0]: default tensors (unset gradients, unused
  /// node slots) are made on every op and should not allocate. A scalar has size_ 1.
  Shape shape_;
  int64_t size_ = 0;
  static const Shape& default_shape();
};

/// Whether a and b have equal shapes.
bool same_shape(const Tensor& a, const Tensor& b);
/// Largest absolute element-wise difference; shapes must match.
float max_abs_difference(const Tensor& a, const Tensor& b);

}  // namespace ad

// fmt's formatter for Tensor, so that fmt::print("{}", t) prints the shape and values (part of
// fmt's API, not documented here).
/// @cond
template <>
struct fmt::formatter<ad::Tensor> {
  constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
  format_context::iterator format(const ad::Tensor& t, format_context& ctx) const;
};
/// @endcond
