// The list of the registry's entries: the op table test checks each has a row.
#include "tapegrad/autodiff/op_defs.h"

namespace ad {

std::span<const OpDef* const> registered_ops() {
  using namespace defs;
  static const OpDef* const all[] = {
      &add, &sub, &mul, &div, &neg, &sum_to, &broadcast_to, &add_n,
      &exp, &log, &square, &sqrt, &abs, &relu, &sigmoid, &tanh, &softplus, &heaviside, &sign, &maximum, &minimum, &clip,
      &relu_grad, &sigmoid_grad, &tanh_grad, &softplus_grad, &step_grad, &clip_grad, &extreme_grad,
      &matmul,
      &softmax, &log_softmax, &softmax_grad, &log_softmax_grad,
      &sum_all, &mean_all, &sum_axis, &mean_axis,
      &reshape, &transpose,
      &mse_loss, &mae_loss, &huber_loss, &binary_crossentropy, &categorical_crossentropy, &sparse_categorical_crossentropy,
      &mse_loss_grad, &mae_loss_grad, &huber_loss_grad, &binary_crossentropy_grad, &categorical_crossentropy_grad,
      &sparse_categorical_crossentropy_grad,
  };
  return all;
}

}  // namespace ad
