#include "tapegrad/datasets/standardize.h"

#include <cmath>
#include <vector>

namespace datasets {

namespace {

int64_t columns_of(const ad::Tensor& x, const char* who) {
  TG_CHECK(x.rank() == 1 || x.rank() == 2, "{}: expected [rows, columns] or [rows], got shape {}", who,
           ad::to_string(x.shape()));
  return x.rank() == 2 ? x.dim(1) : 1;
}

// Applies f(value, column) to every element, keeping x's shape.
template <typename F>
ad::Tensor map_columns(const ad::Tensor& x, int64_t fitted_columns, const char* who, F f) {
  const int64_t columns = columns_of(x, who);
  TG_CHECK(columns == fitted_columns, "{}: fitted on {} columns, got shape {}", who, fitted_columns,
           ad::to_string(x.shape()));
  ad::Tensor out = ad::Tensor::empty(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) out[i] = f(x[i], i % columns);
  return out;
}

}  // namespace

Standardizer Standardizer::fit(const ad::Tensor& x) {
  const int64_t columns = columns_of(x, "Standardizer::fit");
  const int64_t rows = x.dim(0);
  TG_CHECK(rows > 0, "Standardizer::fit: needs at least one row, got shape {}", ad::to_string(x.shape()));
  // Two passes in double: the mean first, then squared deviations from it, which stays accurate
  // for columns whose mean is large against their spread.
  std::vector<double> mean(static_cast<size_t>(columns)), square(static_cast<size_t>(columns));
  for (int64_t i = 0; i < x.size(); ++i)
    TG_CHECK(std::isfinite(x[i]), "Standardizer::fit: row {}, column {} is {}; the mean and deviation need finite values",
             i / columns, i % columns, x[i]);
  for (int64_t i = 0; i < x.size(); ++i) mean[static_cast<size_t>(i % columns)] += x[i];
  for (double& m : mean) m /= static_cast<double>(rows);
  for (int64_t i = 0; i < x.size(); ++i) {
    double d = x[i] - mean[static_cast<size_t>(i % columns)];
    square[static_cast<size_t>(i % columns)] += d * d;
  }
  Standardizer s{.mean = ad::Tensor::empty({columns}), .scale = ad::Tensor::empty({columns})};
  for (int64_t c = 0; c < columns; ++c) {
    double deviation = std::sqrt(square[static_cast<size_t>(c)] / static_cast<double>(rows));
    s.mean[c] = static_cast<float>(mean[static_cast<size_t>(c)]);
    // A constant column would divide by zero: leave it centred but unscaled. So is a column whose
    // deviation is positive in double but 0 as a float (values 1e-45 apart).
    const auto scale = static_cast<float>(deviation);
    s.scale[c] = scale > 0 && std::isfinite(scale) ? scale : 1.f;
  }
  return s;
}

// Both directions compute in double and round once: in float, v - mean overflows for values
// near the float limit of opposite signs (3.4e38 - -1.1e38 is inf), though the result fits.
ad::Tensor Standardizer::transform(const ad::Tensor& x) const {
  return map_columns(x, mean.size(), "Standardizer::transform", [this](float v, int64_t c) {
    return static_cast<float>((static_cast<double>(v) - mean[c]) / static_cast<double>(scale[c]));
  });
}

ad::Tensor Standardizer::inverse_transform(const ad::Tensor& x) const {
  return map_columns(x, mean.size(), "Standardizer::inverse_transform", [this](float v, int64_t c) {
    return static_cast<float>(static_cast<double>(v) * scale[c] + static_cast<double>(mean[c]));
  });
}

}  // namespace datasets
