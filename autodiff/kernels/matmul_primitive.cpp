#include "tapegrad/autodiff/kernels/matmul_primitive.h"

#include "tapegrad/autodiff/kernels/onednn.h"
#include "tapegrad/autodiff/kernels/vector_math.h"
#include "tapegrad/autodiff/threading.h"

namespace ad::kernels {

namespace {

using dnnl::memory;

// `ld`: the stored row stride (0: dense).
memory::desc matrix_desc(int64_t rows, int64_t cols, bool transposed, int64_t ld = 0) {
  // A transposed operand is stored [cols,rows]; reading it with swapped strides is free.
  return memory::desc({rows, cols}, memory::data_type::f32,
                      transposed ? memory::dims{1, ld ? ld : rows} : memory::dims{ld ? ld : cols, 1});
}

dnnl::algorithm eltwise_algorithm(Activation a) {
  switch (a) {
    // relu as elu with alpha 0: x above 0, 0 * (e^x - 1) = -0 below, the same numbers, but NaN
    // stays NaN. oneDNN's own relu (and clip) is a max instruction, which returns its second
    // operand, 0, when the first is NaN: a NaN in the layer would vanish and the loss look
    // finite. Measured on AVX-512 (brgemm) and AVX2 and SSE4.1 (gemm:jit) kernels.
    case Activation::Relu: return dnnl::algorithm::eltwise_elu;
    case Activation::Sigmoid: return dnnl::algorithm::eltwise_logistic;
    case Activation::Tanh: return dnnl::algorithm::eltwise_tanh;
    // softplus is no post-op: oneDNN's soft_relu is off by up to 8e-6 below x = -9 (negative
    // for some x); apply_softplus() follows the primitive instead.
    case Activation::Softplus: break;
    case Activation::None: break;
  }
  return dnnl::algorithm::undef;
}

}  // namespace

void apply_activation_after(const MatmulSpec& s, float* c) {
  if (s.activation != Activation::Softplus) return;
  parallel_range(s.m * s.n, [&](int64_t lo, int64_t hi) { softplus_values(c + lo, c + lo, hi - lo); });
}

dnnl::matmul::primitive_desc matmul_primitive_desc(const MatmulSpec& s) {
  memory::desc a = matrix_desc(s.m, s.k, s.trans_a, s.lda), b = matrix_desc(s.k, s.n, s.trans_b);
  memory::desc c({s.m, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (s.scale != 1.f) attr.set_scales_mask(DNNL_ARG_SRC, 0);
  dnnl::post_ops post;
  if (s.accumulate) post.append_sum(s.sum_scale);
  if (s.activation != Activation::None && s.activation != Activation::Softplus)
    post.append_eltwise(eltwise_algorithm(s.activation), 0.f, 0.f);
  attr.set_post_ops(post);
  if (!s.bias) return dnnl::matmul::primitive_desc(engine(), a, b, c, attr);
  memory::desc bias({1, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
  return dnnl::matmul::primitive_desc(engine(), a, b, bias, c, attr);
}

MatmulArguments::MatmulArguments(const dnnl::matmul::primitive_desc& pd, const MatmulSpec& s) {
  const dnnl::engine& eng = engine();
  src_ = memory(pd.src_desc(), eng, DNNL_MEMORY_NONE);
  weights_ = memory(pd.weights_desc(), eng, DNNL_MEMORY_NONE);
  dst_ = memory(pd.dst_desc(), eng, DNNL_MEMORY_NONE);
  args_ = {{DNNL_ARG_SRC, src_.get()}, {DNNL_ARG_WEIGHTS, weights_.get()}, {DNNL_ARG_DST, dst_.get()}};
  if (s.bias) {
    bias_ = memory(pd.bias_desc(), eng, DNNL_MEMORY_NONE);
    args_.push_back({DNNL_ARG_BIAS, bias_.get()});
  }
  if (s.scale != 1.f) {
    scale_ = memory(memory::desc({1}, memory::data_type::f32, memory::dims{1}), eng, &scale_value_);
    args_.push_back({DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, scale_.get()});
  }
  if (pd.scratchpad_desc().get_size()) {
    scratchpad_ = memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
    args_.push_back({DNNL_ARG_SCRATCHPAD, scratchpad_.get()});
  }
}

void MatmulArguments::point_at(const float* a, const float* b, float* c, const float* bias, void* scratchpad,
                               float scale) {
  src_.set_data_handle(const_cast<float*>(a));
  weights_.set_data_handle(const_cast<float*>(b));
  dst_.set_data_handle(c);
  if (bias_) bias_.set_data_handle(const_cast<float*>(bias));
  if (scratchpad_) scratchpad_.set_data_handle(scratchpad);
  scale_value_ = scale;
}

dnnl_status_t MatmulArguments::execute(const dnnl::matmul& primitive) const {
  return dnnl_primitive_execute(primitive.get(), stream().get(), static_cast<int>(args_.size()), args_.data());
}

}  // namespace ad::kernels
