/// @file
/// gradcheck: compares the analytic gradients of a scalar function with central differences.
/// For tests of the library's ops and of users' custom ops.
///
/// @code
/// #include <tapegrad/autodiff/ops.h>
/// // Given: ad::Rng& rng
/// auto result = ad::gradcheck([](std::span<const ad::Var> x) { return ad::sum(ad::tanh(x[0])); },
///                             {ad::Tensor::uniform({3, 4}, -1, 1, rng)});
/// if (!result.ok) fmt::print("{}\n", result.message);   // in a doctest: CHECK_MESSAGE(result.ok, ...)
/// @endcode
///
/// Tolerances suit float32: |analytic - numeric| <= atol + rtol * |numeric| for every element.
/// Pick inputs away from kinks (relu at 0, abs at 0), where no derivative exists.
#pragma once
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/autodiff/var.h"

namespace ad {

/// Step and tolerances of gradcheck(); the defaults suit float32 and well-scaled inputs.
struct GradcheckOptions {
  float epsilon = 1e-3f;  ///< step of the central difference
  float atol = 2e-3f;  ///< absolute tolerance
  float rtol = 2e-2f;  ///< relative tolerance, times |numeric|
};

/// The outcome of gradcheck().
struct GradcheckResult {
  bool ok = true;  ///< every element within tolerance
  float max_abs_error = 0;  ///< the largest |analytic - numeric| over all inputs
  std::string message;  ///< the worst element, or the shape mismatch, when not ok
};

/// A function of Vars to a one-element Var (the loss).
using ScalarFunction = std::function<Var(std::span<const Var>)>;

/// Differentiates f at `inputs` by backward() and by central differences (f(x+ε) - f(x-ε))/2ε
/// for every element of every input, and compares them. Throws ad::Error when f does not
/// return one element.
GradcheckResult gradcheck(const ScalarFunction& f, const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace ad
