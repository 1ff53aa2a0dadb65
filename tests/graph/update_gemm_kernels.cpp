// The folded update ops' own kernels (the forward of their registry entries, which runs the
// small-matmul loops) against the update written out by hand, and against the oneDNN plan the
// executor runs for the same spec.
#include <doctest/doctest.h>

#include <tapegrad/autodiff/kernels/matmul_plan.h>
#include <tapegrad/graph/fused_ops.h>

#include <vector>

namespace {

struct Case {
  int64_t m = 3, k = 4, n = 5;
  std::vector<float> a, b, start;
  Case() {
    for (int64_t i = 0; i < k * m; ++i) a.push_back(0.1f * static_cast<float>(i % 7) - 0.3f);  // stored [k,m]: trans_a
    for (int64_t i = 0; i < k * n; ++i) b.push_back(0.05f * static_cast<float>(i % 11) - 0.2f);
    for (int64_t i = 0; i < m * n; ++i) start.push_back(0.5f - 0.02f * static_cast<float>(i));
  }
  float product(int64_t i, int64_t j) const {  // (aᵀ·b)[i,j]
    float s = 0;
    for (int64_t p = 0; p < k; ++p) s += a[static_cast<size_t>(p * m + i)] * b[static_cast<size_t>(p * n + j)];
    return s;
  }
};

std::vector<float> run(const ad::OpDef& op, const ad::Attrs& attrs, const Case& c, float lr) {
  std::vector<float> out = c.start;
  ad::Shape sa{c.k, c.m}, sb{c.k, c.n}, so{c.m, c.n};
  ad::View in[] = {{const_cast<float*>(c.a.data()), &sa, c.k * c.m}, {const_cast<float*>(c.b.data()), &sb, c.k * c.n}};
  ad::View o{out.data(), &so, c.m * c.n};
  ad::KernelContext context{.learning_rate = lr};
  op.forward({in, std::span(&o, 1), attrs, context});
  return out;
}

}  // namespace

TEST_CASE("matmul_sgd_update and matmul_momentum_update kernels: W += -lr·aᵀb and V = μV - lr·aᵀb, as the oneDNN plan") {
  Case c;
  const float lr = 0.3f, mu = 0.9f;
  std::vector<float> sgd = run(graph::ops::matmul_sgd_update, graph::MatmulUpdateAttrs{.trans_a = true}, c, lr);
  std::vector<float> momentum =
      run(graph::ops::matmul_momentum_update, graph::MatmulMomentumAttrs{.trans_a = true, .momentum = mu}, c, lr);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      auto e = static_cast<size_t>(i * c.n + j);
      CHECK(sgd[e] == doctest::Approx(c.start[e] - lr * c.product(i, j)).epsilon(1e-6));
      CHECK(momentum[e] == doctest::Approx(mu * c.start[e] - lr * c.product(i, j)).epsilon(1e-6));
    }
  // The executor's path: the GEMM spec of the node, run as a oneDNN plan with the runtime scale.
  auto spec = graph::gemm_spec(graph::ops::matmul_momentum_update, graph::MatmulMomentumAttrs{.trans_a = true, .momentum = mu},
                               {c.k, c.m}, {c.m, c.n});
  REQUIRE(spec.has_value());
  CHECK(spec->sum_scale == mu);
  ad::kernels::MatmulPlan plan(*spec);
  std::vector<float> planned = c.start;
  std::vector<std::byte> scratch(plan.scratchpad_bytes() + 64);
  plan.run(c.a.data(), c.b.data(), planned.data(), nullptr, scratch.data(), spec->scale * lr);
  for (size_t e = 0; e < planned.size(); ++e) CHECK(planned[e] == doctest::Approx(momentum[e]).epsilon(1e-6));
}

TEST_CASE("apply_velocity: W += V, exactly") {
  std::vector<float> w = {1.f, -2.f, 0.25f, 3e-3f}, v = {0.5f, 0.5f, -0.25f, 1e-3f};
  ad::Shape s{4};
  ad::View in[] = {{w.data(), &s, 4}, {v.data(), &s, 4}};
  ad::View out{w.data(), &s, 4};
  ad::KernelContext context{.learning_rate = 0.1f};  // not used: the step is V itself
  graph::ops::apply_velocity.forward({in, std::span(&out, 1), ad::Attrs{}, context});
  CHECK(w == std::vector<float>{1.5f, -1.5f, 0.f, 3e-3f + 1e-3f});
}
