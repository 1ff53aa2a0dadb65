#include "tapegrad/autodiff/kernels/matmul_plan.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <vector>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/autodiff/kernels/matmul_primitive.h"

namespace ad::kernels {

struct MatmulPlan::Impl {
  Impl(const dnnl::matmul::primitive_desc& pd, const MatmulSpec& s) : primitive(pd), arguments(pd, s) {}
  dnnl::matmul primitive;
  MatmulArguments arguments;
  size_t scratchpad_bytes = 0;
};

MatmulPlan::MatmulPlan(const MatmulSpec& s) : spec_(s) {
  TG_CHECK(s.m >= 0 && s.k >= 0 && s.n >= 0, "MatmulPlan: negative size m={} k={} n={}", s.m, s.k, s.n);
  TG_CHECK(s.lda == 0 || s.lda >= (s.trans_a ? s.m : s.k), "MatmulPlan: lda {} is below a's stored row length {}", s.lda,
           s.trans_a ? s.m : s.k);
  if (s.m == 0 || s.n == 0 || s.k == 0) return;  // run() hands these to kernels::matmul
  dnnl::matmul::primitive_desc pd = matmul_primitive_desc(s);
  impl_ = std::make_unique<Impl>(pd, s);
  impl_->scratchpad_bytes = pd.scratchpad_desc().get_size();
}

MatmulPlan::~MatmulPlan() = default;
MatmulPlan::MatmulPlan(MatmulPlan&&) noexcept = default;
MatmulPlan& MatmulPlan::operator=(MatmulPlan&&) noexcept = default;

size_t MatmulPlan::scratchpad_bytes() const { return impl_ ? impl_->scratchpad_bytes : 0; }

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
  p.arguments.point_at(a, b, c, bias, scratchpad, scale);
  dnnl_status_t status = p.arguments.execute(p.primitive);
  TG_CHECK(status == dnnl_success, "MatmulPlan: oneDNN matmul [{},{}]x[{},{}] failed with status {}", s.m, s.k, s.k,
           s.n, static_cast<int>(status));
  apply_activation_after(s, c);
}

}  // namespace ad::kernels
