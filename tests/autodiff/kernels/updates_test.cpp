// The optimizers' update kernels against plain loops in double precision over several steps,
// at sizes that exercise the vector loops' remainders and the split across threads.
#include "tapegrad/autodiff/kernels/updates.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../test_util.h"
#include "tapegrad/autodiff/kernels/update_lanes.h"
#include "tapegrad/autodiff/threading.h"

namespace {

using ad::Tensor;
namespace k = ad::kernels;

const int64_t kSizes[] = {1, 7, 33, 4099, 3 * ad::kParallelThreshold + 5};  // 4099: two blocks, a partial line
constexpr int kSteps = 5;

// A float array and its double-precision reference twin, starting equal.
struct Twin {
  Tensor f;
  std::vector<double> d;
  Twin(int64_t n, float low, float high, uint64_t seed)
      : f(test::random({n}, low, high, seed)), d(f.data(), f.data() + n) {}
  // Zeros, as slots start.
  explicit Twin(int64_t n) : f(Tensor::zeros({n})), d(static_cast<size_t>(n), 0.0) {}
  // Elements further than atol + rtol |reference| from the reference (0: all close).
  int64_t far(double atol, double rtol) const {
    int64_t count = 0;
    for (int64_t i = 0; i < f.size(); ++i)
      count += !(std::fabs(f[i] - d[static_cast<size_t>(i)]) <= atol + rtol * std::fabs(d[static_cast<size_t>(i)]));
    return count;
  }
};

// The gradient of step s: different each step, away from zero so that Adam's and RMSprop's
// divisions stay well conditioned (a sign flip keeps both signs).
Twin gradient(int64_t n, int s) {
  Twin g(n, 0.05f, 1.f, 100 + static_cast<uint64_t>(s));
  for (int64_t i = 0; i < n; i += 3) {
    g.f[i] = -g.f[i];
    g.d[static_cast<size_t>(i)] = g.f[i];
  }
  return g;
}

}  // namespace

TEST_CASE("sgd_update and momentum_update follow Keras' SGD, plain, with momentum and Nesterov") {
  for (int64_t n : kSizes) {
    for (int variant = 0; variant < 3; ++variant) {
      CAPTURE(n);
      CAPTURE(variant);
      const double lr = 0.05, mu = 0.9;
      bool nesterov = variant == 2;
      Twin w(n, -1, 1, 1), velocity(n);
      for (int s = 0; s < kSteps; ++s) {
        Twin g = gradient(n, s);
        if (variant == 0) {
          k::sgd_update(w.f.data(), g.f.data(), n, static_cast<float>(lr));
        } else {
          k::momentum_update(w.f.data(), g.f.data(), velocity.f.data(), n,
                             {.learning_rate = static_cast<float>(lr), .momentum = static_cast<float>(mu), .nesterov = nesterov});
        }
        for (size_t i = 0; i < w.d.size(); ++i) {
          if (variant == 0) {
            w.d[i] -= lr * g.d[i];
            continue;
          }
          velocity.d[i] = mu * velocity.d[i] - lr * g.d[i];
          w.d[i] += nesterov ? mu * velocity.d[i] - lr * g.d[i] : velocity.d[i];
        }
      }
      CHECK(w.far(1e-6, 1e-6) == 0);
      if (variant > 0) CHECK(velocity.far(1e-7, 1e-5) == 0);
    }
  }
}

TEST_CASE("adam_update follows Keras' Adam with the bias correction of each step") {
  for (int64_t n : kSizes) {
    CAPTURE(n);
    const k::AdamCoefficients::Settings settings{.learning_rate = 0.01, .beta_1 = 0.9, .beta_2 = 0.999, .epsilon = 1e-7};
    Twin w(n, -1, 1, 1), m(n), v(n);
    for (int s = 0; s < kSteps; ++s) {
      Twin g = gradient(n, s);
      int64_t t = s + 1;
      k::adam_update(w.f.data(), g.f.data(), m.f.data(), v.f.data(), n, k::AdamCoefficients::at_step(settings, t));
      double td = static_cast<double>(t);
      double alpha = settings.learning_rate * std::sqrt(1 - std::pow(settings.beta_2, td)) / (1 - std::pow(settings.beta_1, td));
      for (size_t i = 0; i < w.d.size(); ++i) {
        m.d[i] = settings.beta_1 * m.d[i] + (1 - settings.beta_1) * g.d[i];
        v.d[i] = settings.beta_2 * v.d[i] + (1 - settings.beta_2) * g.d[i] * g.d[i];
        w.d[i] -= alpha * m.d[i] / (std::sqrt(v.d[i]) + settings.epsilon);
      }
    }
    CHECK(w.far(1e-6, 1e-6) == 0);
    CHECK(m.far(1e-7, 1e-5) == 0);
    CHECK(v.far(1e-9, 1e-5) == 0);
  }
}

TEST_CASE("Adam's step size is computed in double: float powers would be off by 1e-5 in the first steps") {
  const k::AdamCoefficients::Settings s{.learning_rate = 0.001};
  for (int64_t t : {int64_t{1}, int64_t{2}, int64_t{10}, int64_t{1000}, int64_t{10000000}}) {
    CAPTURE(t);
    double td = static_cast<double>(t);
    double exact = s.learning_rate * std::sqrt(1 - std::pow(s.beta_2, td)) / (1 - std::pow(s.beta_1, td));
    CHECK(k::AdamCoefficients::at_step(s, t).step_size == doctest::Approx(exact).epsilon(1e-7));
  }
  CHECK(test::contains(test::error_of([&] { k::AdamCoefficients::at_step(s, 0); }), "counts from 1, got 0"));
  CHECK(test::contains(test::error_of([&] { k::AdamCoefficients::at_step({.beta_1 = 1}, 3); }),
                       "beta_1 and beta_2 must be in [0, 1), got 1 and 0.999"));
}

TEST_CASE("rmsprop_update follows Keras' RMSprop, with and without momentum") {
  for (int64_t n : kSizes) {
    for (double mu : {0.0, 0.5}) {
      CAPTURE(n);
      CAPTURE(mu);
      const double lr = 0.01, rho = 0.9, eps = 1e-7;
      Twin w(n, -1, 1, 1), velocity(n), momentum(n);
      for (int s = 0; s < kSteps; ++s) {
        Twin g = gradient(n, s);
        k::rmsprop_update(w.f.data(), g.f.data(), velocity.f.data(), mu > 0 ? momentum.f.data() : nullptr, n,
                          k::RMSpropCoefficients::of({.learning_rate = lr, .rho = rho, .momentum = mu, .epsilon = eps}));
        for (size_t i = 0; i < w.d.size(); ++i) {
          velocity.d[i] = rho * velocity.d[i] + (1 - rho) * g.d[i] * g.d[i];
          double step = lr * g.d[i] / std::sqrt(velocity.d[i] + eps);
          momentum.d[i] = mu * momentum.d[i] + step;
          w.d[i] -= mu > 0 ? momentum.d[i] : step;
        }
      }
      CHECK(w.far(1e-6, 1e-6) == 0);
      CHECK(velocity.far(1e-8, 1e-5) == 0);
      if (mu > 0) CHECK(momentum.far(1e-7, 1e-5) == 0);
    }
  }
}

TEST_CASE("the update kernels accept zero elements and refuse a negative count or a missing momentum slot") {
  k::sgd_update(nullptr, nullptr, 0, 0.1f);
  k::adam_update(nullptr, nullptr, nullptr, nullptr, 0, {});
  k::rmsprop_update(nullptr, nullptr, nullptr, nullptr, 0, {.momentum = 0.5f});
  float w = 1, g = 2, velocity = 0;
  CHECK(test::contains(test::error_of([&] { k::sgd_update(&w, &g, -1, 0.1f); }),
                       "sgd_update: the element count must be >= 0, got -1"));
  CHECK(test::contains(test::error_of([&] { k::momentum_update(&w, &g, &velocity, -2, {}); }), "momentum_update"));
  CHECK(test::contains(test::error_of([&] { k::rmsprop_update(&w, &g, &velocity, nullptr, 1, {.momentum = 0.5f}); }),
                       "rmsprop_update: momentum 0.5 needs the momentum slot"));
  CHECK(w == 1);
}

// Moments that decay below float's smallest normal number turn subnormal; the update flushes
// them to zero in every thread that runs a part of it (autodiff/threading.h), as TensorFlow
// does, unless the setting is off.
TEST_CASE("Adam's decaying moments are flushed to zero in every chunk of a parallel update") {
#if defined(__x86_64__) || defined(__i386__)
  const int64_t n = 16 * ad::kParallelThreshold;
  const float normal = std::ldexp(1.f, -126);  // the smallest normal float
  // m = 1.5 N + (−N − 1.5 N) / 2 = N / 4 and v = 1.5 N + (0 − 1.5 N) / 2 = 0.75 N are subnormal
  // results of normal operands (N² underflows to 0 either way).
  Tensor grad = Tensor::full({n}, -normal);
  k::AdamCoefficients half{.step_size = 0.f, .one_minus_beta_1 = 0.5f, .one_minus_beta_2 = 0.5f, .epsilon = 1e-7f};
  auto subnormal_moments = [&] {
    Tensor w = Tensor::zeros({n}), m = Tensor::full({n}, 1.5f * normal), v = Tensor::full({n}, 1.5f * normal);
    k::adam_update(w.data(), grad.data(), m.data(), v.data(), n, half);
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i)
      count += (m[i] != 0.f && std::fabs(m[i]) < normal) + (v[i] != 0.f && std::fabs(v[i]) < normal);
    return count;
  };
  REQUIRE(ad::flush_denormals());
  CHECK(subnormal_moments() == 0);
  ad::set_flush_denormals(false);
  int64_t kept = subnormal_moments();
  ad::set_flush_denormals(true);
  if (!ad::denormals_flushed_here()) CHECK(kept == 2 * n);  // left as IEEE arithmetic gives them
#endif
}

namespace {

// The exact float formula of one RMSprop step on one weight, as Keras writes it.
struct RmspropScalar {
  float w, velocity, momentum;
  void step(float g, float lr, float rho, float mu, float eps) {
    velocity = rho * velocity + (1 - rho) * (g * g);
    float delta = lr * g / std::sqrt(velocity + eps);
    momentum = mu * momentum + delta;
    w -= mu > 0 ? momentum : delta;
  }
};

// One call of a table's RMSprop loop (with momentum when mu > 0) over arrays of n elements.
void run_rmsprop(const k::detail::UpdateTable& t, std::vector<float>& w, const std::vector<float>& g,
                 std::vector<float>& velocity, std::vector<float>& momentum, float lr, float rho, float mu, float eps) {
  auto n = static_cast<int64_t>(w.size());
  if (mu > 0)
    t.rmsprop_momentum(0, n, w.data(), g.data(), velocity.data(), momentum.data(), lr, rho, 1 - rho, mu, eps);
  else
    t.rmsprop(0, n, w.data(), g.data(), velocity.data(), lr, rho, 1 - rho, eps);
}

std::vector<const k::detail::UpdateTable*> update_tables() {
  int count = 0;
  const k::detail::UpdateTable* tables = k::detail::update_tables(&count);
  std::vector<const k::detail::UpdateTable*> all;
  for (int i = 0; i < count; ++i) all.push_back(&tables[i]);
  return all;
}

}  // namespace

TEST_CASE("every width's RMSprop step is within a few ulp of the exact step (its reciprocal square root is an estimate refined once)") {
  const int64_t n = 20000;
  for (const k::detail::UpdateTable* t : update_tables()) {
    for (float mu : {0.f, 0.5f}) {
      std::string label = std::string(t->name) + (mu > 0 ? ", momentum" : "");
      INFO(label);
      // From w = 0 the new weight is minus the step itself, so no rounding of w hides its error.
      std::vector<float> w(static_cast<size_t>(n), 0.f), g(static_cast<size_t>(n)), velocity(static_cast<size_t>(n)),
          momentum(static_cast<size_t>(n), 0.f);
      for (int64_t i = 0; i < n; ++i) {
        // Gradients from 1e-6 to 1e3 and velocities around their squares, both signs.
        g[static_cast<size_t>(i)] = (i % 2 ? -1.f : 1.f) * std::pow(10.f, -6.f + 9.f * static_cast<float>(i) / n);
        velocity[static_cast<size_t>(i)] = 0.7f * g[static_cast<size_t>(i)] * g[static_cast<size_t>(i)];
      }
      std::vector<float> v0 = velocity;
      const float lr = 0.01f, rho = 0.9f, eps = 1e-7f;
      run_rmsprop(*t, w, g, velocity, momentum, lr, rho, mu, eps);
      double worst = 0;
      for (size_t i = 0; i < w.size(); ++i) {
        double v = rho * static_cast<double>(v0[i]) + (1 - static_cast<double>(rho)) * g[i] * static_cast<double>(g[i]);
        double exact = -lr * static_cast<double>(g[i]) / std::sqrt(v + static_cast<double>(eps));
        worst = std::max(worst, std::fabs(w[i] - exact) / std::fabs(exact));
      }
      CHECK(worst < 8 * std::numeric_limits<float>::epsilon());  // 8 ulp; an unrefined estimate is off by 1e-4
    }
  }
}

TEST_CASE("every width's reciprocal square root holds over every float exponent, flushed or not") {
  // rho = 0 and 1 - rho = 0 make the velocity 0, so the denominator is epsilon itself and, with
  // g = 1 and lr = -1, the new weight is 1/sqrt(epsilon): every exponent of epsilon, 64
  // mantissas each. Near both ends of the range 0.5·epsilon·r² underflows, which once made the
  // step 1.5 times too large; subnormal epsilons (kept when flush-to-zero is off) once gave -inf.
  std::vector<float> eps_values;
  for (int e = -149; e <= 127; ++e)
    for (int k = 0; k < 64; ++k) eps_values.push_back(std::ldexp(1.f + static_cast<float>(k) / 64.f, e));
  for (const k::detail::UpdateTable* t : update_tables()) {
    for (bool flushed : {false, true}) {
      std::string label = std::string(t->name) + (flushed ? ", subnormals flushed" : ", subnormals kept");
      INFO(label);
      auto run = [&](float eps) {
        float w = 0, g = 1, velocity = 0;
        t->rmsprop(0, 1, &w, &g, &velocity, -1.f, 0.f, 0.f, eps);
        return w;
      };
      double worst = 0;
      float worst_at = 0;
      for (float eps : eps_values) {
        float w = 0;
        if (flushed) {
          ad::ComputeScope scope;  // flush-to-zero and denormals-are-zero, as inside the library's calls
          w = run(eps);
        } else {
          w = run(eps);
        }
        bool subnormal = eps < std::numeric_limits<float>::min();
        double exact = subnormal && flushed ? std::numeric_limits<double>::infinity()  // read as 0
                                            : 1 / std::sqrt(static_cast<double>(eps));
        if (exact > std::numeric_limits<float>::max()) {
          if (!(w == std::numeric_limits<float>::infinity())) FAIL_CHECK("epsilon " << eps << " gives " << w << ", not inf");
          continue;
        }
        double error = std::fabs(w - exact) / exact;
        if (!(error <= worst)) worst = error, worst_at = eps;
      }
      // A negative epsilon (no valid setting) has no root: NaN, as sqrt gives, unless flushing
      // reads a subnormal one as 0 (then +inf, as the exact formula under the same flags).
      for (float eps : {-1e-7f, -1e-40f, -std::ldexp(1.f, -140), -3e38f}) {
        CAPTURE(eps);
        float w = 0;
        if (flushed) {
          ad::ComputeScope scope;
          w = run(eps);
        } else {
          w = run(eps);
        }
        if (flushed && -eps < std::numeric_limits<float>::min())
          CHECK(w == std::numeric_limits<float>::infinity());
        else
          CHECK(std::isnan(w));
      }
      CAPTURE(worst_at);
      CHECK(worst <= 4 * std::numeric_limits<float>::epsilon());
    }
  }
}

TEST_CASE("every width's RMSprop step gives zeros, infinities and NaN as the exact float formula does") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // 19 gradients: the specials fall in different lanes of 4-, 8- and 16-wide vectors and the tail.
  const std::vector<float> gradients = {0.f, -0.f, 1e20f, -1e20f, inf, -inf, nan, 1e-30f, 3.f, -3.f,
                                        1e19f, 0.f, 1e-3f, -inf, 2.f, nan, 1e30f, -0.f, 5.f};
  for (const k::detail::UpdateTable* t : update_tables()) {
    for (float eps : {1e-7f, 0.f}) {
      for (float mu : {0.f, 0.5f}) {
        std::string label = std::string(t->name) + " epsilon " + std::to_string(eps) + (mu > 0 ? ", momentum" : "");
        INFO(label);
        size_t n = gradients.size();
        std::vector<float> w(n, 0.25f), velocity(n, 0.f), momentum(n, 0.f);
        std::vector<RmspropScalar> exact(n, RmspropScalar{0.25f, 0.f, 0.f});
        for (int s = 0; s < 2; ++s) {
          run_rmsprop(*t, w, gradients, velocity, momentum, 0.01f, 0.9f, mu, eps);
          for (size_t i = 0; i < n; ++i) exact[i].step(gradients[i], 0.01f, 0.9f, mu, eps);
        }
        for (size_t i = 0; i < n; ++i) {
          CAPTURE(gradients[i]);
          float want = exact[i].w;
          if (std::isnan(want)) {
            CHECK(std::isnan(w[i]));
          } else if (std::isinf(want)) {
            CHECK(w[i] == want);
          } else {
            CHECK(w[i] == doctest::Approx(want).epsilon(1e-6));
            CHECK(std::signbit(w[i]) == std::signbit(want));
          }
          CHECK((std::isnan(velocity[i]) ? std::isnan(exact[i].velocity) : velocity[i] == exact[i].velocity));
        }
      }
    }
  }
}

TEST_CASE("an RMSprop step does not depend on the weight's position, and rmsprop_update runs the widest width") {
  for (const k::detail::UpdateTable* t : update_tables()) {
    INFO(t->name);
    for (int step = 0; step < 200; ++step) {
      float g = -4.f + 8.f * static_cast<float>(step) / 200.f;
      float first = 0;
      for (size_t n = 1; n <= 33; ++n) {  // every tail of 4-, 8- and 16-lane loops
        std::vector<float> w(n, 1.f), grad(n, g), velocity(n, 0.5f), momentum(n, 0.f);
        run_rmsprop(*t, w, grad, velocity, momentum, 0.01f, 0.9f, 0.f, 1e-7f);
        if (n == 1) first = w[0];
        for (size_t i = 0; i < n; ++i)
          if (w[i] != first) FAIL_CHECK("g " << g << ": " << w[i] << " at " << i << " of " << n << ", " << first << " alone");
      }
    }
  }
  std::vector<const k::detail::UpdateTable*> tables = update_tables();
  if (tables.empty()) return;
  const int64_t n = 5000;  // split between the threads
  std::vector<float> w(static_cast<size_t>(n)), g(static_cast<size_t>(n)), velocity(static_cast<size_t>(n), 0.1f);
  for (int64_t i = 0; i < n; ++i) {
    w[static_cast<size_t>(i)] = std::sin(static_cast<float>(i));
    g[static_cast<size_t>(i)] = std::cos(static_cast<float>(i) * 0.37f);
  }
  std::vector<float> w2 = w, velocity2 = velocity;
  auto c = k::RMSpropCoefficients::of({.learning_rate = 0.01});
  k::rmsprop_update(w.data(), g.data(), velocity.data(), nullptr, n, c);
  tables.back()->rmsprop(0, n, w2.data(), g.data(), velocity2.data(), c.learning_rate, c.rho, c.one_minus_rho, c.epsilon);
  CHECK(w == w2);
  CHECK(velocity == velocity2);
}
