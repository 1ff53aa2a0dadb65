/// @file
/// MatmulPlan: one oneDNN matmul made once and run many times with no per-call setup: the
/// primitive, its memory objects and its argument list live in the plan; a call only points
/// them at this call's arrays. For the graph executor, whose steps run the same GEMMs each time.
///
/// @code
/// ad::kernels::MatmulPlan plan({.m = 32, .k = 784, .n = 300, .bias = true, .activation = Activation::Relu});
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

class MatmulPlan {
 public:
  explicit MatmulPlan(const MatmulSpec& spec);
  ~MatmulPlan();
  MatmulPlan(MatmulPlan&&) noexcept;
  MatmulPlan& operator=(MatmulPlan&&) noexcept;

  const MatmulSpec& spec() const { return spec_; }
  size_t scratchpad_bytes() const;
  /// c (+)= scale * op(a) op(b) (+ bias, then activation); `scale` overrides spec().scale when
  /// the spec was made with a scale other than 1 (it is a runtime argument).
  void run(const float* a, const float* b, float* c, const float* bias, void* scratchpad, float scale) const;
  void run(const float* a, const float* b, float* c, const float* bias, void* scratchpad) const {
    run(a, b, c, bias, scratchpad, spec_.scale);
  }

 private:
  struct Impl;
  MatmulSpec spec_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ad::kernels
