// tanh, exp, sigmoid, softplus and softplus' run through glibc's vector functions where
// available (kernels/vector_math.h): their values must stay within a few ulp of the exact ones
// (computed in double), NaN, infinities and signed zeros must come out as the exact functions
// give them, in every lane of a vector, and an element's value must not depend on where it sits
// in the array; for each vector width the processor runs (4, 8 and 16 lanes on AVX-512), and
// the public functions must be the widest one's.
#include <tapegrad/autodiff/kernels/vector_math.h>
#include <tapegrad/autodiff/kernels/vector_math_lanes.h>
#include <tapegrad/autodiff/ops.h>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

using ArrayFn = std::function<void(const float*, float*, int64_t)>;

struct Function {
  std::string name;
  ArrayFn values;                  // through the kernel
  double (*exact)(double);         // the reference, in double
  float low, high;                 // the range checked for accuracy
  double max_ulp;
};

double exact_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double exact_softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
// softplus' from the output: y = softplus(x) for x = log(expm1(y)), so the derivative is
// sigmoid(x) = 1 - exp(-y); the kernel's input here is y itself and the incoming gradient 1.
double exact_softplus_derivative(double y) { return -std::expm1(-y); }

using ad::kernels::detail::VectorMathTable;

// The functions of one table, named after it.
std::vector<Function> functions(const VectorMathTable& t) {
  auto softplus_derivative = t.softplus_derivative;
  auto name = [&](const char* f) { return std::string(f) + " in " + t.name; };
  return {
      {name("tanh"), t.tanh, [](double x) { return std::tanh(x); }, -12.f, 12.f, 2.0},
      {name("exp"), t.exp, [](double x) { return std::exp(x); }, -87.f, 88.f, 4.0},
      {name("sigmoid"), t.sigmoid, exact_sigmoid, -80.f, 30.f, 4.0},
      {name("softplus"), t.softplus, exact_softplus, -80.f, 80.f, 4.0},
      {name("softplus derivative"),
       [softplus_derivative](const float* y, float* out, int64_t n) {
         std::vector<float> ones(static_cast<size_t>(n), 1.f);
         softplus_derivative(y, ones.data(), out, n);
       },
       exact_softplus_derivative, 1e-30f, 40.f, 4.0},
  };
}

// The public functions, then every table this processor runs.
std::vector<Function> functions() {
  VectorMathTable public_functions{"the public functions",        ad::kernels::tanh_values,
                                   ad::kernels::exp_values,       ad::kernels::sigmoid_values,
                                   ad::kernels::softplus_values,  ad::kernels::softplus_derivative_values};
  std::vector<Function> all = functions(public_functions);
  int count = 0;
  const VectorMathTable* tables = ad::kernels::detail::vector_math_tables(&count);
  for (int i = 0; i < count; ++i)
    for (Function& f : functions(tables[i])) all.push_back(std::move(f));
  return all;
}

float ulp_of(float exact) { return std::nextafter(std::fabs(exact), std::numeric_limits<float>::infinity()) - std::fabs(exact); }

}  // namespace

TEST_CASE("the vector functions are within a few ulp of the exact value over their range") {
  const int64_t n = 1 << 16;
  for (const Function& f : functions()) {
    INFO(f.name);
    std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      x[static_cast<size_t>(i)] = f.low + (f.high - f.low) * static_cast<float>(i) / static_cast<float>(n);
    f.values(x.data(), y.data(), n);
    double worst_ulp = 0;
    float worst_at = 0;
    for (int64_t i = 0; i < n; ++i) {
      auto exact = static_cast<float>(f.exact(static_cast<double>(x[static_cast<size_t>(i)])));
      if (std::fabs(exact) < std::numeric_limits<float>::min()) continue;  // subnormal results are flushed
      double ulps = std::fabs(static_cast<double>(y[static_cast<size_t>(i)]) - exact) / ulp_of(exact);
      if (ulps > worst_ulp) worst_ulp = ulps, worst_at = x[static_cast<size_t>(i)];
    }
    CAPTURE(worst_at);
    CHECK(worst_ulp <= f.max_ulp);
  }
}

TEST_CASE("the vector functions give NaN, infinities and signed zeros as the exact functions do, in every lane") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // (Subnormal inputs are left out: the kernels run with subnormals flushed to zero.)
  // 20 values: the specials land in different lanes of 4-, 8- and 16-wide vectors, and in the tail.
  std::vector<float> special = {nan, inf, -inf, 0.f, -0.f, 1e-30f, -1e-30f, 20.f, -20.f, 0.5f,
                                1e-37f, nan, 9.f, -9.f, -0.f, inf, 0.f, -inf, 3.f, nan};
  for (const Function& f : functions()) {
    INFO(f.name);
    std::vector<float> out(special.size());
    f.values(special.data(), out.data(), static_cast<int64_t>(special.size()));
    for (size_t i = 0; i < special.size(); ++i) {
      auto expected = static_cast<float>(f.exact(static_cast<double>(special[i])));
      CAPTURE(special[i]);
      if (std::isnan(expected)) {
        CHECK(std::isnan(out[i]));
      } else {
        if (std::isinf(expected)) {
          CHECK(out[i] == expected);
        } else {
          CHECK(out[i] == doctest::Approx(expected).epsilon(1e-6));
        }
        CHECK(std::signbit(out[i]) == std::signbit(expected));
      }
    }
  }
}

TEST_CASE("a vector function's value does not depend on the element's position or the array's length") {
  // Inputs for which a scalar function and the vector one differ by an ulp exist in [-6, 6];
  // the same input at every position of arrays of 1 to 33 elements (every tail of 4-, 8- and
  // 16-lane loops) must give one value.
  for (const Function& f : functions()) {
    INFO(f.name);
    for (int64_t step = 0; step < 1000; ++step) {
      float v = -6.f + 12.f * static_cast<float>(step) / 1000.f;
      float first = 0;
      for (int64_t n = 1; n <= 33; ++n) {
        std::vector<float> x(static_cast<size_t>(n), v), y(static_cast<size_t>(n));
        f.values(x.data(), y.data(), n);
        if (n == 1) first = y[0];
        for (int64_t i = 0; i < n; ++i)
          if (y[static_cast<size_t>(i)] != first)
            FAIL_CHECK(f.name << "(" << v << ") is " << y[static_cast<size_t>(i)] << " at " << i << " of " << n << ", "
                              << first << " alone");
      }
    }
  }
}

TEST_CASE("the public functions are the widest table's, and a table per width the processor runs") {
  int count = 0;
  const VectorMathTable* tables = ad::kernels::detail::vector_math_tables(&count);
#if defined(__x86_64__) && defined(__GLIBC__)
  REQUIRE(count >= 1);  // SSE2 is in every x86-64
  CHECK(count == (__builtin_cpu_supports("avx512f") ? 3 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 2 : 1));
#endif
  if (count == 0) return;
  const int64_t n = 1000;
  std::vector<float> x(static_cast<size_t>(n)), ones(static_cast<size_t>(n), 1.f), mine(static_cast<size_t>(n)),
      widest(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = -20.f + 40.f * static_cast<float>(i) / static_cast<float>(n);
  const VectorMathTable& w = tables[count - 1];
  using Unary = void (*)(const float*, float*, int64_t);
  for (auto [ours, theirs] : {std::pair<Unary, Unary>{ad::kernels::tanh_values, w.tanh}, {ad::kernels::exp_values, w.exp},
                              {ad::kernels::sigmoid_values, w.sigmoid}, {ad::kernels::softplus_values, w.softplus}}) {
    ours(x.data(), mine.data(), n);
    theirs(x.data(), widest.data(), n);
    CHECK(mine == widest);
  }
  ad::kernels::softplus_derivative_values(x.data(), ones.data(), mine.data(), n);
  w.softplus_derivative(x.data(), ones.data(), widest.data(), n);
  CHECK(mine == widest);
}

TEST_CASE("the ops use the vector functions: tanh, exp, sigmoid and softplus of a tensor equal the kernels'") {
  const int64_t n = 1001;  // not a multiple of 4, split between threads
  std::vector<float> x(static_cast<size_t>(n)), expected(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = -10.f + 20.f * static_cast<float>(i) / static_cast<float>(n);
  ad::Var input = ad::constant(ad::Tensor::from({n}, x));
  struct Pair {
    ad::Var (*op)(const ad::Var&);
    void (*kernel)(const float*, float*, int64_t);
  };
  for (Pair p : {Pair{ad::tanh, ad::kernels::tanh_values}, Pair{ad::exp, ad::kernels::exp_values},
                 Pair{ad::sigmoid, ad::kernels::sigmoid_values}, Pair{ad::softplus, ad::kernels::softplus_values}}) {
    ad::Tensor y = p.op(input).value();
    p.kernel(x.data(), expected.data(), n);
    for (int64_t i = 0; i < n; ++i) REQUIRE(y[i] == expected[static_cast<size_t>(i)]);
  }
}
