/// @file
/// StepRunner: how fit/evaluate/predict run one batch. EagerStep runs the model op by op on a
/// tape; the compiled step (graph/) runs an optimized DAG of the same computation. Both update
/// the same parameters and optimizer slots, and give the same numbers within float32 rounding.
///
/// @code
/// #include <tapegrad/nn/step_factory.h>
/// // Given: nn::Model& model, const ad::Tensor& x_batch, const ad::Tensor& y_batch
/// std::unique_ptr<nn::StepRunner> runner = nn::make_step_runner(model, /*eager=*/true);
/// ad::Tensor predictions;
/// float loss = runner->train(x_batch, y_batch, predictions);   // one optimizer step
/// fmt::print("{} step: loss {}\n", runner->kind(), loss);
/// @endcode
#pragma once
#include <memory>

#include "tapegrad/nn/layer.h"

namespace nn {

class Model;

/// What fit(), evaluate() and predict() run batches with: the compiled graph (CompiledStep) or
/// the eager tape (EagerStep), interchangeable and giving the same numbers within float rounding.
class StepRunner {
 public:
  virtual ~StepRunner() = default;
  /// Forward, backward and the optimizer update on one batch; returns the batch's mean loss
  /// and leaves the model's outputs for the batch in `predictions` (for the metrics).
  virtual float train(const Tensor& x, const Tensor& y, Tensor& predictions) = 0;
  /// The batch's mean loss computed as train() computes it (from the logits when the model ends
  /// in softmax or sigmoid, see Model::training_loss), with no update, and the model's
  /// outputs in `predictions`: Keras' test_step, behind evaluate and the val_ figures, so that
  /// the same data gives the same loss in fit, evaluate and validation.
  virtual float test(const Tensor& x, const Tensor& y, Tensor& predictions) = 0;
  /// The model's outputs for a batch, no gradients.
  virtual Tensor predict(const Tensor& x) = 0;
  /// "eager" or "compiled": shown by tests and benchmarks.
  virtual const char* kind() const = 0;
};

}  // namespace nn
