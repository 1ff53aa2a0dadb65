#include "tapegrad/nn/eager_step.h"

#include <cmath>

#include "tapegrad/nn/activations.h"

namespace nn {

EagerStep::EagerStep(Model& model)
    : model_(model), params_(model.trainable_weights()), tape_(std::make_unique<ad::Tape>()) {
  if (!model.compiled()) return;  // predict needs no loss
  loss_ = model.training_loss();
  model.optimizer()->ensure_built(params_);
}

EagerStep::~EagerStep() = default;

float EagerStep::train(const Tensor& x, const Tensor& y, Tensor& predictions) {
  TG_CHECK(loss_.loss != nullptr, "EagerStep.train: the model was not compiled when this runner was made");
  for (Var& p : params_) p.zero_grad();
  Var out = model_.forward(ad::constant(x), loss_.on_logits, /*training=*/true);
  Var loss = loss_.loss->compute(out, y);
  float value = loss.item();
  // A non-finite loss would spread NaN into every weight: keep them as they were, and let fit
  // report it (or a TerminateOnNaN callback stop the training).
  if (std::isfinite(value)) {
    loss.backward();
    model_.optimizer()->apply(params_);
  }
  {
    ad::NoGrad no_grad;
    predictions = loss_.on_logits ? activation(loss_.activation, out.detach()).value() : out.value();
  }
  tape_->clear();
  return value;
}

float EagerStep::test(const Tensor& x, const Tensor& y, Tensor& predictions) {
  TG_CHECK(loss_.loss != nullptr, "EagerStep.test: the model was not compiled when this runner was made");
  ad::NoGrad no_grad;
  Var out = model_.forward(ad::constant(x), loss_.on_logits);
  float value = loss_.loss->compute(out, y).item();
  predictions = loss_.on_logits ? activation(loss_.activation, out).value() : out.value();
  return value;
}

Tensor EagerStep::predict(const Tensor& x) {
  ad::NoGrad no_grad;
  return model_.forward(ad::constant(x)).value();
}

}  // namespace nn
