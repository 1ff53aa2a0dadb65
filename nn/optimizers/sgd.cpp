#include "tapegrad/nn/optimizers/sgd.h"

#include <cmath>
#include <limits>

#include "tapegrad/autodiff/kernels/updates.h"

namespace nn {

SGD::SGD(double lr, SGDOptions options) : options_(options) {
  TG_CHECK(lr >= 0 && lr <= std::numeric_limits<float>::max(),  // the update runs in float (NaN fails too)
           "SGD: learning_rate must be a number >= 0 that a float holds (below 3.4e38), got {}", lr);
  TG_CHECK(options.momentum >= 0 && options.momentum <= 1, "SGD: momentum must be in [0, 1], got {}", options.momentum);
  learning_rate = lr;
}

void SGD::build(const std::vector<Var>& params) {
  if (options_.momentum > 0) {
    make_slots(params, {"momentum"});
  } else {
    make_slots(params, {});
  }
}

void SGD::apply(const std::vector<Var>& params) {
  ad::NoGrad no_grad;
  check_built(params);
  const auto lr = static_cast<float>(learning_rate);
  const ad::kernels::MomentumCoefficients momentum{
      .learning_rate = lr, .momentum = static_cast<float>(options_.momentum), .nesterov = options_.nesterov};
  for (size_t p = 0; p < params.size(); ++p) {
    Var param = params[p];
    if (!param.has_grad()) continue;  // not reached by the loss: Keras skips it too
    if (options_.momentum <= 0) {
      ad::kernels::sgd_update(param.value().data(), param.grad().data(), param.size(), lr);
    } else {
      ad::kernels::momentum_update(param.value().data(), param.grad().data(), slot(p, "momentum").data(),
                                   param.size(), momentum);
    }
  }
  ++iterations;
}

Json SGD::get_config() const {
  return {{"type", type()},
          {"learning_rate", learning_rate},
          {"momentum", options_.momentum},
          {"nesterov", options_.nesterov},
          {"iterations", iterations}};
}

}  // namespace nn
