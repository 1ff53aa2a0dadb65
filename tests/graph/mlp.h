// A random multi-layer perceptron recorded on a tape, the graph tests' common subject: the
// same model runs eagerly (the reference) and as a compiled graph.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/autodiff/ops.h"
#include "tapegrad/graph/executor.h"
#include "tapegrad/graph/passes.h"

namespace graph_test {

using ad::Shape;
using ad::Tensor;
using ad::Var;

struct MlpSpec {
  std::vector<int64_t> widths;       // input features, then each layer's units
  std::string activation = "relu";   // hidden layers: relu, sigmoid, tanh, softplus, linear
  std::string loss = "sparse_categorical_crossentropy";  // also categorical_crossentropy, mse, binary_crossentropy
  int64_t batch = 8;
  uint64_t seed = 1;
  bool from_logits = false;          // cross-entropies: a linear last layer and from_logits
};

struct Mlp {
  MlpSpec spec;
  Tensor x, y;                       // a batch and its targets (labels for the sparse loss)
  std::vector<Tensor> initial;       // kernel, bias per layer

  explicit Mlp(MlpSpec s);
  // The forward pass and loss on the active tape, with `params` in `initial`'s order.
  Var loss(const std::vector<Var>& params) const;
  Var output(const std::vector<Var>& params) const;
  std::vector<Var> fresh_params() const;  // parameters holding copies of `initial`
};

// Records the step on a fresh tape and returns its graph (unoptimized).
graph::Graph record(const Mlp& mlp, const std::vector<Var>& params, graph::UpdateRule rule);

// A step of `mlp` recorded with fresh parameters, optimized, and bound to an executor with
// zeroed optimizer slots.
struct CompiledMlp {
  std::vector<Var> params;
  std::vector<Tensor> slots;
  std::unique_ptr<graph::Executor> step;
};
CompiledMlp compile_mlp(const Mlp& mlp, graph::UpdateRule rule, graph::ExecutorOptions options);

// Element-wise |a - b| <= atol + rtol * |b|; the message names the worst element.
std::string compare(const Tensor& actual, const Tensor& expected, float atol, float rtol);

}  // namespace graph_test
