/// @file
/// The differentiable ops. Each is a registry entry (op.h, op_defs.h) run by ad::apply(): it
/// records itself on the active tape (see var.h), and its shape rule, kernel and backward rule
/// stand side by side in one file of ops/.
///
/// @code
/// // Given: const ad::Var& x, const ad::Var& W, const ad::Var& b, const ad::Var& logits, const ad::Tensor& labels
/// ad::Var h = ad::relu(ad::matmul(x, W) + b);      // b: [units], broadcast over rows
/// ad::Var loss = ad::sparse_categorical_crossentropy(logits, labels, {.from_logits = true});
/// @endcode
///
/// Broadcasting in add/sub/mul/div/maximum/minimum follows numpy: shapes are aligned from the
/// right and a dimension of 1 (or a missing one) stretches; the gradient is summed back.
/// heaviside and sign are steps: their gradient is zero everywhere (they exist for the
/// perceptron's forward pass, not for backpropagation).
#pragma once
#include <cstdint>
#include <span>

#include "tapegrad/autodiff/var.h"

namespace ad {

/// @name Arithmetic (ops/arithmetic.cpp)
/// Element-wise, with NumPy broadcasting: shapes are aligned from the last axis and an axis of
/// size 1 stretches; the gradient of a stretched operand is summed back to its shape. Throws
/// ad::Error naming the op and both shapes when they do not broadcast.
/// @{

/// a + b.
Var add(const Var& a, const Var& b);
/// a - b.
Var sub(const Var& a, const Var& b);
/// a * b, element by element (matmul() is the matrix product).
Var mul(const Var& a, const Var& b);
/// a / b; division by zero gives inf or NaN as IEEE arithmetic says.
Var div(const Var& a, const Var& b);
/// -a.
Var neg(const Var& a);
/// The operators spell add, sub, mul, div and neg; a float operand acts as a constant scalar
/// (shape [], no gradient).
Var operator+(const Var& a, const Var& b);
Var operator-(const Var& a, const Var& b);
Var operator*(const Var& a, const Var& b);
Var operator/(const Var& a, const Var& b);
Var operator-(const Var& a);
Var operator+(const Var& a, float b);
Var operator-(const Var& a, float b);
Var operator*(const Var& a, float b);
Var operator/(const Var& a, float b);
Var operator+(float a, const Var& b);
Var operator-(float a, const Var& b);
Var operator*(float a, const Var& b);
Var operator/(float a, const Var& b);
/// The shape numpy broadcasting gives two shapes; throws naming `op` when they do not broadcast.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);
/// `t` stretched to `shape` (a copy unless the shape is already `shape`).
Tensor broadcast_to(const Tensor& t, const Shape& shape);
/// Sums `gradient` down to `shape` (the reverse of broadcasting `shape` up to gradient's shape).
Tensor sum_to_shape(const Tensor& gradient, const Shape& shape);
/// @}

/// @name Element-wise functions (ops/elementwise.cpp)
/// Same shape out as in. Outside a function's domain the result is what IEEE float arithmetic
/// gives (log(0) = -inf, sqrt(-1) = NaN), and NaN propagates, so that training can detect it.
/// @{

/// e^a; its backward reuses the output.
Var exp(const Var& a);
/// Natural logarithm; gradient 1/a.
Var log(const Var& a);
/// a²; gradient 2a.
Var square(const Var& a);
/// √a; gradient 1/(2√a), infinite at 0.
Var sqrt(const Var& a);
/// |a|; gradient sign(a), 0 at 0.
Var abs(const Var& a);
/// max(a, 0); gradient 1 where the output is positive, else 0 (0 at a = 0, as PyTorch).
Var relu(const Var& a);
Var sigmoid(const Var& a);  ///< the logistic function 1/(1+e^-a); gradient σ(1-σ) from the output
/// Hyperbolic tangent; gradient 1 - tanh² from the output.
Var tanh(const Var& a);
/// log(1 + e^a), computed without overflow for large |a|; gradient σ(a).
Var softplus(const Var& a);
Var heaviside(const Var& a);  ///< 1 where a >= 0, else 0; zero gradient
Var sign(const Var& a);       ///< -1, 0 or 1; zero gradient
/// The larger of a and b element by element, broadcast; the gradient goes to the chosen
/// operand (to a on ties).
Var maximum(const Var& a, const Var& b);
/// The smaller of a and b element by element, broadcast; the gradient goes to the chosen
/// operand (to a on ties).
Var minimum(const Var& a, const Var& b);
/// a limited to [low, high]; gradient 1 inside the interval (bounds included), 0 outside.
/// Throws ad::Error when low > high.
Var clip(const Var& a, float low, float high);
/// @}

/// Matrix product [m,k] x [k,n] -> [m,n] in oneDNN (tiny ones in plain loops, ops/matmul.cpp).
/// Throws ad::Error naming both shapes when an operand is not 2-D or the inner dimensions differ.
Var matmul(const Var& a, const Var& b);

/// Softmax along the last axis, shifted by the row maximum so that large logits cannot
/// overflow (ops/softmax.cpp).
Var softmax(const Var& a);
/// log(softmax(a)) along the last axis, as a - max - log Σ e^(a - max): finite for any finite a.
Var log_softmax(const Var& a);

/// @name Reductions (ops/reduce.cpp)
/// An axis may be negative (counted from the end, -1 the last); keepdims leaves it with size 1.
/// Throws ad::Error naming the shape for an axis out of range.
/// @{
Var sum(const Var& a);                                   ///< all elements -> shape []
/// Sum along `axis`.
Var sum(const Var& a, int64_t axis, bool keepdims = false);
/// Mean of all elements -> shape [].
Var mean(const Var& a);
/// Mean along `axis`.
Var mean(const Var& a, int64_t axis, bool keepdims = false);
/// @}

/// @name Shape ops (ops/shape.cpp)
/// The gradient is reshaped or transposed back to the operand's shape.
/// @{
Var reshape(const Var& a, Shape shape);  ///< one dimension may be -1; throws when the sizes differ
Var flatten(const Var& a);               ///< [n, d1, d2, ...] -> [n, d1*d2*...]
Var transpose(const Var& a);             ///< 2-D
/// @}

/// @name Losses (ops/losses.cpp)
/// Each returns the mean over all elements (so over samples) as a scalar [], as Keras' losses
/// with their default reduction do. Targets are constants (no gradient flows into them).
/// Unless said otherwise, prediction and target have equal shapes or equal row and element
/// counts ([n,1] against [n]); otherwise, for an empty prediction or a NaN in the target,
/// ad::Error names the loss and the shapes or the element.
/// @{

/// Mean squared error, mean((prediction - target)²).
Var mse_loss(const Var& prediction, const Var& target);
/// Mean absolute error, mean(|prediction - target|).
Var mae_loss(const Var& prediction, const Var& target);
/// Huber loss (Keras' Huber): ½e² where |e| <= delta, delta(|e| - ½delta) beyond, with
/// e = prediction - target and Keras' default delta 1.
Var huber_loss(const Var& prediction, const Var& target, float delta = 1.f);
/// Options of the cross-entropies, as Keras' losses take them.
struct CrossentropyOptions {
  /// The prediction is logits (pre-sigmoid or pre-softmax values) and the loss is computed in
  /// the stable log-sum-exp form; false (Keras' default): probabilities, clipped to
  /// [1e-7, 1 - 1e-7] (Keras' epsilon) before the logarithm.
  bool from_logits = false;
};
/// prediction and target of equal shape, target in [0,1]. Probabilities are clipped to
/// [1e-7, 1-1e-7], then -(t log(p + 1e-7) + (1-t) log(1 - p + 1e-7)), as tf.keras computes it.
Var binary_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options = {});
/// prediction [n,classes] (probabilities or logits), target one-hot [n,classes]. Probabilities:
/// each row is divided by its sum before it is clipped, as Keras does, so rows that do not sum
/// to 1 are read as distributions (a row summing to 0 gives NaN, as in Keras).
Var categorical_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options = {});
/// prediction [n,classes], labels: n class indices (as floats holding integers); throws ad::Error
/// naming the label for one outside [0, classes). Probabilities: each value clipped to
/// [1e-7, 1-1e-7] first and the row then divided by its clipped sum, as Keras does (a row of
/// zeros gives log(classes)).
Var sparse_categorical_crossentropy(const Var& prediction, const Tensor& labels,
                                    CrossentropyOptions options = {});
/// @}

}  // namespace ad
