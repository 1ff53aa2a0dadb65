#include "tapegrad/nn/optimizers/adam.h"

#include <cmath>
#include <limits>

#include "tapegrad/autodiff/threading.h"

namespace nn {

Adam::Adam(double lr, AdamOptions options) : options_(options) {
  TG_CHECK(lr >= 0 && lr <= std::numeric_limits<float>::max(),  // the update runs in float (NaN fails too)
           "Adam: learning_rate must be a number >= 0 that a float holds (below 3.4e38), got {}", lr);
  TG_CHECK(options.beta_1 >= 0 && options.beta_1 < 1, "Adam: beta_1 must be in [0, 1), got {}", options.beta_1);
  TG_CHECK(options.beta_2 >= 0 && options.beta_2 < 1, "Adam: beta_2 must be in [0, 1), got {}", options.beta_2);
  TG_CHECK(options.epsilon > 0, "Adam: epsilon must be positive, got {}", options.epsilon);
  learning_rate = lr;
}

void Adam::build(const std::vector<Var>& params) { make_slots(params, {"m", "v"}); }

void Adam::apply(const std::vector<Var>& params) {
  ad::NoGrad no_grad;
  check_built(params);
  double t = static_cast<double>(iterations + 1);
  const auto step = static_cast<float>(learning_rate * std::sqrt(1 - std::pow(options_.beta_2, t)) /
                                       (1 - std::pow(options_.beta_1, t)));
  const auto b1 = static_cast<float>(options_.beta_1), b2 = static_cast<float>(options_.beta_2);
  const auto eps = static_cast<float>(options_.epsilon);
  for (size_t p = 0; p < params.size(); ++p) {
    Var param = params[p];
    if (!param.has_grad()) continue;
    float* w = param.value().data();
    const float* g = param.grad().data();
    float* m = slot(p, "m").data();
    float* v = slot(p, "v").data();
    ad::parallel_range(param.size(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        m[i] += (1 - b1) * (g[i] - m[i]);
        v[i] += (1 - b2) * (g[i] * g[i] - v[i]);
        w[i] -= step * m[i] / (std::sqrt(v[i]) + eps);
      }
    });
  }
  ++iterations;
}

Json Adam::get_config() const {
  return {{"type", type()},           {"learning_rate", learning_rate}, {"beta_1", options_.beta_1},
          {"beta_2", options_.beta_2}, {"epsilon", options_.epsilon},    {"iterations", iterations}};
}

}  // namespace nn
