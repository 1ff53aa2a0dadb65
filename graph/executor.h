/// @file
/// Executor: runs a graph. Made once per graph (and so per batch shape): it orders in-place
/// writes, plans the buffers, and creates one MatmulPlan per GEMM node with its own scratchpad;
/// run() then only points them at the step's arrays. Independent nodes (a dense layer's weight
/// gradient and input gradient; a layer's update and the backward GEMMs below it) run at the
/// same time as TBB tasks, in the same arena as oneDNN's own loops. In Auto mode the first runs
/// time the serial and the concurrent order and keep the faster. Each weight-gradient GEMM with
/// SGD folded in (graph::ops::matmul_sgd_update) has a second, separate form, a plain GEMM into
/// a gradient buffer of the executor's then ad::kernels::sgd_update: which is faster depends on
/// the processor (on AVX-512 Xeons oneDNN's GEMM with a runtime scale and a sum post-op is
/// slower than the plain one plus the update), so the next runs time both per node and keep
/// the faster (gemm_form_report()). Then, where a weight's only nodes are its layer's forward
/// GEMM, its weight-gradient GEMM and its update, it times steps with those split by the
/// weight's rows over the threads (graph/row_split.h: each thread keeps its rows, so no core
/// reads lines of W, its gradient or its slots that the other has just written) against steps
/// without, and keeps the faster (row_split_report()); a split SGD update runs folded. A run whose loss is NaN or Inf updates nothing: parameters and slots
/// keep their values, as after an eager step.
///
/// @code
/// // Given: graph::Graph g, const ad::Tensor& x, const ad::Tensor& y, const ad::Tensor& W
/// graph::Executor step(std::move(g), {.mode = graph::ExecutionMode::Auto});
/// step.bind(graph::Role::Input, 0, x);          // tensors share storage: no copy
/// step.bind(graph::Role::Target, 0, y);
/// step.bind(graph::Role::Parameter, 0, W);      // updated in place
/// step.run({.learning_rate = 0.01f});
/// float loss = step.loss();
/// @endcode
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/autodiff/kernels/matmul_plan.h"
#include "tapegrad/graph/graph.h"
#include "tapegrad/graph/plan_buffers.h"
#include "tapegrad/graph/row_split.h"

namespace graph {

/// What changes between runs of the same graph without recompiling it: the learning rate
/// (a schedule may change it per step) and Adam's step count.
using RunContext = ad::KernelContext;

/// How run() orders nodes: Serial (one after another), Parallel (independent nodes as
/// concurrent TBB tasks), or Auto (time both over the first runs, keep the faster).
enum class ExecutionMode : uint8_t { Auto, Serial, Parallel };

/// How a matmul_sgd_update node (W += -lr·op(a)·op(b)) runs: Folded (one oneDNN matmul with a
/// runtime scale of -lr and a sum post-op into W), Separate (a plain matmul into a gradient
/// buffer, then W -= lr·g with ad::kernels::sgd_update), or Auto (the forms take turns, one
/// per run, over the trial_runs of each after the order is settled: runs 2·trial_runs + 1 to
/// 4·trial_runs in Auto mode, 1 to 2·trial_runs otherwise, counting from 0; each node's best
/// time per form on its own steady clock decides its form). Both give W - lr·op(a)·op(b) up to
/// float rounding.
enum class GemmForm : uint8_t { Auto, Folded, Separate };

/// Whether weights that qualify (graph/row_split.h) run their GEMMs split by rows over the
/// threads. On (the default): they do, always, and a step with such a weight runs in serial
/// order (ExecutionMode::Auto then times no orders), so that whether a weight is split never
/// depends on a timing: the same seed gives the same weights, as in Keras (a split sums partial
/// products in another order than a whole GEMM). (The GemmForm trials of the matmul_sgd_update
/// nodes left whole still choose by timing, and the two forms round differently.) Auto: steps with and without are timed over trial_runs each,
/// after the forms are settled, against the order Auto chose, and the faster kept (a split that
/// wins makes the order serial); faster where the split loses, but two runs may then round
/// differently. Off: never. No split is made with ExecutionMode::Parallel, or with
/// GemmForm::Separate (a split folds SGD into its GEMMs).
enum class RowSplitMode : uint8_t { Auto, Off, On };

/// How an Executor runs its graph.
struct ExecutorOptions {
  ExecutionMode mode = ExecutionMode::Auto;  ///< see ExecutionMode
  int trial_runs = 3;    ///< timed runs of each order (Auto mode) and of each GemmForm before choosing
  bool profile = false;  ///< time every node (node_seconds, gemm_seconds)
  /// matmul_sgd_update nodes: Auto times both forms, Folded or Separate forces one (tests, or
  /// to skip the trials; Folded then makes no gradient buffers).
  GemmForm sgd_gemm_form = GemmForm::Auto;
  RowSplitMode row_split = RowSplitMode::On;  ///< see RowSplitMode
};

/// Arena allocations made by all executors so far: tests check it stays put in steady state.
int64_t arena_allocation_count();

/// Runs one graph many times with no allocation after the first run; not copyable. Not
/// re-entrant: one run() at a time.
class Executor {
 public:
  /// Takes the graph over, orders its in-place writes, plans its buffers and creates its GEMMs
  /// (the costly part: once per graph). Throws ad::Error for a node without a kernel.
  explicit Executor(Graph graph, ExecutorOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// The graph as the executor runs it (after its own edits).
  const Graph& graph() const { return graph_; }
  /// Points every value bound to (role, index) at `t`'s storage; shapes must have the same
  /// element count as the placeholder the graph was recorded with.
  void bind(Role role, int index, Tensor t);
  /// Has runs write value v, one of those read after a run (the loss, the prediction, a
  /// gradient), straight into t's storage instead of the arena: a caller that wants it in a
  /// tensor of its own is spared a copy per step.
  void bind_output(int v, Tensor t);
  /// One step: every node once, updates included. Throws ad::Error naming a value that was
  /// never bound, or bad data found by a kernel (a label out of range).
  void run(const RunContext& context = {});

  /// The loss of the last run; throws ad::Error when the graph has no loss or has not run.
  float loss() const;
  /// A copy of value v after the last run (for tests and predictions).
  Tensor value(int v) const;
  /// Value v's array in the last run, without a copy (valid until the next run).
  const float* data(int v) const { return pointers_[static_cast<size_t>(v)]; }

  /// The GEMM of node i, or nullptr when the node is not one.
  const ad::kernels::MatmulPlan* gemm_plan(int i) const {
    const auto& p = gemms_[static_cast<size_t>(i)];
    return p ? &*p : nullptr;
  }
  /// The plain GEMM of matmul_sgd_update node i's separate form (accumulate off, scale 1), or
  /// nullptr when node i has none (not such a node, forced Folded, or Folded chosen).
  const ad::kernels::MatmulPlan* separate_plan(int i) const;
  /// The order Auto settled on (Serial until it has decided).
  ExecutionMode chosen_mode() const { return chosen_; }
  /// Where each value lives in the arena.
  const BufferPlan& buffer_plan() const { return plan_; }
  /// Wall time of the last run().
  double last_run_seconds() const { return last_seconds_; }
  /// With `profile`: time spent in node i, and in all GEMM nodes, since the last reset.
  double node_seconds(int i) const { return static_cast<double>(node_ns_[static_cast<size_t>(i)].load()) * 1e-9; }
  /// With `profile`: time spent in all GEMM nodes since the last reset.
  double gemm_seconds() const;
  /// Zeroes the profile's clocks.
  void reset_profile();
  /// Number of completed run() calls.
  int64_t runs() const { return runs_; }
  /// Whether every matmul_sgd_update node has its form fixed (forced, or timed and chosen).
  bool gemm_forms_decided() const { return forms_decided_; }
  /// The form node i runs in from now on (GemmForm::Folded for any node that is not a
  /// matmul_sgd_update: only those have two forms).
  GemmForm gemm_form(int i) const;
  /// One line per matmul_sgd_update node: the parameter it updates, the shapes, the best time
  /// of each form in µs (per node, its own steady clock; "-" when not timed) and the form it
  /// runs in; empty when the graph has none.
  std::string gemm_form_report() const;
  /// Whether the row split is settled (forced, timed and chosen, or nothing qualifies).
  bool row_split_decided() const { return row_split_decided_; }
  /// Whether qualifying weights run split from now on (false when none qualifies).
  bool row_split_chosen() const { return row_split_on_; }
  /// The split weights' plans, or nullptr when none qualifies (or the split is forced Off).
  const RowSplit* row_split() const { return row_split_.get(); }
  /// The split weights (one line each, graph/row_split.h) and the best step time with and
  /// without the split and the choice; empty when no weight qualifies.
  std::string row_split_report() const;

 private:
  void allocate();
  void execute(int node, const RunContext& context);  ///< with the profile's clock when asked
  void execute_node(int node, const RunContext& context);
  void run_kernel(const Node& node, const RunContext& context);
  void run_serial(const RunContext& context);
  void run_parallel(const RunContext& context);
  void run_separate(int node, const RunContext& context);
  void choose_forms();
  void fold_split_forms();
  struct Chain;
  /// The two forms of one matmul_sgd_update node.
  struct FormTrial {
    int node = -1;
    std::optional<ad::kernels::MatmulPlan> plain;  ///< the separate form's GEMM (not when forced Folded)
    int64_t gradient_offset = 0;                    ///< its gradient buffer in gradients_, in floats
    double best_seconds[2] = {1e30, 1e30};          ///< Folded, Separate
    GemmForm chosen = GemmForm::Folded;
  };

  Graph graph_;
  ExecutorOptions options_;
  Schedule schedule_;
  BufferPlan plan_;
  std::vector<std::optional<ad::kernels::MatmulPlan>> gemms_;  ///< per node
  std::vector<int64_t> scratch_offsets_;                         ///< per node, in bytes
  int64_t scratch_bytes_ = 0;
  std::unique_ptr<float[], void (*)(void*)> arena_{nullptr, nullptr};
  std::unique_ptr<std::byte[], void (*)(void*)> scratch_{nullptr, nullptr};
  std::vector<float*> pointers_;
  std::vector<Tensor> bound_;  ///< keeps bound storage alive
  std::vector<int> bindable_;  ///< values with a role that bind() fills
  std::vector<bool> kept_;     ///< values read after a run: bind_output may place them
  std::unique_ptr<std::atomic<int>[]> pending_;
  std::vector<int> roots_;
  ExecutionMode chosen_ = ExecutionMode::Serial;
  double serial_best_ = 1e30, parallel_best_ = 1e30, last_seconds_ = 0;
  std::unique_ptr<std::atomic<int64_t>[]> node_ns_;  ///< per node, with `profile`
  int64_t runs_ = 0;
  bool concurrent_ = false;  ///< inside run_parallel
  int loss_node_ = -1;
  std::vector<bool> writes_leaf_;  ///< per node: updates a parameter or slot in place
  std::atomic<bool> skip_updates_{false};
  std::vector<FormTrial> forms_;
  std::vector<int> form_of_node_;  ///< per node: index into forms_, or -1
  std::unique_ptr<float[], void (*)(void*)> gradients_{nullptr, nullptr};  ///< separate forms' gradients
  int64_t gradient_floats_ = 0;
  int64_t form_trials_begin_ = 0;  ///< the first run that times the forms
  GemmForm trial_form_ = GemmForm::Auto;  ///< during a timed run: the form every node runs in
  bool forms_decided_ = true;
  std::unique_ptr<RowSplit> row_split_;  ///< null when no weight qualifies or forced Off
  bool row_split_on_ = false;      ///< the choice (or the forced value)
  bool row_split_now_ = false;     ///< during a run: whether covered nodes run split
  bool row_split_decided_ = true;
  bool order_fixed_ = false;  ///< Auto mode without order trials: serial (the row split is on)
  int64_t row_split_trials_begin_ = 0;  ///< the first run that times the split
  double row_split_best_[2] = {1e30, 1e30};  ///< whole, split: best step seconds
};

}  // namespace graph
