#include "tapegrad/nn/optimizers/rmsprop.h"

#include <cmath>
#include <limits>

#include "tapegrad/autodiff/kernels/updates.h"

namespace nn {

RMSprop::RMSprop(double lr, RMSpropOptions options) : options_(options) {
  TG_CHECK(lr >= 0 && lr <= std::numeric_limits<float>::max(),  // the update runs in float (NaN fails too)
           "RMSprop: learning_rate must be a number >= 0 that a float holds (below 3.4e38), got {}", lr);
  TG_CHECK(options.rho >= 0 && options.rho < 1, "RMSprop: rho must be in [0, 1), got {}", options.rho);
  TG_CHECK(options.momentum >= 0 && options.momentum <= 1, "RMSprop: momentum must be in [0, 1], got {}",
           options.momentum);
  // An infinite epsilon would make every step 0: training that silently does nothing.
  TG_CHECK(options.epsilon > 0 && std::isfinite(options.epsilon), "RMSprop: epsilon must be positive and finite, got {}",
           options.epsilon);
  learning_rate = lr;
}

void RMSprop::build(const std::vector<Var>& params) {
  if (options_.momentum > 0) {
    make_slots(params, {"velocity", "momentum"});
  } else {
    make_slots(params, {"velocity"});
  }
}

void RMSprop::apply(const std::vector<Var>& params) {
  ad::NoGrad no_grad;
  check_built(params);
  const auto rmsprop = ad::kernels::RMSpropCoefficients::of(
      {.learning_rate = learning_rate, .rho = options_.rho, .momentum = options_.momentum, .epsilon = options_.epsilon});
  for (size_t p = 0; p < params.size(); ++p) {
    Var param = params[p];
    if (!param.has_grad()) continue;
    float* momentum = options_.momentum > 0 ? slot(p, "momentum").data() : nullptr;
    ad::kernels::rmsprop_update(param.value().data(), param.grad().data(), slot(p, "velocity").data(), momentum,
                                param.size(), rmsprop);
  }
  ++iterations;
}

Json RMSprop::get_config() const {
  return {{"type", type()},
          {"learning_rate", learning_rate},
          {"rho", options_.rho},
          {"momentum", options_.momentum},
          {"epsilon", options_.epsilon},
          {"iterations", iterations}};
}

}  // namespace nn
