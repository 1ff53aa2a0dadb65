// The update loops. Each is a plain indexed loop over __restrict pointers with every choice
// (Nesterov or not, momentum or not) made outside it, so that the compiler vectorises it; the
// file is built with -fno-math-errno (autodiff/CMakeLists.txt), without which g++ keeps a loop
// that calls sqrt scalar (sqrt might set errno; the arguments here are never negative).
// The loops are built for the baseline and for AVX2, picked when the library loads.
#include "tapegrad/autodiff/kernels/updates.h"

#include <cmath>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/autodiff/kernels/update_lanes.h"
#include "tapegrad/autodiff/threading.h"

#define TG_UPDATE_CLONES __attribute__((target_clones("avx2", "default")))

namespace ad::kernels {

namespace {

// From this many weights an update splits between the threads, in the same block per thread
// every step (parallel_blocks), so that each block's optimizer state stays in one core's cache.
// The loops cost 0.1 to 0.4 ns a weight on one core against a few µs to start the threads: a
// 300x100 layer's Adam update took 26 µs on the calling thread alone inside a step, 2 threads.
constexpr int64_t kParallelUpdate = 1 << 12;

TG_UPDATE_CLONES void sgd_loop(int64_t begin, int64_t end, float* __restrict w, const float* __restrict g,
                               float lr) {
  for (int64_t i = begin; i < end; ++i) w[i] -= lr * g[i];
}

TG_UPDATE_CLONES void momentum_loop(int64_t begin, int64_t end, float* __restrict w, const float* __restrict g,
                                    float* __restrict velocity, float lr, float mu) {
  for (int64_t i = begin; i < end; ++i) {
    velocity[i] = mu * velocity[i] - lr * g[i];
    w[i] += velocity[i];
  }
}

TG_UPDATE_CLONES void nesterov_loop(int64_t begin, int64_t end, float* __restrict w, const float* __restrict g,
                                    float* __restrict velocity, float lr, float mu) {
  for (int64_t i = begin; i < end; ++i) {
    velocity[i] = mu * velocity[i] - lr * g[i];
    w[i] += mu * velocity[i] - lr * g[i];
  }
}

// Keras' order of operations: m += (g - m)(1 - beta_1), v += (g² - v)(1 - beta_2),
// w -= step m / (sqrt(v) + epsilon).
TG_UPDATE_CLONES void adam_loop(int64_t begin, int64_t end, float* __restrict w, const float* __restrict g,
                                float* __restrict m, float* __restrict v, float step, float one_minus_b1,
                                float one_minus_b2, float eps) {
  for (int64_t i = begin; i < end; ++i) {
    m[i] += (g[i] - m[i]) * one_minus_b1;
    v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
    w[i] -= step * m[i] / (std::sqrt(v[i]) + eps);
  }
}

// Keras' order: velocity = rho velocity + (1 - rho)(g g), step = (lr g) / sqrt(velocity + epsilon).
TG_UPDATE_CLONES void rmsprop_loop(int64_t begin, int64_t end, float* __restrict w, const float* __restrict g,
                                   float* __restrict velocity, float lr, float rho, float one_minus_rho, float eps) {
  for (int64_t i = begin; i < end; ++i) {
    velocity[i] = rho * velocity[i] + one_minus_rho * (g[i] * g[i]);
    w[i] -= lr * g[i] / std::sqrt(velocity[i] + eps);
  }
}

TG_UPDATE_CLONES void rmsprop_momentum_loop(int64_t begin, int64_t end, float* __restrict w,
                                            const float* __restrict g, float* __restrict velocity,
                                            float* __restrict momentum, float lr, float rho, float one_minus_rho,
                                            float mu, float eps) {
  for (int64_t i = begin; i < end; ++i) {
    velocity[i] = rho * velocity[i] + one_minus_rho * (g[i] * g[i]);
    momentum[i] = mu * momentum[i] + lr * g[i] / std::sqrt(velocity[i] + eps);
    w[i] -= momentum[i];
  }
}

// RMSprop's loops of the widest width the processor runs (update_lanes.h), or none:
// the exact loops above.
const detail::UpdateTable* lanes_updates() {
  static const detail::UpdateTable* table = [] {
    int count = 0;
    const detail::UpdateTable* tables = detail::update_tables(&count);
    return count > 0 ? &tables[count - 1] : nullptr;
  }();
  return table;
}

void check_count(const char* who, int64_t count) {
  TG_CHECK(count >= 0, "{}: the element count must be >= 0, got {}", who, count);
}

}  // namespace

namespace detail {
const UpdateTable* update_tables(int* count) {
  *count = lanes_width_count();
#ifdef TAPEGRAD_LIBMVEC
  static const UpdateTable tables[] = {sse_updates, avx2_updates, avx512_updates};
  return tables;
#else
  return nullptr;
#endif
}
}  // namespace detail

AdamCoefficients AdamCoefficients::at_step(const Settings& s, int64_t t) {
  TG_CHECK(t >= 1, "AdamCoefficients::at_step: the step number t counts from 1, got {}", t);
  TG_CHECK(s.beta_1 >= 0 && s.beta_1 < 1 && s.beta_2 >= 0 && s.beta_2 < 1,
           "AdamCoefficients::at_step: beta_1 and beta_2 must be in [0, 1), got {} and {}", s.beta_1, s.beta_2);
  double td = static_cast<double>(t);
  double step = s.learning_rate * std::sqrt(1 - std::pow(s.beta_2, td)) / (1 - std::pow(s.beta_1, td));
  return {.step_size = static_cast<float>(step),
          .one_minus_beta_1 = static_cast<float>(1 - s.beta_1),
          .one_minus_beta_2 = static_cast<float>(1 - s.beta_2),
          .epsilon = static_cast<float>(s.epsilon)};
}

RMSpropCoefficients RMSpropCoefficients::of(const Settings& s) {
  return {.learning_rate = static_cast<float>(s.learning_rate),
          .rho = static_cast<float>(s.rho),
          .one_minus_rho = static_cast<float>(1 - s.rho),
          .momentum = static_cast<float>(s.momentum),
          .epsilon = static_cast<float>(s.epsilon)};
}

void sgd_update(float* param, const float* grad, int64_t count, float learning_rate) {
  check_count("sgd_update", count);
  parallel_blocks(count, kParallelUpdate, [&](int64_t b, int64_t e) { sgd_loop(b, e, param, grad, learning_rate); });
}

void momentum_update(float* param, const float* grad, float* velocity, int64_t count, const MomentumCoefficients& c) {
  check_count("momentum_update", count);
  if (c.nesterov) {
    parallel_blocks(count, kParallelUpdate, [&](int64_t b, int64_t e) { nesterov_loop(b, e, param, grad, velocity, c.learning_rate, c.momentum); });
  } else {
    parallel_blocks(count, kParallelUpdate, [&](int64_t b, int64_t e) { momentum_loop(b, e, param, grad, velocity, c.learning_rate, c.momentum); });
  }
}

void adam_update(float* param, const float* grad, float* m, float* v, int64_t count, const AdamCoefficients& c) {
  check_count("adam_update", count);
  parallel_blocks(count, kParallelUpdate, [&](int64_t b, int64_t e) {
    adam_loop(b, e, param, grad, m, v, c.step_size, c.one_minus_beta_1, c.one_minus_beta_2, c.epsilon);
  });
}

void rmsprop_update(float* param, const float* grad, float* velocity, float* momentum, int64_t count,
                    const RMSpropCoefficients& c) {
  check_count("rmsprop_update", count);
  if (c.momentum > 0) {
    TG_CHECK(momentum != nullptr || count == 0, "rmsprop_update: momentum {} needs the momentum slot, given none",
             c.momentum);
    auto* loop = lanes_updates() ? lanes_updates()->rmsprop_momentum : rmsprop_momentum_loop;
    parallel_blocks(count, kParallelUpdate, [&](int64_t b, int64_t e) {
      loop(b, e, param, grad, velocity, momentum, c.learning_rate, c.rho, c.one_minus_rho, c.momentum,
                            c.epsilon);
    });
  } else {
    auto* loop = lanes_updates() ? lanes_updates()->rmsprop : rmsprop_loop;
    parallel_blocks(count, kParallelUpdate, [&](int64_t b, int64_t e) {
      loop(b, e, param, grad, velocity, c.learning_rate, c.rho, c.one_minus_rho, c.epsilon);
    });
  }
}

}  // namespace ad::kernels
