/// @file
/// Row-split weights: the executor's way to keep each part of a weight on one core. A weight W
/// [K,N] is updated in place every step and read again by the next step's forward GEMM; when
/// oneDNN splits the update's output and the forward's input between the threads differently,
/// each thread reads lines of W the other has just written, and on some processors (measured on
/// an AVX-512 Xeon, 2 threads, the Fashion MNIST model's first layer at batch 32) that costs
/// half as much again as the two GEMMs themselves. Here each of T threads owns a block of W's
/// rows, W[K_t,:], and runs single-threaded GEMMs on it alone (plans made in a one-thread arena,
/// run isolated), the same block on the same TBB thread slot each step (when the threads fill
/// the arena's slots, as with ad::set_num_threads at its default or the core count):
/// - forward (fused_dense): the partial product x[:,K_t]·W[K_t,:] (block 0 adds the bias); the
///   blocks are then summed and activated;
/// - the weight-gradient GEMM, whatever it writes: W[K_t,:] += -lr·x[:,K_t]ᵀ·dZ (SGD folded in),
///   V[K_t,:] = μ·V[K_t,:] - lr·x[:,K_t]ᵀ·dZ (momentum folded in), or the gradient's rows;
/// - the element-wise update that follows (apply_velocity, or the optimizer's update op: SGD,
///   momentum, Nesterov, Adam, RMSprop), on the same rows of the weight, gradient and slots.
///
/// The gradient and the optimizer's slots then never leave the core that owns their rows
/// either. A weight qualifies when those are the only nodes that touch it, its gradient and its
/// slots, and it has at least kMinRows rows. The executor times steps with and without the split
/// and keeps the faster (graph/executor.h).
///
/// @code
/// // Given: const graph::Graph& g, int threads
/// graph::RowSplit split(g, threads);
/// bool any = !split.empty();            // some weight qualifies
/// std::string text = split.report();    // one line per split weight
/// @endcode
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/autodiff/kernels/matmul_plan.h"
#include "tapegrad/graph/graph.h"

namespace graph {

/// The row-split GEMMs of a graph; made once per executor. Not re-entrant: one run at a time.
class RowSplit {
 public:
  /// Weights with fewer rows are left whole: their GEMMs are too small to gain.
  static constexpr int64_t kMinRows = 256;

  /// Finds the qualifying weights of `g` and makes `threads` single-threaded GEMM plans per
  /// node (none when threads < 2).
  RowSplit(const Graph& g, int threads);
  ~RowSplit();
  RowSplit(const RowSplit&) = delete;
  RowSplit& operator=(const RowSplit&) = delete;

  /// Whether no weight qualified.
  bool empty() const { return nodes_.empty(); }
  /// Whether node i runs split.
  bool covers(int node) const;
  /// Runs node i (covered) split, its values at `pointers` (the executor's, per value), with the
  /// step's learning rate for the update.
  void run(int node, std::span<float* const> pointers, const ad::KernelContext& context);
  /// One line per split weight: its name, shape, the thread count and the nodes split; empty
  /// when none.
  std::string report() const;
  /// Nodes run split so far (tests check the split path runs when chosen).
  int64_t node_runs() const { return node_runs_; }

 private:
  struct SplitNode;
  enum class PartKind : uint8_t;
  bool qualifies(const Graph& g, const std::vector<std::vector<int>>& touching, int w,
                 std::vector<std::pair<int, PartKind>>& covered);
  void add_node(const Graph& g, int i, PartKind kind, const Shape& weight);
  const Graph& graph_;
  int threads_ = 0;
  std::vector<std::unique_ptr<SplitNode>> nodes_;
  std::vector<int> index_of_node_;  ///< per graph node: index into nodes_, or -1
  std::vector<std::string> weights_;  ///< report lines
  int64_t node_runs_ = 0;
};

}  // namespace graph
