/// @file
/// The optimizers' parameter updates, written once: the eager optimizers (nn/optimizers/) and
/// the compiled step's update nodes (graph/node_kernels.cpp) both call these, so the two paths
/// compute the same numbers. Each updates `count` parameters in place from their gradients and
/// the optimizer's per-parameter state (slots), with Keras' formulas (keras/src/optimizers/).
///
/// @code
/// #include <tapegrad/autodiff/kernels/updates.h>
/// // Given: float* w, const float* g, float* m, float* v, int64_t n, int64_t t
/// // Adam's update number t (from 1) of n weights w with gradients g and moments m, v:
/// auto adam = ad::kernels::AdamCoefficients::at_step({.learning_rate = 1e-3, .beta_1 = 0.9}, t);
/// ad::kernels::adam_update(w, g, m, v, n, adam);
/// @endcode
///
/// The loops are branch-free and vectorised (AVX2 where the processor has it), and split
/// across the threads from 4096 weights on, in the same block per thread every call
/// (ad::parallel_blocks: each thread's part of the optimizer state stays in its core's cache;
/// on one thread under an ad::SerialScope), with subnormal results flushed to
/// zero in every thread that runs them (ad::ComputeScope): moment estimates that decay towards
/// zero would otherwise turn subnormal and make each update many times slower.
/// The arrays must not overlap one another. Every function throws ad::Error for a negative count.
#pragma once
#include <cstdint>

namespace ad::kernels {

/// SGD with momentum, as Keras' SGD (Keras' default momentum is 0, which is plain SGD: use
/// sgd_update then, it needs no velocity):
/// velocity = momentum · velocity − lr · g;  w += velocity
/// Nesterov:  w += momentum · velocity − lr · g   (with the new velocity).
struct MomentumCoefficients {
  float learning_rate = 0.01f;  ///< Keras' SGD default
  float momentum = 0.f;         ///< in [0, 1]
  bool nesterov = false;        ///< Nesterov's look-ahead form
};

/// Adam's step size and decay rates for one step, as Keras' Adam (Keras' defaults; Kingma and
/// Ba's betas, epsilon 1e-7 instead of their 1e-8):
/// m += (g − m)(1 − beta_1);  v += (g² − v)(1 − beta_2);  w −= step_size · m / (sqrt(v) + epsilon)
struct AdamCoefficients {
  float step_size = 0.f;          ///< lr · sqrt(1 − beta_2^t) / (1 − beta_1^t): the bias correction folded in
  float one_minus_beta_1 = 0.1f;  ///< 1 − beta_1, from beta_1 in double (as Keras, whose betas are doubles)
  float one_minus_beta_2 = 0.001f;  ///< 1 − beta_2 likewise (1 − 0.999f in float is 1.3e-5 off)
  float epsilon = 1e-7f;          ///< added to sqrt(v)

  /// Adam's hyper-parameters, in double as the optimizer keeps them.
  struct Settings {
    /// Keras' names and defaults.
    /// @{
    double learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7;
    /// @}
  };
  /// The coefficients of update number t (from 1), the bias correction computed once in double
  /// (beta^t in float loses the small 1 − beta^t of the first steps). Throws ad::Error for t < 1
  /// (1 − beta_1^0 = 0) or a beta outside [0, 1).
  static AdamCoefficients at_step(const Settings& settings, int64_t t);
};

/// RMSprop as Keras' RMSprop (defaults rho 0.9, epsilon 1e-7, momentum 0; Keras' "centered"
/// variant is not offered, as nn::RMSprop has none):
/// velocity = rho · velocity + (1 − rho) g²;  step = lr · g / sqrt(velocity + epsilon)
/// w −= step, or with momentum > 0:  momentum_slot = momentum · momentum_slot + step; w −= momentum_slot
///
/// On x86-64 the division by the square root is a product with the processor's
/// reciprocal-square-root estimate refined by one Newton step, in the widest vectors it runs:
/// each step within 8 ulp of the exact one, and zeros, infinities and NaN as the exact formula
/// gives them. The exact square root and division were the loop's cost (46 against 31-35 µs
/// for 235,200 weights on 2 cores). Adam's loop stays exact: memory bounds it either way.
struct RMSpropCoefficients {
  float learning_rate = 0.001f;  ///< Keras' RMSprop default
  float rho = 0.9f;              ///< decay of the mean square, in [0, 1)
  float one_minus_rho = 0.1f;    ///< 1 − rho, from rho in double (as Keras)
  float momentum = 0.f;          ///< in [0, 1]; above 0 the momentum slot is used
  float epsilon = 1e-7f;         ///< added to the mean square under the root

  /// RMSprop's hyper-parameters, in double as the optimizer keeps them.
  struct Settings {
    /// Keras' names and defaults.
    /// @{
    double learning_rate = 0.001, rho = 0.9, momentum = 0, epsilon = 1e-7;
    /// @}
  };
  /// The coefficients of these settings.
  static RMSpropCoefficients of(const Settings& settings);
};

/// w −= lr · g.
void sgd_update(float* param, const float* grad, int64_t count, float learning_rate);
/// SGD with (Nesterov) momentum; `velocity` is Keras' "momentum" slot.
void momentum_update(float* param, const float* grad, float* velocity, int64_t count, const MomentumCoefficients& c);
/// Adam; `m` and `v` are the first and second moment slots.
void adam_update(float* param, const float* grad, float* m, float* v, int64_t count, const AdamCoefficients& c);
/// RMSprop; `momentum` is the momentum slot, used (and required non-null) only when c.momentum > 0.
void rmsprop_update(float* param, const float* grad, float* velocity, float* momentum, int64_t count,
                    const RMSpropCoefficients& c);

}  // namespace ad::kernels
