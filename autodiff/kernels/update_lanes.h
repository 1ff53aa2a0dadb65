// RMSprop's update loops for one vector width, written once over the width's Lanes (lanes.h);
// lanes_sse.cpp, lanes_avx2.cpp and lanes_avx512.cpp instantiate them, and updates.cpp runs the
// widest. They multiply by the processor's reciprocal-square-root estimate refined by a Newton
// step (within a few ulp of the exact quotient) instead of dividing by an exact square root,
// which took the loop's time: alone on 2 cores, RMSprop over 235,200 weights took 46 µs with
// them and 31-35 µs without. Adam's loop stays exact (updates.cpp): it moves 28 bytes a weight
// against RMSprop's 20, and memory, not the division, bounds it (47-50 µs either way).
#pragma once
#include "tapegrad/autodiff/kernels/lanes.h"

namespace ad::kernels::detail {

/// RMSprop's update loops of one vector width, over elements [begin, end); see updates.h for their formulas.
struct UpdateTable {
  const char* name;  ///< "sse (4 lanes)", ...
  void (*rmsprop)(int64_t begin, int64_t end, float* w, const float* g, float* velocity, float learning_rate,
                  float rho, float one_minus_rho, float epsilon);
  void (*rmsprop_momentum)(int64_t begin, int64_t end, float* w, const float* g, float* velocity, float* momentum,
                           float learning_rate, float rho, float one_minus_rho, float momentum_rate, float epsilon);
};

/// The tables this processor can run, narrowest first (the last is the one used); `count`
/// receives their number (0: the exact scalar loops run).
const UpdateTable* update_tables(int* count);

#ifdef TAPEGRAD_LIBMVEC
extern const UpdateTable sse_updates, avx2_updates, avx512_updates;

namespace {

// Calls f(x) with x[a] the vector of arrays[a] at i, for i = begin, begin + lanes, ..., and
// stores back the first `kWritten` arrays; the last partial vector is padded with zeros so that
// every element goes through the same arithmetic. The padding lanes' results are dropped (with
// epsilon 0 they compute 0·inf, which only raises the invalid-operation flag).
template <class V, int kArrays, int kWritten, class F>
inline void for_each_vector(int64_t begin, int64_t end, float* const (&arrays)[kArrays], F f) {
  constexpr int64_t kLanes = sizeof(V) / sizeof(float);
  V x[kArrays];
  int64_t i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    for (int a = 0; a < kArrays; ++a) std::memcpy(&x[a], arrays[a] + i, sizeof(V));
    f(x);
    for (int a = 0; a < kWritten; ++a) std::memcpy(arrays[a] + i, &x[a], sizeof(V));
  }
  if (i < end) {
    auto bytes = static_cast<size_t>(end - i) * sizeof(float);
    for (int a = 0; a < kArrays; ++a) {
      x[a] = V{};
      std::memcpy(&x[a], arrays[a] + i, bytes);
    }
    f(x);
    for (int a = 0; a < kWritten; ++a) std::memcpy(arrays[a] + i, &x[a], bytes);
  }
}

// Keras' order: velocity = rho velocity + (1 - rho)(g g), w -= (lr g) / sqrt(velocity + epsilon).
template <class Lanes>
void rmsprop_lanes(int64_t begin, int64_t end, float* w, const float* g, float* velocity, float lr, float rho,
                   float one_minus_rho, float eps) {
  using V = typename Lanes::V;
  float* const arrays[] = {w, velocity, const_cast<float*>(g)};
  for_each_vector<V, 3, 2>(begin, end, arrays, [&](V* x) {
    V gv = x[2];
    x[1] = rho * x[1] + one_minus_rho * (gv * gv);
    x[0] -= (lr * gv) * reciprocal_sqrt<Lanes>(x[1] + eps);
  });
}

// With momentum: momentum = mu momentum + (lr g) / sqrt(velocity + epsilon), w -= momentum.
template <class Lanes>
void rmsprop_momentum_lanes(int64_t begin, int64_t end, float* w, const float* g, float* velocity, float* momentum,
                            float lr, float rho, float one_minus_rho, float mu, float eps) {
  using V = typename Lanes::V;
  float* const arrays[] = {w, velocity, momentum, const_cast<float*>(g)};
  for_each_vector<V, 4, 3>(begin, end, arrays, [&](V* x) {
    V gv = x[3];
    x[1] = rho * x[1] + one_minus_rho * (gv * gv);
    x[2] = mu * x[2] + (lr * gv) * reciprocal_sqrt<Lanes>(x[1] + eps);
    x[0] -= x[2];
  });
}

template <class Lanes>
constexpr UpdateTable updates_table(const char* name) {
  return {name, rmsprop_lanes<Lanes>, rmsprop_momentum_lanes<Lanes>};
}

}  // namespace
#endif

}  // namespace ad::kernels::detail
