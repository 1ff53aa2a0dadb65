/// @file
/// The ops only compiled graphs hold: what the passes fuse registered ops into, and the
/// optimizers' in-place updates. They are registry entries like any other (autodiff/op.h), so
/// the executor runs them the same way; none has a backward (they appear after differentiation).
///
/// @code
/// // Given: const ad::OpDef* op
/// bool gemm = op == &graph::ops::fused_dense;  // a GEMM with bias and activation
/// @endcode
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/op.h"

namespace graph {

using ad::Shape;

/// The activation's name in reports and dumps: "none", "relu", "sigmoid", "tanh", "softplus".
const char* activation_name(ad::kernels::Activation a);

/// fused_dense: (x [n,k], W [k,u], b [u]) -> activation(x·W + b), one oneDNN matmul with a
/// bias and an eltwise post-op.
struct FusedDenseAttrs {
  ad::kernels::Activation activation = ad::kernels::Activation::None;  ///< the eltwise post-op
};
/// matmul_sgd_update: (a, b) -> W in place, W += -lr · op(a)·op(b): SGD folded into the weight
/// gradient's GEMM (a runtime source scale and a sum post-op), so the gradient never exists.
struct MatmulUpdateAttrs {
  /// Read a (b) as stored transposed.
  /// @{
  bool trans_a = false, trans_b = false;
  /// @}
};
/// matmul_momentum_update: (a, b) -> V in place, V = momentum·V - lr·op(a)·op(b): SGD's
/// momentum (Keras' v = μv - lr·g) folded into the weight gradient's GEMM (a runtime source
/// scale and a sum post-op of scale μ), so the gradient never exists; apply_velocity then adds V
/// to the weights.
struct MatmulMomentumAttrs {
  /// Read a (b) as stored transposed.
  /// @{
  bool trans_a = false, trans_b = false;
  /// @}
  float momentum = 0.f;  ///< μ, the sum post-op's scale
};
/// activation_bias_grad: (y, dy) -> (dz, db) with dz = dy·f'(y) and db its column sums; without
/// an activation (dy) -> (db). With update_bias, the last output is the bias itself, and it
/// receives += -lr · column sums (SGD folded in).
struct ActivationBiasGradAttrs {
  ad::kernels::Activation activation = ad::kernels::Activation::None;  ///< whose derivative (None: dz is dy)
  bool update_bias = false;  ///< SGD folded in: the last output is the bias, updated in place
};
/// softmax_crossentropy: (logits, target) -> (loss [], probabilities), by log-sum-exp;
/// softmax_crossentropy_grad: (probabilities, target, dloss) -> dlogits = (softmax - target)/rows.
/// sparse: the target is n labels.
struct SoftmaxCrossentropyAttrs {
  bool sparse = false;  ///< the target is n labels, not one-hot rows
};

/// The optimizer a training graph ends with: none (gradients only), SGD (with momentum and
/// Nesterov), Adam or RMSprop (with momentum).
enum class UpdateKind : uint8_t { None, SGD, Adam, RMSprop };

/// The optimizer folded into the step, with Keras' names and defaults (the attributes of the
/// update ops; their kernels are autodiff/kernels/updates.h, shared with the eager optimizers).
struct UpdateRule {
  UpdateKind kind = UpdateKind::None;  ///< which optimizer
  float learning_rate = 0.01f;  ///< Keras' SGD default (Adam's is 0.001, set by nn::Adam)
  float momentum = 0.f;  ///< SGD's and RMSprop's momentum (0: none, no slot)
  bool nesterov = false;  ///< SGD: Nesterov momentum
  /// Adam's decay rates, Keras' defaults (Kingma and Ba's); in double as the optimizer keeps
  /// them, so that 1 − beta is the eager step's (autodiff/kernels/updates.h).
  /// @{
  double beta_1 = 0.9, beta_2 = 0.999;
  /// @}
  float epsilon = 1e-7f;  ///< Adam's and RMSprop's, Keras' default for both (Kingma and Ba's is 1e-8)
  double rho = 0.9;  ///< RMSprop's decay of the mean square, Keras' default
  /// Slot names per parameter, in the order the executor binds them.
  std::vector<std::string> slot_names() const;
};

namespace ops {

/// The fused ops the passes make (see the attribute structs above).
/// @{
extern const ad::OpDef fused_dense, matmul_sgd_update, matmul_momentum_update, activation_bias_grad,
    softmax_crossentropy, softmax_crossentropy_grad;
/// @}
/// apply_velocity: (W, V) -> W in place, W += V: the second half of a folded momentum update.
extern const ad::OpDef apply_velocity;
/// stop_gradient: x -> a copy of x through which no gradient flows (JAX's name); capture reads a
/// parameter's data taken without its gradient (W.detach()) through it.
extern const ad::OpDef stop_gradient;
/// In-place updates: (parameter, gradient, slots...) -> (parameter, slots...), attributes an
/// UpdateRule; the learning rate and Adam's step come from the run's KernelContext.
/// @{
extern const ad::OpDef sgd_update, momentum_update, adam_update, rmsprop_update;
/// @}

/// The update op of a rule (null for UpdateKind::None).
const ad::OpDef* update_op(const UpdateRule& rule);

}  // namespace ops

/// The GEMM a node of `op` runs (matmul, fused_dense, matmul_sgd_update,
/// matmul_momentum_update), with a the first input's shape and c the output's; nullopt for
/// other ops. The update GEMMs' scale is -1, to be multiplied by the learning rate at run time.
std::optional<ad::kernels::MatmulSpec> gemm_spec(const ad::OpDef& op, const ad::Attrs& attrs, const Shape& a,
                                                 const Shape& c);

/// Every op of this file (the graph tests check each against an eager reference).
std::span<const ad::OpDef* const> fused_ops();

}  // namespace graph
