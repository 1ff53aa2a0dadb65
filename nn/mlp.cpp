#include "tapegrad/nn/mlp.h"

#include "tapegrad/nn/activations.h"
#include "tapegrad/nn/layers/dense.h"
#include "tapegrad/nn/layers/input_layer.h"

namespace nn {

namespace {

Sequential stack(const char* who, int64_t inputs, const std::vector<int64_t>& hidden, const std::string& hidden_activation,
                 int64_t outputs, const std::string& output_activation) {
  TG_CHECK(inputs > 0, "{}: inputs must be positive, got {}", who, inputs);
  TG_CHECK(outputs > 0, "{}: the output count must be positive, got {}", who, outputs);
  for (size_t i = 0; i < hidden.size(); ++i)
    TG_CHECK(hidden[i] > 0, "{}: hidden layer {} must have a positive width, got {}", who, i, hidden[i]);
  Sequential model;
  model.add(InputLayer({inputs}));
  for (int64_t width : hidden) model.add(Dense(width, hidden_activation));
  model.add(Dense(outputs, output_activation));
  return model;
}

}  // namespace

Sequential MLP::regression(const RegressionOptions& o) {
  std::string out = canonical_activation(o.output_activation);
  TG_CHECK(out != "softmax", "MLP::regression: output_activation must be linear, relu, softplus, sigmoid or tanh, got {}",
           o.output_activation);
  return stack("MLP::regression", o.inputs, o.hidden, o.hidden_activation, o.outputs, out);
}

Sequential MLP::binary_classification(const BinaryClassificationOptions& o) {
  return stack("MLP::binary_classification", o.inputs, o.hidden, o.hidden_activation, 1, "sigmoid");
}

Sequential MLP::multilabel_classification(const MultilabelClassificationOptions& o) {
  return stack("MLP::multilabel_classification", o.inputs, o.hidden, o.hidden_activation, o.labels, "sigmoid");
}

Sequential MLP::multiclass_classification(const MulticlassClassificationOptions& o) {
  TG_CHECK(o.classes >= 2, "MLP::multiclass_classification: needs at least 2 classes, got {}", o.classes);
  return stack("MLP::multiclass_classification", o.inputs, o.hidden, o.hidden_activation, o.classes, "softmax");
}

std::string MLP::loss_for(Task task) {
  switch (task) {
    case Task::Regression: return "mse";
    case Task::BinaryClassification:
    case Task::MultilabelClassification: return "binary_crossentropy";
    case Task::MulticlassClassification: return "sparse_categorical_crossentropy";
  }
  ad::fail("MLP::loss_for: unknown task {}", static_cast<int>(task));
}

}  // namespace nn
