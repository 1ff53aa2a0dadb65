/// @file
/// Perceptron: Rosenblatt's threshold units trained with his learning rule
/// w <- w + eta0 (y - yhat) x, one unit per output, with scikit-learn's options and defaults.
/// On linearly separable data the rule converges (an epoch passes with no mistake); on data
/// that is not (XOR) it cannot, and converged() says so instead of pretending.
///
/// @code
/// #include <fmt/format.h>
/// // Given: const ad::Tensor& X, const ad::Tensor& y
/// nn::Perceptron perceptron({.eta0 = 1, .max_iter = 100});
/// perceptron.fit(X, y);                  // X [n,features]; y [n] or [n,outputs] of 0/1
/// if (!perceptron.converged()) fmt::print("{}\n", perceptron.report());
/// ad::Tensor yhat = perceptron.predict(X);
/// double accuracy = perceptron.score(X, y);
/// @endcode
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/tensor.h"

namespace nn {

/// The unit's output: heaviside gives 0/1 (1 where w.x + b >= 0), sign gives -1/+1 (+1 where
/// w.x + b >= 0). Targets use the same two values.
enum class ThresholdFunction { heaviside, sign };

/// scikit-learn's Perceptron options and defaults.
struct PerceptronOptions {
  double eta0 = 1;     ///< learning rate
  int max_iter = 1000; ///< epochs at most
  /// Stop when the epoch's mistakes (a fraction of the samples) have not fallen by more than
  /// tol below the best so far for n_iter_no_change epochs in a row; nullopt: only max_iter or
  /// an epoch without mistakes stops training.
  std::optional<double> tol = 1e-3;
  int n_iter_no_change = 5;  ///< epochs without enough improvement before stopping (with tol)
  bool shuffle = true;       ///< visit the samples in a new order every epoch (datasets::EpochOrder's)
  uint64_t random_state = 0; ///< seed of that order: epoch 1 visits datasets::permutation(n, random_state)
  bool fit_intercept = true;  ///< learn the bias b (false: b stays 0)
  ThresholdFunction activation = ThresholdFunction::heaviside;  ///< the outputs' two values
};

/// Rosenblatt's perceptron with scikit-learn's options: w += eta0 (y - ŷ) x for every
/// misclassified sample, one output unit per target column.
class Perceptron {
 public:
  /// Throws ad::Error for a non-positive eta0, max_iter or n_iter_no_change, or a negative tol.
  explicit Perceptron(PerceptronOptions options = {});

  /// Trains from zero weights. X: [n,features] with n > 0; y: [n] (one output) or
  /// [n,outputs], every value one of the two the activation gives.
  Perceptron& fit(const ad::Tensor& X, const ad::Tensor& y);
  /// w.x + b for every sample and output: [n,outputs].
  ad::Tensor decision_function(const ad::Tensor& X) const;
  /// Thresholded decision: [n] when fit() had targets [n], else [n,outputs].
  ad::Tensor predict(const ad::Tensor& X) const;
  /// The fraction of samples whose every output is predicted right.
  double score(const ad::Tensor& X, const ad::Tensor& y) const;

  /// Whether fit() has run.
  bool fitted() const { return coef_.size() > 0; }
  /// True when an epoch went by without a mistake: the weights separate the training set.
  bool converged() const { return converged_; }
  /// Epochs the last fit() ran.
  int epochs_run() const { return epochs_run_; }
  /// Training samples the final weights get wrong (counting a sample once whatever its outputs).
  int64_t training_errors() const { return training_errors_; }
  /// Mistakes (updates) made in each epoch, one entry per epoch run.
  const std::vector<int64_t>& errors_per_epoch() const { return errors_per_epoch_; }
  /// How fit() ended: converged after N epochs, or why it stopped without (two lines).
  std::string report() const;

  const ad::Tensor& coef() const { return coef_; }            ///< [outputs,features]
  const ad::Tensor& intercept() const { return intercept_; }  ///< [outputs]
  /// The options given.
  const PerceptronOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  void check_features(const char* who, const ad::Tensor& X) const;

  PerceptronOptions options_;
  ad::Tensor coef_, intercept_;
  bool single_output_ = false;
  bool converged_ = false;
  int epochs_run_ = 0;
  int64_t training_errors_ = 0, samples_ = 0;
  std::vector<int64_t> errors_per_epoch_;
  std::string stop_reason_;
};

}  // namespace nn
