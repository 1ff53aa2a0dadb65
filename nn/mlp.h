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

struct RegressionOptions {
  int64_t inputs = 0;
  std::vector<int64_t> hidden = {};
  int64_t outputs = 1;
  std::string hidden_activation = "relu";
  std::string output_activation = "linear";  ///< "linear"/"" (none), "relu", "softplus", "sigmoid", "tanh"
};

struct BinaryClassificationOptions {
  int64_t inputs = 0;
  std::vector<int64_t> hidden = {};
  std::string hidden_activation = "relu";
};

struct MultilabelClassificationOptions {
  int64_t inputs = 0;
  std::vector<int64_t> hidden = {};
  int64_t labels = 2;
  std::string hidden_activation = "relu";
};

struct MulticlassClassificationOptions {
  int64_t inputs = 0;
  std::vector<int64_t> hidden = {};
  int64_t classes = 2;
  std::string hidden_activation = "relu";
};

class MLP {
 public:
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
