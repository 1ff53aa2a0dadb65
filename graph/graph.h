/// @file
/// Graph: the DAG of one training step (forward, backward and parameter updates) taken from a
/// recorded tape. Nodes are ops with their attributes; edges are values with shapes. The
/// gradients are values of the same graph, so passes (passes.h) see and rewrite both directions,
/// and the executor (executor.h) runs the result.
///
/// @code
/// #include <tapegrad/autodiff/ops.h>
/// #include <tapegrad/graph/passes.h>
/// // Given: const ad::Tensor& x, const ad::Tensor& y, const ad::Var& W, const ad::Var& b
/// ad::Tape tape;
/// ad::Var h = ad::relu(ad::matmul(ad::constant(x), W) + b);
/// ad::Var loss = ad::mse_loss(h, ad::constant(y));
/// auto g = graph::Graph::from(tape, loss, {.inputs = {x}, .targets = {y}, .parameters = {W, b},
///                                          .update = {.kind = graph::UpdateKind::SGD, .learning_rate = 0.1f}});
/// fmt::print("{}", g.dump());          // text; g.to_dot() for Graphviz
/// graph::optimize(g);                  // fusion passes; g.report() says what they did
/// @endcode
///
/// Leaves are recognised by identity: parameters by their Var, inputs and targets by the
/// storage of the tensors given (a placeholder batch), so a reshape of an input still binds.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/autodiff/kernels/matmul.h"
#include "tapegrad/autodiff/var.h"

namespace graph {

using ad::Shape;
using ad::Tensor;

/// What a node computes: the forward ops a tape may hold, the backward ops differentiation
/// makes, the fused ops the passes make and the in-place parameter updates.
enum class Kind : uint8_t {
  // Forward ops taken from the tape.
  MatMul, Add, Sub, Mul, Neg, Relu, Sigmoid, Tanh, Softmax, LogSoftmax, SumAll, MeanAll, Reshape,
  MseLoss, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
  // Backward ops generated from the forward ones.
  ReluGrad, SigmoidGrad, TanhGrad, SoftmaxGrad, LogSoftmaxGrad, ColumnSum, FillScalar, BroadcastScalar, AddN,
  LossGrad,
  // Fused ops made by the passes.
  FusedDense, ActivationBiasGrad, SoftmaxCrossentropy, SoftmaxCrossentropyGrad,
  // Parameter updates (in place).
  SgdUpdate, MomentumUpdate, AdamUpdate, RMSpropUpdate,
};
/// The kind's name in dumps, reports and messages ("matmul", "fused_dense", ...).
const char* kind_name(Kind kind);

/// What a value is: bound from outside (Input, Target, Parameter, Slot), a Constant held by
/// the graph, or a Temporary in the executor's arena.
enum class Role : uint8_t { Input, Target, Parameter, Slot, Constant, Temporary };
/// The role's name in dumps and messages.
const char* role_name(Role role);

/// A value of the graph (an edge): a tensor of fixed shape.
struct Value {
  Shape shape;  ///< fixed when the graph is made (a new batch size is a new graph)
  Role role = Role::Temporary;  ///< where its data comes from
  std::string name;  ///< for dumps and messages: the parameter's name, "input0", ...
  Tensor data;        ///< the constant's values (Role::Constant)
  int binding = -1;   ///< index into the inputs/targets/parameters/slots lists for bound roles
  int producer = -1;  ///< node writing it (-1: a leaf)
  /// Number of elements.
  int64_t size() const { return ad::element_count(shape); }
};

/// An op of the graph: its kind, its input and output values and its attributes.
struct Node {
  Kind kind = Kind::MatMul;  ///< what it computes
  /// Value ids read and written; an in-place update lists its parameter as output.
  /// @{
  std::vector<int> inputs, outputs;
  /// @}
  /// MatMul and FusedDense: operand layouts, post-op and SGD folding (c += scale * a b).
  /// @{
  bool trans_a = false, trans_b = false, accumulate = false;
  /// @}
  float scale = 1.f;  ///< multiplies the product
  ad::kernels::Activation activation = ad::kernels::Activation::None;  ///< the post-op of FusedDense (None for a plain MatMul)
  /// LossGrad / loss kinds: which loss; from_logits for the cross-entropies.
  Kind loss = Kind::MseLoss;
  bool from_logits = false;  ///< cross-entropy on logits instead of probabilities
  /// ActivationBiasGrad with a folded bias update: bias += update_scale * column sums.
  float update_scale = 0.f;
  /// A folded update's scale and update_scale are multiplied by the learning rate at run time,
  /// so that a schedule changing it needs no recompilation.
  bool times_learning_rate = false;
  float value = 0.f;                  ///< FillScalar's value, BroadcastScalar's factor
  std::vector<int> after;             ///< control edges: nodes that must finish first
  int origin = -1;                    ///< forward node a backward node was made for
  bool removed = false;               ///< passes mark, compact() drops
};

/// The optimizer a training graph ends with: none (gradients only), SGD (with momentum and
/// Nesterov), Adam or RMSprop (with momentum).
enum class UpdateKind : uint8_t { None, SGD, Adam, RMSprop };

/// The optimizer folded into the step, with Keras' names and defaults.
struct UpdateRule {
  UpdateKind kind = UpdateKind::None;  ///< which optimizer
  float learning_rate = 0.01f;  ///< Keras' SGD default (Adam's is 0.001, set by nn::Adam)
  float momentum = 0.f;  ///< SGD's and RMSprop's momentum (0: none, no slot)
  bool nesterov = false;  ///< SGD: Nesterov momentum
  /// Adam's decay rates, Keras' defaults (Kingma and Ba's); in double as the optimizer keeps
  /// them, so that 1 − beta is the eager step's (autodiff/kernels/updates.h).
  /// @{
  double beta_1 = 0.9, beta_2 = 0.999;
  /// @}
  float epsilon = 1e-7f;  ///< Adam's and RMSprop's, Keras' default for both (Kingma and Ba's is 1e-8)
  double rho = 0.9;  ///< RMSprop's decay of the mean square, Keras' default
  /// Slot names per parameter, in the order the executor binds them.
  std::vector<std::string> slot_names() const;
};

/// What Graph::from() needs to know about the tape's leaves and the update.
struct FromOptions {
  std::vector<Tensor> inputs = {};         ///< placeholder batches the tape read
  std::vector<Tensor> targets = {};        ///< targets and labels the loss read
  std::vector<ad::Var> parameters = {};    ///< the trainable leaves, in optimizer order
  std::vector<std::string> parameter_names = {};  ///< optional, for dumps
  UpdateRule update = {};                  ///< None: forward and gradients only
  bool backward = true;               ///< false: a prediction graph (forward only)
};

/// One line per pass: what it fused, and what it left alone and why.
struct ReportLine {
  /// The pass's name and what it says.
  /// @{
  std::string pass, message;
  /// @}
};

/// The DAG of one training (or prediction) step; see the file's description. Passes edit its
/// public fields directly and keep nodes in a topological order.
class Graph {
 public:
  /// The DAG of `loss` on `tape`; throws ad::Error naming the op the graph does not support.
  static Graph from(const ad::Tape& tape, const ad::Var& loss, const FromOptions& options = {});

  std::vector<Value> values;  ///< every value; ids are indexes
  std::vector<Node> nodes;            ///< in a topological order
  int loss = -1;                      ///< the loss value (forward root)
  int prediction = -1;                ///< the model's output before the loss (-1 if none)
  /// Value ids of the bound leaves and of the parameters' gradients: gradients[i] belongs to
  /// parameters[i] (-1: the loss does not depend on it).
  /// @{
  std::vector<int> inputs, targets, parameters, gradients;
  /// @}
  std::vector<std::vector<int>> slots;                      ///< slots[i][j]: parameter i's j-th slot
  UpdateRule update;  ///< the optimizer step the graph ends with
  std::vector<ReportLine> report_lines;  ///< what the passes did, in order

  /// Appends a value and returns its id.
  int add_value(Shape shape, Role role, std::string name);
  int add_node(Node node);  ///< sets producers of its outputs (not of in-place updated leaves)
  /// Drops removed nodes, renumbers, and renews every value's producer (values stay; unused
  /// ones are simply not touched). Each pass ends with it.
  void compact();
  /// The live backward node made for forward node `origin` with this kind, or -1.
  int backward_node(int origin, Kind kind) const;
  /// Consumers of each value among live nodes.
  std::vector<std::vector<int>> consumers() const;
  /// Adds a line to the report.
  void note(std::string pass, std::string message) { report_lines.push_back({std::move(pass), std::move(message)}); }

  std::string dump() const;    ///< one line per node: outputs = kind(inputs) [attributes]
  std::string to_dot() const;  ///< Graphviz
  std::string report() const;  ///< the passes' lines
};

}  // namespace graph
