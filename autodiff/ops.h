/// @file
/// The differentiable ops. Each records itself on the active tape (see var.h) and has its
/// shape rule, forward and backward side by side in one file of ops/.
///
/// @code
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

/// ---- Arithmetic (ops/arithmetic.cpp) ----
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var neg(const Var& a);
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

/// ---- Element-wise functions (ops/elementwise.cpp) ----
Var exp(const Var& a);
Var log(const Var& a);
Var square(const Var& a);
Var sqrt(const Var& a);
Var abs(const Var& a);
Var relu(const Var& a);
Var sigmoid(const Var& a);  ///< the logistic function
Var tanh(const Var& a);
Var softplus(const Var& a);
Var heaviside(const Var& a);  ///< 1 where a >= 0, else 0; zero gradient
Var sign(const Var& a);       ///< -1, 0 or 1; zero gradient
Var maximum(const Var& a, const Var& b);
Var minimum(const Var& a, const Var& b);
Var clip(const Var& a, float low, float high);

/// ---- Matrix product (ops/matmul.cpp): [m,k] x [k,n] -> [m,n], in oneDNN (tiny ones in plain loops) ----
Var matmul(const Var& a, const Var& b);

/// ---- Softmax family along the last axis, max-shifted (ops/softmax.cpp) ----
Var softmax(const Var& a);
Var log_softmax(const Var& a);

/// ---- Reductions (ops/reduce.cpp); axis -1 in sum_all sense is spelled by the overloads ----
Var sum(const Var& a);                                   ///< all elements -> shape []
Var sum(const Var& a, int64_t axis, bool keepdims = false);
Var mean(const Var& a);
Var mean(const Var& a, int64_t axis, bool keepdims = false);

/// ---- Shape ops (ops/shape.cpp) ----
Var reshape(const Var& a, Shape shape);  ///< one dimension may be -1
Var flatten(const Var& a);               ///< [n, d1, d2, ...] -> [n, d1*d2*...]
Var transpose(const Var& a);             ///< 2-D

/// ---- Losses (ops/losses.cpp); each returns the mean over samples as a scalar [] ----
/// Targets are constants (no gradient flows into them).
Var mse_loss(const Var& prediction, const Var& target);
Var mae_loss(const Var& prediction, const Var& target);
Var huber_loss(const Var& prediction, const Var& target, float delta = 1.f);
struct CrossentropyOptions {
  bool from_logits = false;
};
/// prediction and target of equal shape, target in [0,1].
Var binary_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options = {});
/// prediction [n,classes] (probabilities or logits), target one-hot [n,classes].
Var categorical_crossentropy(const Var& prediction, const Var& target, CrossentropyOptions options = {});
/// prediction [n,classes], labels: n class indices (as floats holding integers).
Var sparse_categorical_crossentropy(const Var& prediction, const Tensor& labels,
                                    CrossentropyOptions options = {});

}  // namespace ad
