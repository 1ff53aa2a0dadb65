/// @file
/// MatmulPlan: one oneDNN matmul made once and run many times with no per-call setup: the
/// primitive, its memory objects and its argument list live in the plan; a call only points
/// them at this call's arrays. For the graph executor, whose steps run the same GEMMs each time.
///
/// @code
/// #include <vector>
/// // Given: const float* x, const float* W, const float* b, float* y
/// ad::kernels::MatmulPlan plan({.m = 32, .k = 784, .n = 300, .bias = true,
///                                .activation = ad::kernels::Activation::Relu});
/// std::vector<std::byte> scratch(plan.scratchpad_bytes());   // one per concurrently running plan
/// plan.run(x, W, y, b, scratch.data());
/// @endcode
///
/// A plan is not re-entrant (its memory objects are its state): run one plan on one thread at
/// a time; distinct plans may run concurrently, each with its own scratchpad.
#pragma once
#include <cstddef>
#include <memory>

#include "tapegrad/autodiff/kernels/matmul.h"

namespace ad::kernels {

/// One oneDNN matmul for one MatmulSpec, ready to run; movable, not copyable.
class MatmulPlan {
 public:
  /// Creates the primitive and its memory objects (the costly part: once per shape).
  explicit MatmulPlan(const MatmulSpec& spec);
  ~MatmulPlan();
  /// Plans move; the moved-from plan may only be destroyed or assigned.
  /// @{
  MatmulPlan(MatmulPlan&&) noexcept;
  MatmulPlan& operator=(MatmulPlan&&) noexcept;

  /// @}
  /// The product this plan computes.
  const MatmulSpec& spec() const { return spec_; }
  /// Bytes of scratch memory run() needs (64-byte aligned), possibly 0.
  size_t scratchpad_bytes() const;
  /// c (+)= scale * op(a) op(b) (+ bias, then activation); `scale` overrides spec().scale when
  /// the spec was made with a scale other than 1 (it is a runtime argument).
  void run(const float* a, const float* b, float* c, const float* bias, void* scratchpad, float scale) const;
  /// run() with the spec's own scale.
  void run(const float* a, const float* b, float* c, const float* bias, void* scratchpad) const {
    run(a, b, c, bias, scratchpad, spec_.scale);
  }

 private:
  struct Impl;
  MatmulSpec spec_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ad::kernels
