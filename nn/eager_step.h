/// @file
/// EagerStep: runs a training step op by op: forward on a tape, the loss (from the logits when
/// the last activation is softmax or sigmoid, see Model::training_loss), backward, the
/// optimizer's update. The tape is cleared after each step so its node storage is reused.
///
/// @code
/// // Given: nn::Model& model, const ad::Tensor& x, const ad::Tensor& y, ad::Tensor& predictions
/// nn::EagerStep step(model);                  // model built and compiled
/// float loss = step.train(x, y, predictions);
/// @endcode
#pragma once
#include <memory>

#include "tapegrad/nn/model.h"
#include "tapegrad/nn/step.h"

namespace nn {

/// The eager training step: the model's forward pass recorded on a tape op by op, backward()
/// and the optimizer's apply(). The reference the compiled step is tested against.
class EagerStep : public StepRunner {
 public:
  /// The runner keeps a tape active on this thread while it lives: destroy it before any tape
  /// created earlier on the same thread.
  explicit EagerStep(Model& model);
  ~EagerStep() override;
  float train(const Tensor& x, const Tensor& y, Tensor& predictions) override;
  float test(const Tensor& x, const Tensor& y, Tensor& predictions) override;
  Tensor predict(const Tensor& x) override;
  const char* kind() const override { return "eager"; }

 private:
  Model& model_;
  Model::TrainingLoss loss_;
  std::vector<Var> params_;
  std::unique_ptr<ad::Tape> tape_;
};

}  // namespace nn
