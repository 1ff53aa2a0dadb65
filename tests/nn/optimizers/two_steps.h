// Runs an optimizer for two steps on a one-element parameter starting at 1 with gradients 0.5
// then -0.2, returning the parameter after each step: the figures the optimizer tests compare
// with values worked out by hand from Keras' update rules.
#pragma once
#include <array>

#include "tapegrad/nn/optimizer.h"

inline std::array<float, 2> two_steps(nn::Optimizer& optimizer) {
  ad::Var w = ad::param(ad::Tensor::from({1}, {1.f}));
  optimizer.build({w});
  std::array<float, 2> after{};
  const float gradients[] = {0.5f, -0.2f};
  for (int step = 0; step < 2; ++step) {
    w.state().grad = ad::Tensor::from({1}, {gradients[step]});
    optimizer.apply({w});
    after[static_cast<size_t>(step)] = w.value()[0];
  }
  return after;
}
