#include "tapegrad/autodiff/gradcheck.h"

#include <cmath>

namespace ad {

namespace {

double evaluate(const ScalarFunction& f, const std::vector<Var>& vars) {
  NoGrad no_grad;
  Var y = f(vars);
  TG_CHECK(y.size() == 1, "gradcheck: the function must return one value, got shape {}", to_string(y.shape()));
  return y.item();
}

}  // namespace

GradcheckResult gradcheck(const ScalarFunction& f, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.push_back(param(t.clone()));
  {
    Tape tape;
    Var y = f(vars);
    TG_CHECK(y.size() == 1, "gradcheck: the function must return one value, got shape {}", to_string(y.shape()));
    y.backward();
  }
  GradcheckResult result;
  for (size_t v = 0; v < vars.size(); ++v) {
    Tensor analytic = vars[v].has_grad() ? vars[v].grad() : Tensor::zeros(vars[v].shape());
    if (analytic.shape() != vars[v].shape()) {
      result.ok = false;
      result.message = fmt::format("input {}: gradient shape {} differs from input shape {}", v,
                                   to_string(analytic.shape()), to_string(vars[v].shape()));
      return result;
    }
    Tensor& x = vars[v].value();
    for (int64_t i = 0; i < x.size(); ++i) {
      float original = x[i];
      x[i] = original + options.epsilon;
      double up = evaluate(f, vars);
      x[i] = original - options.epsilon;
      double down = evaluate(f, vars);
      x[i] = original;
      float numeric = static_cast<float>((up - down) / (2.0 * options.epsilon));
      float error = std::fabs(analytic[i] - numeric);
      bool bad = !(error <= options.atol + options.rtol * std::fabs(numeric));
      if (error > result.max_abs_error || std::isnan(error)) result.max_abs_error = error;
      if (bad && result.ok) {
        result.ok = false;
        result.message = fmt::format("input {} element {}: analytic {} vs numeric {} (error {})", v, i, analytic[i],
                                     numeric, error);
      }
    }
  }
  return result;
}

}  // namespace ad
