/// @file
/// Mini-batches for a training loop: consecutive rows as views (no copy), or, with shuffle on,
/// rows gathered through a seeded permutation made once per Batches object.
///
/// @code
/// for (auto [x, y] : datasets::Batches(X_train, y_train, {.batch_size = 32})) { ... }
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

struct BatchOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  uint64_t seed = 0;
  bool drop_remainder = false;  ///< skip a last batch smaller than batch_size
};

struct Batch {
  ad::Tensor x, y;  ///< y is empty when the Batches were made from features alone
};

class Batches {
 public:
  Batches(ad::Tensor x, ad::Tensor y, const BatchOptions& options = {});
  explicit Batches(ad::Tensor x, const BatchOptions& options = {});

  int64_t size() const { return count_; }
  Batch operator[](int64_t index) const;

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using reference = Batch;
    using pointer = void;

    iterator() = default;
    iterator(const Batches* batches, int64_t index) : batches_(batches), index_(index) {}
    Batch operator*() const { return (*batches_)[index_]; }
    iterator& operator++() {
      ++index_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++index_;
      return before;
    }
    bool operator==(const iterator& other) const { return index_ == other.index_; }

   private:
    const Batches* batches_ = nullptr;
    int64_t index_ = 0;
  };

  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }

 private:
  ad::Tensor x_, y_;
  bool has_labels_;
  BatchOptions options_;
  int64_t count_ = 0;
  std::vector<int64_t> order_;  ///< empty unless shuffling
};

}  // namespace datasets
