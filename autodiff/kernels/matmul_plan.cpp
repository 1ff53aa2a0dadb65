#include "autodiff/kernels/matmul_plan.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <vector>

#include "autodiff/error.h"
#include "autodiff/kernels/onednn.h"

namespace ad::kernels {

namespace {

using dnnl::memory;

memory::desc matrix_desc(int64_t rows, int64_t cols, bool transposed) {
  // A transposed operand is stored [cols,rows]; reading it with swapped strides is free.
  return memory::desc({rows, cols}, memory::data_type::f32,
                      transposed ? memory::dims{1, rows} : memory::dims{cols, 1});
}

dnnl::algorithm eltwise_algorithm(Activation a) {
  switch (a) {
    case Activation::Relu: return dnnl::algorithm::eltwise_relu;
    case Activation::Sigmoid: return dnnl::algorithm::eltwise_logistic;
    case Activation::Tanh: return dnnl::algorithm::eltwise_tanh;
    case Activation::None: break;
  }
  return dnnl::algorithm::undef;
}

}  // namespace

struct MatmulPlan::Impl {
  dnnl::matmul primitive;
  memory src, weights, dst, bias, scale, scratchpad;
  mutable float scale_value = 1.f;
  size_t scratchpad_bytes = 0;
  std::vector<dnnl_exec_arg_t> args;  // the C API takes a plain array: no map built per call
};

MatmulPlan::MatmulPlan(const MatmulSpec& s) : spec_(s), impl_(std::make_unique<Impl>()) {
  TG_CHECK(s.m >= 0 && s.k >= 0 && s.n >= 0, "MatmulPlan: negative size m={} k={} n={}", s.m, s.k, s.n);
  if (s.m == 0 || s.n == 0 || s.k == 0) return;  // run() hands these to kernels::matmul
  const dnnl::engine& eng = engine();
  memory::desc a = matrix_desc(s.m, s.k, s.trans_a), b = matrix_desc(s.k, s.n, s.trans_b);
  memory::desc c({s.m, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (s.scale != 1.f) attr.set_scales_mask(DNNL_ARG_SRC, 0);
  dnnl::post_ops post;
  if (s.accumulate) post.append_sum(1.f);
  if (s.activation != Activation::None) post.append_eltwise(eltwise_algorithm(s.activation), 0.f, 0.f);
  attr.set_post_ops(post);
  memory::desc bias_desc({1, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
  auto pd = s.bias ? dnnl::matmul::primitive_desc(eng, a, b, bias_desc, c, attr)
                   : dnnl::matmul::primitive_desc(eng, a, b, c, attr);
  Impl& p = *impl_;
  p.primitive = dnnl::matmul(pd);
  p.src = memory(a, eng, DNNL_MEMORY_NONE);
  p.weights = memory(b, eng, DNNL_MEMORY_NONE);
  p.dst = memory(pd.dst_desc(), eng, DNNL_MEMORY_NONE);
  p.args = {{DNNL_ARG_SRC, p.src.get()}, {DNNL_ARG_WEIGHTS, p.weights.get()}, {DNNL_ARG_DST, p.dst.get()}};
  if (s.bias) {
    p.bias = memory(pd.bias_desc(), eng, DNNL_MEMORY_NONE);
    p.args.push_back({DNNL_ARG_BIAS, p.bias.get()});
  }
  if (s.scale != 1.f) {
    p.scale = memory(memory::desc({1}, memory::data_type::f32, memory::dims{1}), eng, &p.scale_value);
    p.args.push_back({DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, p.scale.get()});
  }
  p.scratchpad_bytes = pd.scratchpad_desc().get_size();
  if (p.scratchpad_bytes) {
    p.scratchpad = memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
    p.args.push_back({DNNL_ARG_SCRATCHPAD, p.scratchpad.get()});
  }
}

MatmulPlan::~MatmulPlan() = default;
MatmulPlan::MatmulPlan(MatmulPlan&&) noexcept = default;
MatmulPlan& MatmulPlan::operator=(MatmulPlan&&) noexcept = default;

size_t MatmulPlan::scratchpad_bytes() const { return impl_->scratchpad_bytes; }

void MatmulPlan::run(const float* a, const float* b, float* c, const float* bias, void* scratchpad,
                     float scale) const {
  const MatmulSpec& s = spec_;
  TG_CHECK(!s.bias || bias, "MatmulPlan: spec asks for a bias but none was given");
  if (s.m == 0 || s.n == 0) return;
  if (s.k == 0) {
    MatmulSpec once = s;
    once.scale = scale;
    return matmul(once, a, b, c, bias, scratchpad);
  }
  Impl& p = *impl_;
  TG_CHECK(p.scratchpad_bytes == 0 || scratchpad, "MatmulPlan: needs a scratchpad of {} bytes",
           p.scratchpad_bytes);
  p.src.set_data_handle(const_cast<float*>(a));
  p.weights.set_data_handle(const_cast<float*>(b));
  p.dst.set_data_handle(c);
  if (s.bias) p.bias.set_data_handle(const_cast<float*>(bias));
  if (p.scratchpad_bytes) p.scratchpad.set_data_handle(scratchpad);
  p.scale_value = scale;
  dnnl_status_t status = dnnl_primitive_execute(p.primitive.get(), stream().get(), static_cast<int>(p.args.size()),
                                                p.args.data());
  TG_CHECK(status == dnnl_success, "MatmulPlan: oneDNN matmul [{},{}]x[{},{}] failed with status {}", s.m, s.k, s.k,
           s.n, static_cast<int>(status));
}

}  // namespace ad::kernels
