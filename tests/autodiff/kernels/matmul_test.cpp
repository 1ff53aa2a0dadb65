#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/kernels/matmul_plan.h"

#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <array>
#include <cmath>
#include <tuple>
#include <vector>

#include "../test_util.h"

using ad::Tensor;
using ad::kernels::Activation;
using ad::kernels::MatmulSpec;

namespace {

// c = act(scale * op(a) op(b) + bias + (accumulate ? c : 0)), in three plain loops.
void naive_matmul(const MatmulSpec& s, const float* a, const float* b, float* c, const float* bias) {
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        int64_t lda = s.lda ? s.lda : (s.trans_a ? s.m : s.k);
        float x = s.trans_a ? a[p * lda + i] : a[i * lda + p];
        float y = s.trans_b ? b[j * s.k + p] : b[p * s.n + j];
        sum += double(x) * y;
      }
      double v = s.scale * sum + (s.bias ? bias[j] : 0.0) + (s.accumulate ? c[i * s.n + j] : 0.0);
      switch (s.activation) {
        case Activation::Relu: v = v > 0 ? v : 0; break;
        case Activation::Sigmoid: v = 1 / (1 + std::exp(-v)); break;
        case Activation::Tanh: v = std::tanh(v); break;
        case Activation::Softplus: v = std::log1p(std::exp(v)); break;
        case Activation::None: break;
      }
      c[i * s.n + j] = float(v);
    }
}

// Runs the kernel and the naive loops on the same seeded data; returns the largest difference.
float kernel_error(const MatmulSpec& s, uint64_t seed) {
  int64_t a_size = s.lda ? (s.trans_a ? s.k : s.m) * s.lda : s.m * s.k;
  Tensor a = test::random({std::max<int64_t>(a_size, 1)}, -1, 1, seed);
  Tensor b = test::random({std::max<int64_t>(s.k * s.n, 1)}, -1, 1, seed + 1);
  Tensor bias = test::random({std::max<int64_t>(s.n, 1)}, -1, 1, seed + 2);
  Tensor c = test::random({std::max<int64_t>(s.m * s.n, 1)}, -1, 1, seed + 3);
  Tensor expected = c.clone();
  naive_matmul(s, a.data(), b.data(), expected.data(), bias.data());
  ad::kernels::matmul(s, a.data(), b.data(), c.data(), s.bias ? bias.data() : nullptr);
  return ad::max_abs_difference(c.rows(0, s.m * s.n), expected.rows(0, s.m * s.n));
}

}  // namespace

TEST_CASE("the matmul kernel matches three plain loops in every variant") {
  struct Size {
    int64_t m, k, n;
  };
  // Small products take the kernel's own loops, larger ones oneDNN: both are covered. The loops
  // have a path for products at most 16 wide and 64 deep, in widths of 4, 8 and 16 lanes
  // ({4, 9, 7}, {15, 16, 16}, {1, 64, 16} at the edge), and a general one ({3, 4, 20} too wide,
  // {1, 65, 5} and {2, 100, 17} too deep).
  const Size sizes[] = {{1, 1, 1},  {3, 5, 2},  {1, 7, 4},   {6, 7, 1},    {5, 1, 3},    {4, 9, 7},   {15, 16, 16},
                        {1, 64, 16}, {3, 4, 20}, {1, 65, 5}, {2, 100, 17}, {17, 33, 9}, {64, 48, 40}, {40, 300, 20}};
  const Activation activations[] = {Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh,
                                    Activation::Softplus};
  uint64_t seed = 1;
  for (const Size& size : sizes)
    for (bool trans_a : {false, true})
      for (bool trans_b : {false, true})
        for (bool bias : {false, true})
          for (Activation activation : activations)
            for (bool accumulate : {false, true})
              for (float scale : {1.f, -0.5f}) {
                MatmulSpec s{.m = size.m, .k = size.k, .n = size.n, .trans_a = trans_a, .trans_b = trans_b,
                             .bias = bias, .activation = activation, .scale = scale, .accumulate = accumulate};
                INFO(fmt::format("m={} k={} n={} trans_a={} trans_b={} bias={} activation={} scale={} accumulate={}",
                                 s.m, s.k, s.n, trans_a, trans_b, bias, int(activation), scale, accumulate));
                CHECK(kernel_error(s, seed++) < 1e-4f * std::sqrt(float(s.k)) + 1e-5f);
              }
}

TEST_CASE("a matmul reads a block of columns of a wider a through lda, in the loops and in oneDNN") {
  uint64_t seed = 300;
  struct Size {
    int64_t m, k, n;
  };
  for (Size size : {Size{3, 5, 2}, Size{2, 70, 20}, Size{32, 392, 300}, Size{392, 32, 300}})
    for (bool trans_a : {false, true})
      for (bool accumulate : {false, true}) {
        int64_t m = size.m, k = size.k, n = size.n, stored_row = trans_a ? m : k;
        MatmulSpec s{.m = m, .k = k, .n = n, .trans_a = trans_a, .scale = accumulate ? -0.5f : 1.f,
                     .accumulate = accumulate, .lda = stored_row + 7};
        INFO(fmt::format("m={} k={} n={} trans_a={} accumulate={} lda={}", m, k, n, trans_a, accumulate, s.lda));
        CHECK(kernel_error(s, seed++) < 1e-4f * std::sqrt(float(s.k)) + 1e-5f);
      }
  float x = 0;
  CHECK(test::contains(test::error_of([&] { ad::kernels::matmul({.m = 2, .k = 3, .n = 2, .lda = 2}, &x, &x, &x); }),
                       "lda 2 is below a's stored row length 3"));
}

TEST_CASE("a matmul's softplus is accurate far below zero, in the loops, in oneDNN and in a plan") {
  // Row i of the product is z_i = -90 + 0.375 i in every column (a's row holds z_i / k, exactly,
  // and b is all ones), across the range where oneDNN's soft_relu post-op was off by up to
  // 8e-6 (and negative): the result must be within 1e-5 relative of log1p(exp(z)) and positive.
  for (auto [m, k, n] : {std::array<int64_t, 3>{256, 1, 4}, std::array<int64_t, 3>{256, 16, 16}}) {
    int64_t rows = m, depth = k, cols = n;
    CAPTURE(depth);
    Tensor a({rows, depth}), b = Tensor::full({depth, cols}, 1.f), bias = Tensor::zeros({cols});
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t p = 0; p < depth; ++p) a[i * depth + p] = (-90.f + 0.375f * static_cast<float>(i)) / static_cast<float>(depth);
    MatmulSpec s{.m = rows, .k = depth, .n = cols, .bias = true, .activation = Activation::Softplus};
    Tensor by_kernel({rows, cols}), by_plan({rows, cols});
    ad::kernels::matmul(s, a.data(), b.data(), by_kernel.data(), bias.data());
    ad::kernels::MatmulPlan plan(s);
    std::vector<std::byte> scratch(plan.scratchpad_bytes() + 64);
    plan.run(a.data(), b.data(), by_plan.data(), bias.data(), scratch.data());
    for (int64_t i = 0; i < rows; ++i) {
      double z = -90.0 + 0.375 * static_cast<double>(i), exact = std::log1p(std::exp(z));
      if (exact < 1e-37) continue;  // flushed to zero
      for (const Tensor* t : {&by_kernel, &by_plan}) {
        float v = (*t)[i * cols];
        CAPTURE(z);
        CHECK(v > 0.f);
        CHECK(std::fabs(v - exact) <= 1e-5 * exact);
      }
    }
  }
}

TEST_CASE("a matmul with k = 0 gives bias and activation of zero, and m = 0 writes nothing") {
  for (bool accumulate : {false, true})
    for (Activation activation : {Activation::None, Activation::Sigmoid}) {
      MatmulSpec s{.m = 3, .k = 0, .n = 2, .bias = true, .activation = activation, .accumulate = accumulate};
      CHECK(kernel_error(s, 5) < 1e-6f);
    }
  MatmulSpec s{.m = 0, .k = 4, .n = 3};
  float c = 42;
  float a = 1, b[12] = {};
  ad::kernels::matmul(s, &a, b, &c);
  CHECK(c == 42);
}

TEST_CASE("the matmul kernel rejects negative sizes and a missing bias") {
  float x = 0;
  CHECK(test::contains(test::error_of([&] { ad::kernels::matmul({.m = -1, .k = 2, .n = 2}, &x, &x, &x); }),
                       "negative size m=-1"));
  CHECK(test::contains(test::error_of([&] { ad::kernels::matmul({.m = 1, .k = 1, .n = 1, .bias = true}, &x, &x, &x); }),
                       "bias"));
}

TEST_CASE("the primitive cache does not grow on a repeated shape") {
  MatmulSpec s{.m = 50, .k = 70, .n = 30, .bias = true, .activation = Activation::Relu};
  CHECK(kernel_error(s, 11) < 1e-3f);
  size_t cached = ad::kernels::cached_primitive_count();
  for (int i = 0; i < 3; ++i) CHECK(kernel_error(s, 12 + i) < 1e-3f);
  CHECK(ad::kernels::cached_primitive_count() == cached);
  s.scale = 0.25f;  // the scale is a runtime argument: one primitive serves every value
  CHECK(kernel_error(s, 20) < 1e-3f);
  size_t with_scale = ad::kernels::cached_primitive_count();
  s.scale = 4.f;
  CHECK(kernel_error(s, 21) < 1e-3f);
  CHECK(ad::kernels::cached_primitive_count() == with_scale);
  s.m = 51;
  CHECK(kernel_error(s, 22) < 1e-3f);
  CHECK(ad::kernels::cached_primitive_count() == with_scale + 1);
}

TEST_CASE("a caller-provided scratchpad of the reported size works") {
  MatmulSpec s{.m = 64, .k = 200, .n = 48, .trans_a = true};
  size_t bytes = ad::kernels::matmul_scratchpad_bytes(s);
  std::vector<float> scratch((bytes + 63) / sizeof(float) + 16);
  void* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) / sizeof(float);
  Tensor a = test::random({200, 64}, -1, 1, 1), b = test::random({200, 48}, -1, 1, 2);
  Tensor c = Tensor::empty({64, 48}), expected = Tensor::zeros({64, 48});
  ad::kernels::matmul(s, a.data(), b.data(), c.data(), nullptr, bytes ? aligned : nullptr);
  naive_matmul(s, a.data(), b.data(), expected.data(), nullptr);
  CHECK(ad::max_abs_difference(c, expected) < 1e-3f);
}

TEST_CASE("matmul called concurrently from TBB tasks gives the serial results") {
  // Same and different shapes at once, small and oneDNN-sized, some never seen before.
  struct Job {
    MatmulSpec spec;
    Tensor a, b, bias, serial, parallel;
  };
  std::vector<Job> jobs;
  for (int i = 0; i < 48; ++i) {
    int64_t m = 8 + (i % 4) * 16, k = 33 + (i % 3) * 50, n = 8 + (i % 5) * 9;
    if (i % 6 == 0) m = k = n = 4;
    MatmulSpec s{.m = m, .k = k, .n = n, .trans_b = i % 2 == 1, .bias = i % 3 == 0,
                 .activation = i % 4 == 0 ? Activation::Tanh : Activation::None, .scale = i % 5 == 0 ? 0.5f : 1.f};
    jobs.push_back({s, test::random({m, k}, -1, 1, uint64_t(3 * i)), test::random({k, n}, -1, 1, uint64_t(3 * i + 1)),
                    test::random({n}, -1, 1, uint64_t(3 * i + 2)), Tensor::zeros({m, n}), Tensor::zeros({m, n})});
  }
  // Serial results first, then every job four times at once, in any order.
  for (Job& j : jobs) ad::kernels::matmul(j.spec, j.a.data(), j.b.data(), j.serial.data(), j.bias.data());
  std::vector<Tensor> outputs;
  for (int r = 0; r < 4; ++r)
    for (Job& j : jobs) outputs.push_back(Tensor::zeros(j.serial.shape()));
  tbb::parallel_for(size_t{0}, outputs.size(), [&](size_t i) {
    Job& j = jobs[i % jobs.size()];
    ad::kernels::matmul(j.spec, j.a.data(), j.b.data(), outputs[i].data(), j.bias.data());
  });
  for (size_t i = 0; i < outputs.size(); ++i) {
    INFO("job " << i % jobs.size());
    CHECK(ad::max_abs_difference(outputs[i], jobs[i % jobs.size()].serial) < 1e-5f);
  }
}

TEST_CASE("cpu_isa names an instruction set") {
  std::string isa = ad::kernels::cpu_isa();
  CHECK_FALSE(isa.empty());
  CHECK((test::contains(isa, "AVX") || test::contains(isa, "SSE") || test::contains(isa, "generic")));
}

// A NaN in a row of a reaches every output of that row through each activation, in the plain
// loops of small products and in oneDNN's post-ops (whose relu must not turn NaN into 0).
TEST_CASE("matmul's activations keep a NaN of the input, in the plain loops and in oneDNN") {
  for (auto [m, k, n] : {std::tuple{3, 4, 5}, std::tuple{64, 96, 80}}) {
    for (Activation act : {Activation::Relu, Activation::Sigmoid, Activation::Tanh, Activation::Softplus, Activation::None}) {
      std::string label = fmt::format("[{},{}] x [{},{}], activation {}", m, k, k, n, int(act));
      INFO(label);
      MatmulSpec s{.m = m, .k = k, .n = n, .bias = true, .activation = act};
      Tensor a = test::random({m, k}, -1, 1, 1), b = test::random({k, n}, -1, 1, 2), bias = test::random({n}, -1, 1, 3);
      a[k + 2] = NAN;  // row 1
      Tensor c = Tensor::zeros({m, n});
      ad::kernels::matmul(s, a.data(), b.data(), c.data(), bias.data());
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) CHECK(std::isnan(c[i * n + j]) == (i == 1));
    }
  }
}
