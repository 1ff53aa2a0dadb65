#include "tapegrad/nn/optimizers/adam.h"

#include <cmath>
#include <limits>

#include "tapegrad/autodiff/kernels/updates.h"

namespace nn {

Adam::Adam(double lr, AdamOptions options) : options_(options) {
  TG_CHECK(lr >= 0 && lr <= std::numeric_limits<float>::max(),  // the update runs in float (NaN fails too)
           "Adam: learning_rate must be a number >= 0 that a float holds (below 3.4e38), got {}", lr);
  TG_CHECK(options.beta_1 >= 0 && options.beta_1 < 1, "Adam: beta_1 must be in [0, 1), got {}", options.beta_1);
  TG_CHECK(options.beta_2 >= 0 && options.beta_2 < 1, "Adam: beta_2 must be in [0, 1), got {}", options.beta_2);
  // An infinite epsilon would make every step 0: training that silently does nothing.
  TG_CHECK(options.epsilon > 0 && std::isfinite(options.epsilon), "Adam: epsilon must be positive and finite, got {}",
           options.epsilon);
  learning_rate = lr;
}

void Adam::build(const std::vector<Var>& params) { make_slots(params, {"m", "v"}); }

void Adam::apply(const std::vector<Var>& params) {
  ad::NoGrad no_grad;
  check_built(params);
  // The learning rate as the compiled step has it (a float), so that both compute the same step.
  const auto adam = ad::kernels::AdamCoefficients::at_step({.learning_rate = static_cast<float>(learning_rate),
                                                            .beta_1 = options_.beta_1,
                                                            .beta_2 = options_.beta_2,
                                                            .epsilon = options_.epsilon},
                                                           next_step());
  for (size_t p = 0; p < params.size(); ++p) {
    Var param = params[p];
    if (!param.has_grad()) continue;
    ad::kernels::adam_update(param.value().data(), param.grad().data(), slot(p, "m").data(), slot(p, "v").data(),
                             param.size(), adam);
  }
  ++iterations;
}

Json Adam::get_config() const {
  return {{"type", type()},           {"learning_rate", learning_rate}, {"beta_1", options_.beta_1},
          {"beta_2", options_.beta_2}, {"epsilon", options_.epsilon},    {"iterations", iterations}};
}

}  // namespace nn
