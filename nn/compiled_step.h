/// @file
/// CompiledStep: runs fit/evaluate/predict batches as optimized graphs (graph/). On the first
/// batch of each shape it records the model's forward and loss on a tape, with that batch as
/// the placeholder, builds the step's graph (forward, backward, the optimizer's update), runs
/// the fusion passes and compiles an executor; later batches of that shape only run it. The
/// last, smaller batch of an epoch gets a graph of its own. Parameters and optimizer slots are
/// updated in place, so compiled and eager steps can take turns on one model.
///
/// @code
/// // Given: nn::Model& model, const ad::Tensor& x, const ad::Tensor& y, ad::Tensor& predictions
/// nn::CompiledStep step(model);                // model built and compiled
/// if (!step.supported()) fmt::print("eager: {}\n", step.reason());
/// float loss = step.train(x, y, predictions);
/// @endcode
///
/// Every registered op runs in the graph, a user's own ops included. Only an optimizer without a
/// compiled update rule (a user's Optimizer subclass) makes the runner use an EagerStep for good;
/// reason() says why.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "tapegrad/nn/eager_step.h"
#include "tapegrad/nn/model.h"
#include "tapegrad/nn/step.h"

namespace graph {
class Executor;
}

namespace nn {

/// How a CompiledStep builds and runs its graphs.
struct CompiledStepOptions {
  bool fuse = true;  ///< false: the unfused graph (for comparisons)
  int mode = 0;      ///< graph::ExecutionMode: 0 auto, 1 serial, 2 parallel
  bool profile = false;  ///< time the GEMMs (graph::Executor::gemm_seconds), for benchmarks
};

/// The compiled training step: one optimized graph (graph::Graph, graph::Executor) per batch
/// shape. Every registered op (custom ops included) runs in the graph; only an optimizer that has
/// no compiled update rule (a user's Optimizer subclass) keeps the step on the eager tape.
class CompiledStep : public StepRunner {
 public:
  /// For a built, compiled `model`, which must outlive the step. The first train() decides
  /// whether the optimizer can be compiled (supported(), reason()).
  explicit CompiledStep(Model& model, CompiledStepOptions options = {});
  ~CompiledStep() override;
  float train(const Tensor& x, const Tensor& y, Tensor& predictions) override;
  // The forward graph (to the logits when training takes the loss from them), then the loss
  // and the last activation as eager ops on that batch's outputs.
  float test(const Tensor& x, const Tensor& y, Tensor& predictions) override;
  Tensor predict(const Tensor& x) override;
  const char* kind() const override { return fallback_ ? "eager" : "compiled"; }

  /// Whether it runs compiled graphs (false: it runs the eager tape).
  bool supported() const { return !fallback_; }
  /// Why it runs eagerly, when it does (the optimizer without a compiled update rule).
  const std::string& reason() const { return reason_; }
  /// The executor of the last train() batch shape (benchmarks read its figures), or nullptr.
  graph::Executor* last_train_executor() const { return last_; }
  /// The executor of the training graph for batch shape `x_shape`, or nullptr before one is built.
  graph::Executor* train_executor(const Shape& x_shape) const;
  /// Text of the training graph for a batch shape, once built: before and after the passes,
  /// and the fusion report, then, once the executor has timed them, the form each SGD
  /// weight-gradient GEMM runs in (graph::Executor::gemm_form_report) and whether weights run
  /// split by rows (graph::Executor::row_split_report); or the same as Graphviz DOT.
  std::string describe(const Shape& x_shape) const;
  /// The training graph for batch shape `x_shape` as Graphviz DOT, before or after the passes.
  std::string to_dot(const Shape& x_shape, bool optimized) const;

 private:
  struct Entry;
  Entry& train_entry(const Tensor& x, const Tensor& y);
  // The forward pass for x's shape; with logits = true, without the last activation.
  Entry& predict_entry(const Tensor& x, bool logits = false);
  void fall_back(std::string reason);
  // The outputs (or logits) of x through the forward graph.
  Tensor forward(const Tensor& x, bool logits);
  void refresh_parameters();

  Model& model_;
  CompiledStepOptions options_;
  std::vector<Var> params_;
  std::vector<std::string> names_;  ///< "dense/kernel", ... for the dumps
  std::map<Shape, std::unique_ptr<Entry>> train_, predict_, logits_;
  std::unique_ptr<EagerStep> fallback_;
  std::string reason_;
  graph::Executor* last_ = nullptr;
};

}  // namespace nn
