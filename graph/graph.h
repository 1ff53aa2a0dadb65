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

#include "tapegrad/autodiff/op.h"
#include "tapegrad/graph/fused_ops.h"

namespace graph {

using ad::Shape;
using ad::Tensor;

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

/// An op of the graph: a registry entry (autodiff/op.h, or one of graph/fused_ops.h), its
/// attributes, and its input and output values.
struct Node {
  const ad::OpDef* op = nullptr;  ///< what it computes
  ad::Attrs attrs;                ///< the op's attributes, as its OpDef expects them
  /// Value ids read and written; an in-place update lists its parameter as output.
  /// @{
  std::vector<int> inputs, outputs;
  /// @}
  std::vector<int> after;  ///< control edges: nodes that must finish first
  int origin = -1;         ///< forward node a backward node was made for
  bool removed = false;    ///< passes mark, compact() drops
  /// The op's name ("matmul", "fused_dense", ...).
  const char* name() const { return op ? op->name : "?"; }
  /// Whether the node runs `def`.
  bool is(const ad::OpDef& def) const { return op == &def; }
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
  /// The DAG of `loss` on `tape`, backward and updates included; throws ad::Error when the
  /// loss was not recorded on `tape` or a gradient must pass an op without a backward.
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
  /// The live backward node made for forward node `origin` running `op`, or -1.
  int backward_node(int origin, const ad::OpDef& op) const;
  /// Consumers of each value among live nodes.
  std::vector<std::vector<int>> consumers() const;
  /// Adds a line to the report.
  void note(std::string pass, std::string message) { report_lines.push_back({std::move(pass), std::move(message)}); }

  std::string dump() const;    ///< one line per node: outputs = op(inputs) [attributes]
  std::string to_dot() const;  ///< Graphviz
  std::string report() const;  ///< the passes' lines
};

}  // namespace graph
