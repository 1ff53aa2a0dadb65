/// @file
/// Matrix products in oneDNN, the only place (with kernels/onednn.cpp) that creates primitives.
/// A primitive is created once per MatmulSpec (the first call JIT-compiles it) and cached.
///
/// @code
/// #include <tapegrad/autodiff/tensor.h>
/// // Given: const ad::Tensor& x, const ad::Tensor& W, const ad::Tensor& bias, ad::Tensor& y
/// ad::kernels::MatmulSpec spec{.m = 32, .k = 784, .n = 300, .bias = true,
///                               .activation = ad::kernels::Activation::Relu};
/// ad::kernels::matmul(spec, x.data(), W.data(), y.data(), bias.data());
/// @endcode
///
/// Transposes are memory layouts over the same data, never copies: with trans_a the array at
/// `a` is stored [k,m] and read as its transpose. `accumulate` adds the product into c
/// (oneDNN's sum post-op), and `scale` multiplies the product first: with both,
/// c += scale * op(a) op(b), which is how SGD updates a weight in place.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ad::kernels {

/// The element-wise function applied to a product (a oneDNN eltwise post-op).
enum class Activation : uint8_t { None, Relu, Sigmoid, Tanh, Softplus };

/// One GEMM: c (+)= scale * op(a) op(b) (+ bias), then the activation, with a [m,k] (or [k,m]
/// when trans_a), b [k,n] (or [n,k] when trans_b) and c [m,n], all row-major float32. Equal
/// specs share one cached oneDNN primitive.
struct MatmulSpec {
  /// The product's dimensions: op(a) is [m,k], op(b) [k,n], c [m,n].
  /// @{
  int64_t m = 0, k = 0, n = 0;
  /// @}
  /// Read a (b) as stored transposed.
  /// @{
  bool trans_a = false, trans_b = false;
  /// @}
  bool bias = false;  ///< adds a bias row of n values before the activation
  Activation activation = Activation::None;  ///< applied after the bias
  float scale = 1.f;  ///< multiplies the product (an SGD step folds -learning_rate in here)
  bool accumulate = false;  ///< c += instead of c = (a oneDNN sum post-op)
  /// With accumulate: c = scale·op(a)·op(b) + sum_scale·c (momentum folds its μ in here).
  float sum_scale = 1.f;
  /// a's row stride as stored, in elements: 0 for a dense a (k, or m when trans_a); larger to
  /// read a block of columns of a wider matrix (the executor's row-split weights, graph/executor.h).
  int64_t lda = 0;
  bool operator==(const MatmulSpec&) const = default;  ///<  member-wise, for the primitive cache
};

/// Below this many multiply-adds (m*k*n) matmul() runs plain loops on the calling thread:
/// oneDNN's fixed cost per call (argument maps, memory objects, dispatch: microseconds) is
/// larger than such a product itself.
inline constexpr int64_t kSmallMatmulWork = 1 << 12;

/// Scratch memory for one call; callers that may run concurrently pass their own buffer of
/// matmul_scratchpad_bytes(spec) bytes (64-byte aligned); nullptr makes the call allocate.
size_t matmul_scratchpad_bytes(const MatmulSpec& spec);
/// Runs the product `spec` describes on raw arrays of the sizes it implies (see MatmulSpec);
/// the first call per spec creates and caches a oneDNN primitive (tens of milliseconds).
void matmul(const MatmulSpec& spec, const float* a, const float* b, float* c, const float* bias = nullptr,
            void* scratchpad = nullptr);

/// The plain loops behind small products, for any size: the readable reference of matmul().
void matmul_loops(const MatmulSpec& spec, const float* a, const float* b, float* c, const float* bias = nullptr);

/// The instruction set oneDNN dispatches to on this CPU, e.g. "AVX2" or "AVX-512 with bf16".
std::string cpu_isa();
/// Number of primitives in the cache (tests check that shapes are not recompiled).
size_t cached_primitive_count();

}  // namespace ad::kernels
