/// @file
/// Splitting a dataset into training and validation (or test) parts.
///
/// @code
/// // Given: const ad::Tensor& X_train_full, const ad::Tensor& y_train_full
/// auto [X_valid, X_train] = datasets::split(X_train_full, 5000);   // the first 5,000 rows, and
/// auto [y_valid, y_train] = datasets::split(y_train_full, 5000);   // the rest: views, no copy
/// @endcode
///
/// @code
/// // A shuffled fraction, features and labels kept paired (copies):
/// auto [X_train, X_test, y_train, y_test] =
///     datasets::train_test_split(X, y, {.test_size = 0.2, .seed = 42});
/// @endcode
#pragma once
#include <cstdint>
#include <utility>

#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// Rows [0, count) and [count, n) along the first axis, both sharing x's storage.
std::pair<ad::Tensor, ad::Tensor> split(const ad::Tensor& x, int64_t count);

/// scikit-learn's options and defaults.
struct TrainTestSplitOptions {
  double test_size = 0.25;  ///< the fraction of rows held out, rounded up to whole rows
  uint64_t seed = 0;        ///< fixes the shuffle
  bool shuffle = true;      ///< false: the last rows are held out, in order
};

/// The four parts of train_test_split(), named as scikit-learn returns them.
struct TrainTestSplit {
  /// Copies when shuffled, views of the inputs otherwise.
  ///@{
  ad::Tensor x_train, x_test, y_train, y_test;
  ///@}
};

/// Holds out `test_size` of the rows of x and y (scikit-learn's train_test_split, default
/// 0.25). Throws ad::Error when x and y differ in rows, test_size is outside (0,1) or no
/// training row would be left.
TrainTestSplit train_test_split(const ad::Tensor& x, const ad::Tensor& y, const TrainTestSplitOptions& options = {});

}  // namespace datasets
