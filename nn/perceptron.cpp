#include "tapegrad/nn/perceptron.h"

#include <cmath>
#include <limits>

#include "tapegrad/datasets/shuffle.h"

namespace nn {

namespace {

struct Levels {
  float low, high;
};

Levels levels(ThresholdFunction activation) {
  return activation == ThresholdFunction::sign ? Levels{-1.f, 1.f} : Levels{0.f, 1.f};
}

const char* name(ThresholdFunction activation) {
  return activation == ThresholdFunction::sign ? "sign" : "heaviside";
}

void check_samples(const char* who, const ad::Tensor& X) {
  TG_CHECK(X.rank() == 2, "{}: X must be [samples,features], got shape {}", who, ad::to_string(X.shape()));
  TG_CHECK(X.dim(0) > 0 && X.dim(1) > 0, "{}: X must have at least one sample and one feature, got shape {}",
           who, ad::to_string(X.shape()));
  for (int64_t i = 0; i < X.size(); ++i)
    TG_CHECK(std::isfinite(X[i]), "{}: X[{},{}] is {}, not a finite number", who, i / X.dim(1), i % X.dim(1), X[i]);
}

// The number of outputs y stands for; y must be [n] or [n,outputs] of the two levels.
int64_t check_targets(const char* who, const ad::Tensor& y, int64_t samples, ThresholdFunction activation) {
  TG_CHECK((y.rank() == 1 || y.rank() == 2) && y.dim(0) == samples,
           "{}: y must be [{}] or [{},outputs] to match X's {} samples, got shape {}", who, samples, samples,
           samples, ad::to_string(y.shape()));
  int64_t outputs = y.rank() == 2 ? y.dim(1) : 1;
  TG_CHECK(outputs > 0, "{}: y has no outputs: shape {}", who, ad::to_string(y.shape()));
  Levels level = levels(activation);
  for (int64_t i = 0; i < y.size(); ++i)
    TG_CHECK(y[i] == level.low || y[i] == level.high,
             "{}: targets must be {} or {} for the {} activation, but sample {} has {}", who, level.low, level.high,
             name(activation), i / outputs, y[i]);
  return outputs;
}

// w.x + b of output o for the sample at x. Training and prediction both use this double sum,
// so that they agree on which side of the boundary every sample lies.
double weighted_sum(const ad::Tensor& coef, const ad::Tensor& intercept, const float* x, int64_t o) {
  const int64_t features = coef.dim(1);
  const float* w = coef.data() + o * features;
  double z = intercept[o];
  for (int64_t j = 0; j < features; ++j) z += double(w[j]) * x[j];
  return z;
}

}  // namespace

Perceptron::Perceptron(PerceptronOptions options) : options_(options) {
  // The updates run in float: the rate must be positive as a float too (1e-46 rounds to 0,
  // and the perceptron would never learn).
  TG_CHECK(options_.eta0 <= std::numeric_limits<float>::max() && static_cast<float>(options_.eta0) > 0,
           "Perceptron: eta0 must be a positive number that a float holds (1.4e-45 to 3.4e38), got {}",
           options_.eta0);
  TG_CHECK(options_.max_iter >= 1, "Perceptron: max_iter must be at least 1, got {}", options_.max_iter);
  TG_CHECK(options_.n_iter_no_change >= 1, "Perceptron: n_iter_no_change must be at least 1, got {}",
           options_.n_iter_no_change);
  TG_CHECK(!options_.tol || (std::isfinite(*options_.tol) && *options_.tol >= 0),
           "Perceptron: tol must be non-negative (or nullopt to disable it), got {}", options_.tol.value_or(0));
}

Perceptron& Perceptron::fit(const ad::Tensor& X, const ad::Tensor& y) {
  check_samples("Perceptron::fit", X);
  const int64_t n = X.dim(0), features = X.dim(1);
  const int64_t outputs = check_targets("Perceptron::fit", y, n, options_.activation);
  const Levels level = levels(options_.activation);

  coef_ = ad::Tensor::zeros({outputs, features});
  intercept_ = ad::Tensor::zeros({outputs});
  single_output_ = y.rank() == 1;
  converged_ = false;
  epochs_run_ = 0;
  errors_per_epoch_.clear();
  stop_reason_.clear();

  // The library's one shuffle: the same random_state gives the order fit() and
  // datasets::permutation give for that seed.
  datasets::EpochOrder order(n, {.shuffle = options_.shuffle, .seed = options_.random_state});
  const float eta = static_cast<float>(options_.eta0);
  int64_t best = n * outputs + 1;
  int without_improvement = 0;

  for (int epoch = 1; epoch <= options_.max_iter; ++epoch) {
    int64_t mistakes = 0;
    for (int64_t i : order.next()) {
      const float* x = X.data() + i * features;
      for (int64_t o = 0; o < outputs; ++o) {
        const float target = y[i * outputs + o];
        const float output = weighted_sum(coef_, intercept_, x, o) >= 0 ? level.high : level.low;
        if (output == target) continue;
        ++mistakes;
        const float step = eta * (target - output);
        float* w = coef_.data() + o * features;
        for (int64_t j = 0; j < features; ++j) w[j] += step * x[j];
        if (options_.fit_intercept) intercept_[o] += step;
      }
    }
    epochs_run_ = epoch;
    errors_per_epoch_.push_back(mistakes);
    if (mistakes == 0) {
      converged_ = true;
      break;
    }
    if (options_.tol) {
      // scikit-learn's rule on the epoch's error rate: only a drop of more than tol counts.
      const bool improved = double(mistakes) < double(best) - *options_.tol * double(n * outputs);
      without_improvement = improved ? 0 : without_improvement + 1;
      best = std::min(best, mistakes);
      if (without_improvement >= options_.n_iter_no_change) {
        stop_reason_ = fmt::format(
            "after {} epochs, as its mistakes per epoch had not fallen by more than tol = {} for {} epochs "
            "(fewest: {} of {})",
            epoch, *options_.tol, options_.n_iter_no_change, best, n * outputs);
        break;
      }
    }
  }
  if (!converged_ && stop_reason_.empty())
    stop_reason_ = fmt::format("in max_iter = {} epochs ({} mistakes in the last one)", options_.max_iter,
                               errors_per_epoch_.back());

  samples_ = n;
  training_errors_ = std::llround((1 - score(X, y)) * double(n));
  return *this;
}

ad::Tensor Perceptron::decision_function(const ad::Tensor& X) const {
  check_fitted("Perceptron::decision_function");
  check_features("Perceptron::decision_function", X);
  const int64_t n = X.dim(0), features = X.dim(1), outputs = coef_.dim(0);
  ad::Tensor z = ad::Tensor::empty({n, outputs});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < outputs; ++o)
      z[i * outputs + o] = float(weighted_sum(coef_, intercept_, X.data() + i * features, o));
  return z;
}

ad::Tensor Perceptron::predict(const ad::Tensor& X) const {
  check_fitted("Perceptron::predict");
  check_features("Perceptron::predict", X);
  const Levels level = levels(options_.activation);
  const int64_t n = X.dim(0), features = X.dim(1), outputs = coef_.dim(0);
  ad::Tensor labels = single_output_ ? ad::Tensor::empty({n}) : ad::Tensor::empty({n, outputs});
  // Not decision_function(): its float rounding could move a sample that lies exactly on the
  // boundary to the other side of where fit() saw it.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < outputs; ++o)
      labels[i * outputs + o] =
          weighted_sum(coef_, intercept_, X.data() + i * features, o) >= 0 ? level.high : level.low;
  return labels;
}

double Perceptron::score(const ad::Tensor& X, const ad::Tensor& y) const {
  check_fitted("Perceptron::score");
  check_features("Perceptron::score", X);
  const int64_t n = X.dim(0), outputs = coef_.dim(0);
  const int64_t given = check_targets("Perceptron::score", y, n, options_.activation);
  TG_CHECK(given == outputs, "Perceptron::score: y has {} outputs but the perceptron was fit with {}", given,
           outputs);
  const ad::Tensor labels = predict(X);
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool all = true;
    for (int64_t o = 0; o < outputs; ++o) all = all && labels[i * outputs + o] == y[i * outputs + o];
    right += all;
  }
  return double(right) / double(n);
}

std::string Perceptron::report() const {
  if (!fitted()) return "not fitted yet";
  if (converged_)
    return fmt::format("converged after {} epoch{}: the weights separate the training set", epochs_run_,
                       epochs_run_ == 1 ? "" : "s");
  return fmt::format(
      "did not converge: it stopped {}.\nIts final weights get {} of {} training samples wrong: the data are "
      "probably not linearly separable.",
      stop_reason_, training_errors_, samples_);
}

void Perceptron::check_fitted(const char* who) const {
  TG_CHECK(fitted(), "{}: the perceptron is not fitted yet: call fit(X, y) first", who);
}

void Perceptron::check_features(const char* who, const ad::Tensor& X) const {
  check_samples(who, X);
  TG_CHECK(X.dim(1) == coef_.dim(1), "{}: X has {} features but the perceptron was fit with {}: shape {}", who,
           X.dim(1), coef_.dim(1), ad::to_string(X.shape()));
}

}  // namespace nn
