/// @file
/// The registry's entries, by name, and their attribute structs: what graph passes match on
/// (`node.op == &ad::defs::relu`) and what a custom op's backward may call through apply().
/// Each entry is defined in the file of autodiff/ops/ that holds its family; ops.h has the
/// functions users call (ad::relu(x) is apply(defs::relu, {x})).
///
/// @code
/// // Given: const ad::Var& x
/// ad::Var y = ad::apply(ad::defs::clip, {x}, ad::ClipAttrs{.low = -1, .high = 1});  // ad::clip(x, -1, 1)
/// @endcode
///
/// The *_grad entries are the backward rules' own ops (relu's backward is relu_grad(y, dy));
/// they have no gradient themselves.
#pragma once
#include <cstdint>

#include "tapegrad/autodiff/op.h"

namespace ad {

/// matmul: op(a)·op(b), op transposing when asked (the backward's dA = dC·Bᵀ, dB = Aᵀ·dC are
/// layouts, not copies).
struct MatmulAttrs {
  /// Read a (b) as stored transposed.
  /// @{
  bool trans_a = false, trans_b = false;
  /// @}
};
/// clip and clip_grad: the interval [low, high].
struct ClipAttrs {
  /// The interval's ends, low <= high.
  /// @{
  float low = 0, high = 0;
  /// @}
};
/// sum_axis and mean_axis: the axis (non-negative) and whether it is kept with size 1.
struct AxisAttrs {
  int32_t axis = 0;       ///< the reduced axis, counted from 0
  bool keepdims = false;  ///< keep it with size 1
};
/// reshape, broadcast_to and sum_to: the target shape.
struct ShapeAttrs {
  Shape shape;  ///< the shape to reach
};
/// huber_loss and its gradient: Keras' delta.
struct HuberAttrs {
  float delta = 1.f;  ///< where the loss turns from quadratic to linear
};
/// The cross-entropies and their gradients: logits or probabilities (ops.h's CrossentropyOptions).
struct FromLogitsAttrs {
  bool from_logits = false;  ///< the prediction is logits
};
/// extreme_grad: the gradient of maximum (or minimum) for operand 0 or 1, broadcast shape.
struct ExtremeGradAttrs {
  bool maximum = true;  ///< maximum's gradient (false: minimum's)
  int operand = 0;      ///< 0 or 1: whose share
};

namespace defs {

/// Arithmetic (ops/arithmetic.cpp): numpy broadcasting; sum_to and broadcast_to move a value
/// between a shape and its broadcast; add_n sums any number of equal-shaped values.
/// @{
extern const OpDef add, sub, mul, div, neg, sum_to, broadcast_to, add_n;
/// @}
/// Element-wise (ops/elementwise.cpp) and the gradients their backward rules use.
/// @{
extern const OpDef exp, log, square, sqrt, abs, relu, sigmoid, tanh, softplus, heaviside, sign, maximum, minimum,
    clip;
/// @}
/// The gradient ops of the element-wise backward rules.
/// @{
extern const OpDef relu_grad, sigmoid_grad, tanh_grad, softplus_grad, step_grad, clip_grad, extreme_grad;
/// @}
/// Matrix product (ops/matmul.cpp).
/// @{
extern const OpDef matmul;
/// @}
/// Softmax family (ops/softmax.cpp).
/// @{
extern const OpDef softmax, log_softmax, softmax_grad, log_softmax_grad;
/// @}
/// Reductions (ops/reduce.cpp): over all elements to shape [], or along one axis.
/// @{
extern const OpDef sum_all, mean_all, sum_axis, mean_axis;
/// @}
/// Shape ops (ops/shape.cpp).
/// @{
extern const OpDef reshape, transpose;
/// @}
/// Losses (ops/losses.cpp): inputs (prediction, target); gradients (prediction, target, dloss).
/// @{
extern const OpDef mse_loss, mae_loss, huber_loss, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy;
/// @}
/// The losses' gradients: (prediction, target, dloss) -> dprediction.
/// @{
extern const OpDef mse_loss_grad, mae_loss_grad, huber_loss_grad, binary_crossentropy_grad,
    categorical_crossentropy_grad, sparse_categorical_crossentropy_grad;
/// @}

}  // namespace defs

}  // namespace ad
