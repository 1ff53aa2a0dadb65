/// @file
/// MLP: the typical multi-layer perceptrons as Sequential models, with the loss that suits each.
///
/// @code
/// nn::Sequential reg = nn::MLP::regression({.inputs = 8, .hidden = {30, 30}, .outputs = 1});
/// nn::Sequential clf = nn::MLP::multiclass_classification({.inputs = 4, .hidden = {16}, .classes = 3});
/// clf.compile({.loss = nn::MLP::loss_for(nn::MLP::Task::MulticlassClassification), .optimizer = "adam"});
/// @endcode
#pragma once
#include <string>
#include <vector>

#include "tapegrad/nn/sequential.h"

namespace nn {

/// The shape of a regression MLP.
struct RegressionOptions {
  int64_t inputs = 0;  ///< features per sample; must be positive
  std::vector<int64_t> hidden = {};  ///< the hidden layers' widths, in order (none: a linear model)
  int64_t outputs = 1;  ///< values predicted per sample
  std::string hidden_activation = "relu";  ///< the hidden layers' activation
  std::string output_activation = "linear";  ///< "linear"/"" (none), "relu", "softplus", "sigmoid", "tanh"
};

/// The shape of a binary classifier.
struct BinaryClassificationOptions {
  int64_t inputs = 0;  ///< features per sample; must be positive
  std::vector<int64_t> hidden = {};  ///< the hidden layers' widths, in order
  std::string hidden_activation = "relu";  ///< the hidden layers' activation
};

/// The shape of a multilabel classifier.
struct MultilabelClassificationOptions {
  int64_t inputs = 0;  ///< features per sample; must be positive
  std::vector<int64_t> hidden = {};  ///< the hidden layers' widths, in order
  int64_t labels = 2;  ///< independent yes/no outputs
  std::string hidden_activation = "relu";  ///< the hidden layers' activation
};

/// The shape of a multiclass classifier.
struct MulticlassClassificationOptions {
  int64_t inputs = 0;  ///< features per sample; must be positive
  std::vector<int64_t> hidden = {};  ///< the hidden layers' widths, in order
  int64_t classes = 2;  ///< at least 2
  std::string hidden_activation = "relu";  ///< the hidden layers' activation
};

/// Builders of the typical MLP for each task: Dense hidden layers, then the output layer the
/// task calls for. Each throws ad::Error for a non-positive
/// input count, width or output count.
class MLP {
 public:
  /// The four tasks, for loss_for().
  enum class Task { Regression, BinaryClassification, MultilabelClassification, MulticlassClassification };

  /// Outputs with the given activation (none by default): fit with mse, mae or huber.
  static Sequential regression(const RegressionOptions& options);
  /// One sigmoid output: the probability of the positive class.
  static Sequential binary_classification(const BinaryClassificationOptions& options);
  /// One sigmoid per label: independent yes/no answers.
  static Sequential multilabel_classification(const MultilabelClassificationOptions& options);
  /// A softmax over the classes.
  static Sequential multiclass_classification(const MulticlassClassificationOptions& options);

  /// The loss that matches a task: mse for regression (mae or huber also suit it),
  /// binary_crossentropy for binary and multilabel, sparse_categorical_crossentropy for
  /// multiclass with class-index labels.
  static std::string loss_for(Task task);
};

}  // namespace nn
