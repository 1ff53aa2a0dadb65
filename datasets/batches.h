/// @file
/// Mini-batches for a training loop: consecutive rows as views (no copy), or, with shuffle on,
/// rows gathered through a seeded permutation made once per Batches object.
///
/// @code
/// // Given: const ad::Tensor& X_train, const ad::Tensor& y_train, int e
/// for (auto [x, y] : datasets::Batches(X_train, y_train, {.batch_size = 32})) { /* train on x, y */ }
/// @endcode
///
/// @code
/// // A new order each epoch, the same order for the same seed:
/// datasets::Batches epoch(X_train, y_train, {.batch_size = 32, .shuffle = true, .seed = 1000 + e});
/// epoch.size();        // 1719 batches for 55,000 rows: the last one holds 24
/// epoch[0].x.shape();  // [32,28,28]
/// @endcode
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// How Batches cuts the rows: Keras' `batch_size` and `shuffle` defaults of fit() except that
/// shuffling is off unless asked for.
struct BatchOptions {
  int64_t batch_size = 32;  ///< rows per batch (> 0; Keras' default 32); the last batch may hold fewer
  bool shuffle = false;  ///< gather rows through a permutation drawn once from `seed`
  uint64_t seed = 0;  ///< fixes the permutation when shuffling
  bool drop_remainder = false;  ///< skip a last batch smaller than batch_size
};

/// One mini-batch: rows of the features and, when given, of the labels (views or copies, see
/// Batches).
struct Batch {
  /// Rows of x and of y; y is empty when the Batches were made from features alone.
  ///@{
  ad::Tensor x, y;
  ///@}
};

/// The mini-batches of one pass over x (and y), indexable and iterable; cheap to make.
/// Throws ad::Error when x and y differ in row count or batch_size is not positive.
class Batches {
 public:
  /// Features x [n, ...] and labels y [n, ...] cut together, so that row i of both stays paired.
  Batches(ad::Tensor x, ad::Tensor y, const BatchOptions& options = {});
  /// Features alone (for predict): every Batch::y is empty.
  explicit Batches(ad::Tensor x, const BatchOptions& options = {});

  /// Number of batches: ceil(n / batch_size), or floor with drop_remainder.
  int64_t size() const { return count_; }
  /// Batch `index` in [0, size()); throws ad::Error outside it.
  Batch operator[](int64_t index) const;

  /// An input iterator over the batches, in order.
  class iterator {
   public:
    /// Standard iterator traits: batches are made on dereference, so `reference` is a value.
    /// @{
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using reference = Batch;
    using pointer = void;  ///< no operator->: batches are values

    /// @}
    /// The end of nothing: compares equal only to another default iterator.
    iterator() = default;
    /// Positioned at batch `index` of `batches` (which must outlive it).
    iterator(const Batches* batches, int64_t index) : batches_(batches), index_(index) {}
    /// The current batch, made on each call.
    Batch operator*() const { return (*batches_)[index_]; }
    /// Steps to the next batch (prefix and postfix).
    /// @{
    iterator& operator++() {
      ++index_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++index_;
      return before;
    }
    /// @}
    /// Same position (iterators of the same Batches).
    bool operator==(const iterator& other) const { return index_ == other.index_; }

   private:
    const Batches* batches_ = nullptr;
    int64_t index_ = 0;
  };

  /// The first batch and one past the last, for range-for.
  /// @{
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }
  /// @}

 private:
  ad::Tensor x_, y_;
  bool has_labels_;
  BatchOptions options_;
  int64_t count_ = 0;
  std::vector<int64_t> order_;  ///< empty unless shuffling
};

}  // namespace datasets
