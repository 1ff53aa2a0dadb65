/// @file
/// Standardisation: shift and scale each column to mean 0 and standard deviation 1, with the
/// statistics fitted on the training set only and then applied unchanged to validation and
/// test data (fitting on them would leak their values into training).
///
/// @code
/// // Given: ad::Tensor X_train, ad::Tensor X_test, const ad::Tensor& y_train, const ad::Tensor& prediction
/// auto scaler = datasets::Standardizer::fit(X_train);
/// X_train = scaler.transform(X_train);
/// X_test = scaler.transform(X_test);
/// auto y_scaler = datasets::Standardizer::fit(y_train);           // a target of shape [n]
/// ad::Tensor price = y_scaler.inverse_transform(prediction);      // back to the original units
/// @endcode
#pragma once
#include "tapegrad/autodiff/tensor.h"

namespace datasets {

/// scikit-learn's StandardScaler: per column mean and population standard deviation, fitted
/// on training data and applied to any data.
struct Standardizer {
  ad::Tensor mean;   ///< [columns]
  ad::Tensor scale;  ///< [columns]: the population standard deviation, or 1 for a constant column

  /// x is [rows, columns], or [rows] for one column; it needs at least one row. Throws ad::Error
  /// naming the row and column of a NaN or infinite value, which would make that column's
  /// statistics (and every value transform gives it) NaN; scikit-learn refuses infinities too.
  static Standardizer fit(const ad::Tensor& x);
  /// (x - mean) / scale, column by column; x has the fitted column count.
  ad::Tensor transform(const ad::Tensor& x) const;
  /// x * scale + mean: undoes transform.
  ad::Tensor inverse_transform(const ad::Tensor& x) const;
};

}  // namespace datasets
