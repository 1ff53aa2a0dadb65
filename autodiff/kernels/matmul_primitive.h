/// @file
/// The oneDNN side of a matrix product, shared by the cached kernel (matmul.cpp) and the plans
/// the graph executor keeps (matmul_plan.cpp): the primitive descriptor for a MatmulSpec, and the
/// memory objects and argument array of one caller, made once (that costs microseconds) and
/// pointed at each call's arrays.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <vector>

#include "tapegrad/autodiff/kernels/matmul.h"

namespace ad::kernels {

/// Transposes are strides over the same data; scale is a runtime argument; the sum post-op
/// (accumulate) comes before the activation.
dnnl::matmul::primitive_desc matmul_primitive_desc(const MatmulSpec& spec);

/// The activation the primitive leaves out, applied to its output c [m,n] afterwards: softplus,
/// through kernels/vector_math.h (oneDNN's soft_relu post-op is off by up to 8e-6 below x = -9,
/// negative for some x). Nothing for the other activations.
void apply_activation_after(const MatmulSpec& spec, float* c);

class MatmulArguments {
 public:
  MatmulArguments(const dnnl::matmul::primitive_desc& pd, const MatmulSpec& spec);
  /// The scale memory points at scale_value_: the object must stay where it is.
  MatmulArguments(const MatmulArguments&) = delete;
  MatmulArguments& operator=(const MatmulArguments&) = delete;

  void point_at(const float* a, const float* b, float* c, const float* bias, void* scratchpad, float scale);
  /// Runs the primitive on this thread's stream with the arrays last pointed at.
  dnnl_status_t execute(const dnnl::matmul& primitive) const;

 private:
  dnnl::memory src_, weights_, dst_, bias_, scale_, scratchpad_;
  float scale_value_ = 1.f;
  std::vector<dnnl_exec_arg_t> args_;  ///< the C API takes a plain array: no map built per call
};

}  // namespace ad::kernels
