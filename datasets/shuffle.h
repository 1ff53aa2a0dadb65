/// @file
/// Seeded shuffling and row selection: the same seed gives the same order on every machine
/// (the generator is std::mt19937_64, whose output the C++ standard fixes, and the bounded draw
/// is our own rather than the library's implementation-defined distribution). This is the one
/// shuffle and gather of the library: Batches, nn's fit() and nn::Perceptron use it too, so a
/// seed gives the same order everywhere (fit's first epoch is permutation(n, seed)).
///
/// @code
/// // Given: const ad::Tensor& X, const ad::Tensor& y
/// std::vector<int64_t> order = datasets::permutation(X.dim(0), 42);
/// ad::Tensor some = datasets::gather_rows(X, {order.data(), 32});   // a copy of 32 rows
/// auto [X_shuffled, y_shuffled] = datasets::shuffle(X, y, 42);      // rows stay paired
/// datasets::EpochOrder epochs(X.dim(0), {.seed = 42});
/// std::span<const int64_t> first = epochs.next();                  // == order
/// @endcode
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// A uniformly random ordering of 0 .. n-1, fixed by `seed`. Throws ad::Error for n < 0.
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

/// Reorders `order` in place, uniformly at random, with draws from `rng` (Fisher-Yates from the
/// back, each bounded draw unbiased by rejection): permutation() is this applied to 0 .. n-1.
void shuffle_in_place(std::span<int64_t> order, ad::Rng& rng);

/// How EpochOrder orders the samples.
struct EpochOrderOptions {
  bool shuffle = true;  ///< false: every epoch visits 0 .. n-1 in order
  uint64_t seed = 0;    ///< fixes every epoch's order when shuffling
};

/// The order in which a training loop visits n samples, epoch after epoch, as Keras' fit
/// (shuffle=True) does: a new order each epoch. The first is permutation(n, seed); each later
/// one shuffles the one before further with the same generator, so the whole sequence depends
/// on the seed alone. nn's fit() (batches are consecutive runs of it) and nn::Perceptron use it.
class EpochOrder {
 public:
  /// Throws ad::Error for n < 0.
  EpochOrder(int64_t n, EpochOrderOptions options = {});
  /// The next epoch's order: indices 0 .. n-1, each once. The view is valid until the next call.
  std::span<const int64_t> next();

 private:
  std::vector<int64_t> order_;
  ad::Rng rng_;
  bool shuffle_;
};

/// The rows (along the first axis) at `indices`, in that order, copied into a new tensor of
/// shape [indices.size(), ...]: a shuffled batch. Indices may repeat; each must be inside the
/// tensor, else ad::Error names the index, its position and the shape. Throws for a scalar.
ad::Tensor gather_rows(const ad::Tensor& x, std::span<const int64_t> indices);

/// Features and labels in a new, shared order.
struct Shuffled {
  /// Copies of the inputs' rows, reordered by one permutation.
  ///@{
  ad::Tensor x, y;
  ///@}
};
/// Features and labels reordered by the same permutation (copies), so row i still matches.
Shuffled shuffle(const ad::Tensor& x, const ad::Tensor& y, uint64_t seed);
/// Features alone reordered (a copy); the same seed gives the same order as the pair form.
/// Throws ad::Error for a scalar.
ad::Tensor shuffle(const ad::Tensor& x, uint64_t seed);

}  // namespace datasets
