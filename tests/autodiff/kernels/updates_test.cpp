// The optimizers' update kernels against plain loops in double precision over several steps,
// at sizes that exercise the vector loops' remainders and the split across threads.
#include "tapegrad/autodiff/kernels/updates.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "../test_util.h"
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
