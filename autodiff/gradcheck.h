/// @file
/// gradcheck: compares the analytic gradients of a scalar function with central differences.
/// For tests of the library's ops and of users' custom ops.
///
/// @code
/// auto result = ad::gradcheck([](std::span<const ad::Var> x) { return ad::sum(ad::tanh(x[0])); },
///                             {ad::Tensor::uniform({3, 4}, -1, 1, rng)});
/// CHECK_MESSAGE(result.ok, result.message);
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

struct GradcheckOptions {
  float epsilon = 1e-3f;  ///< step of the central difference
  float atol = 2e-3f;
  float rtol = 2e-2f;
};

struct GradcheckResult {
  bool ok = true;
  float max_abs_error = 0;
  std::string message;  ///< the worst element, or the shape mismatch, when not ok
};

using ScalarFunction = std::function<Var(std::span<const Var>)>;

GradcheckResult gradcheck(const ScalarFunction& f, const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace ad
