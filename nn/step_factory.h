/// @file
/// make_step_runner: the one place that chooses how fit/evaluate/predict run a batch, eager
/// (op by op on a tape) or compiled (an optimized graph of the same step).
///
/// @code
/// // Given: nn::Model& model, const ad::Tensor& x_batch, const ad::Tensor& y_batch, ad::Tensor& predictions
/// auto runner = nn::make_step_runner(model, /*eager=*/false);
/// float loss = runner->train(x_batch, y_batch, predictions);
/// @endcode
#pragma once
#include <memory>

#include "tapegrad/nn/step.h"

namespace nn {

/// The model must be built and compiled.
std::unique_ptr<StepRunner> make_step_runner(Model& model, bool eager);

}  // namespace nn
