/// @file
/// Seeded shuffling and row selection: the same seed gives the same order on every machine
/// (the generator is std::mt19937_64, whose output the C++ standard fixes, and the bounded draw
/// is our own rather than the library's implementation-defined distribution).
///
/// @code
/// // Given: const ad::Tensor& X, const ad::Tensor& y
/// std::vector<int64_t> order = datasets::permutation(X.dim(0), 42);
/// ad::Tensor some = datasets::gather_rows(X, {order.data(), 32});   // a copy of 32 rows
/// auto [X_shuffled, y_shuffled] = datasets::shuffle(X, y, 42);      // rows stay paired
/// @endcode
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// A uniformly random ordering of 0 .. n-1, fixed by `seed`.
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

/// The rows (along the first axis) at `indices`, in that order, copied into a new tensor of
/// shape [indices.size(), ...]. Indices may repeat; each must be inside the tensor.
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
