// The folded update ops' own kernels (the forward of their registry entries, which runs the
// small-matmul loops) against the update written out by hand, and against the oneDNN plan the
// executor runs for the same spec.
#include <doctest/doctest.h>

#include <tapegrad/autodiff/kernels/matmul_plan.h>
#include <tapegrad/graph/fused_ops.h>

#include <vector>

namespace {

// op(a) [m,k] and op(b) [k,n] given by formulas, stored transposed or not as the case asks.
struct Case {
  int64_t m = 3, k = 4, n = 5;
  bool trans_a, trans_b;
  std::vector<float> a, b, start;
  static float a_at(int64_t i, int64_t p) { return 0.1f * static_cast<float>((3 * i + p) % 7) - 0.3f; }
  static float b_at(int64_t p, int64_t j) { return 0.05f * static_cast<float>((2 * p + 5 * j) % 11) - 0.2f; }
  Case(bool ta, bool tb) : trans_a(ta), trans_b(tb), a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) a[static_cast<size_t>(trans_a ? p * m + i : i * k + p)] = a_at(i, p);
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) b[static_cast<size_t>(trans_b ? j * k + p : p * n + j)] = b_at(p, j);
    for (int64_t i = 0; i < m * n; ++i) start.push_back(0.5f - 0.02f * static_cast<float>(i));
  }
  ad::Shape a_shape() const { return trans_a ? ad::Shape{k, m} : ad::Shape{m, k}; }
  ad::Shape b_shape() const { return trans_b ? ad::Shape{n, k} : ad::Shape{k, n}; }
  float product(int64_t i, int64_t j) const {  // (op(a)·op(b))[i,j]
    float s = 0;
    for (int64_t p = 0; p < k; ++p) s += a_at(i, p) * b_at(p, j);
    return s;
  }
};

std::vector<float> run(const ad::OpDef& op, const ad::Attrs& attrs, const Case& c, float lr) {
  std::vector<float> out = c.start;
  ad::Shape sa = c.a_shape(), sb = c.b_shape(), so{c.m, c.n};
  ad::View in[] = {{const_cast<float*>(c.a.data()), &sa, c.k * c.m}, {const_cast<float*>(c.b.data()), &sb, c.k * c.n}};
  ad::View o{out.data(), &so, c.m * c.n};
  ad::KernelContext context{.learning_rate = lr};
  op.forward({in, std::span(&o, 1), attrs, context});
  return out;
}

// The executor's path: the node's GEMM spec, run as a oneDNN plan with the runtime scale.
std::vector<float> run_plan(const ad::OpDef& op, const ad::Attrs& attrs, const Case& c, float lr) {
  auto spec = graph::gemm_spec(op, attrs, c.a_shape(), {c.m, c.n});
  REQUIRE(spec.has_value());
  ad::kernels::MatmulPlan plan(*spec);
  std::vector<float> out = c.start;
  std::vector<std::byte> scratch(plan.scratchpad_bytes() + 64);
  plan.run(c.a.data(), c.b.data(), out.data(), nullptr, scratch.data(), spec->scale * lr);
  return out;
}

}  // namespace

TEST_CASE("matmul_sgd_update and matmul_momentum_update kernels: W += -lr·op(a)op(b) and V = μV - lr·op(a)op(b), as the oneDNN plan") {
  const float lr = 0.3f, mu = 0.9f;
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true}) {
      CAPTURE(trans_a);
      CAPTURE(trans_b);
      Case c(trans_a, trans_b);
      const graph::MatmulUpdateAttrs sgd_attrs{.trans_a = trans_a, .trans_b = trans_b};
      const graph::MatmulMomentumAttrs momentum_attrs{.trans_a = trans_a, .trans_b = trans_b, .momentum = mu};
      std::vector<float> sgd = run(graph::ops::matmul_sgd_update, sgd_attrs, c, lr);
      std::vector<float> momentum = run(graph::ops::matmul_momentum_update, momentum_attrs, c, lr);
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t j = 0; j < c.n; ++j) {
          auto e = static_cast<size_t>(i * c.n + j);
          CHECK(sgd[e] == doctest::Approx(c.start[e] - lr * c.product(i, j)).epsilon(1e-6));
          CHECK(momentum[e] == doctest::Approx(mu * c.start[e] - lr * c.product(i, j)).epsilon(1e-6));
        }
      std::vector<float> sgd_planned = run_plan(graph::ops::matmul_sgd_update, sgd_attrs, c, lr);
      std::vector<float> momentum_planned = run_plan(graph::ops::matmul_momentum_update, momentum_attrs, c, lr);
      for (size_t e = 0; e < sgd.size(); ++e) {
        CHECK(sgd_planned[e] == doctest::Approx(sgd[e]).epsilon(1e-6));
        CHECK(momentum_planned[e] == doctest::Approx(momentum[e]).epsilon(1e-6));
      }
    }
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
