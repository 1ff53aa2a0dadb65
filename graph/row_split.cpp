#include "tapegrad/graph/row_split.h"

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>

#include "tapegrad/autodiff/error.h"
#include "tapegrad/autodiff/kernels/vector_math.h"
#include "tapegrad/autodiff/op_defs.h"
#include "tapegrad/autodiff/threading.h"
#include "tapegrad/graph/fused_ops.h"

namespace graph {

using ad::kernels::Activation;
using ad::kernels::MatmulPlan;
using ad::kernels::MatmulSpec;

// How a covered node runs on its block of rows.
enum class RowSplit::PartKind : uint8_t {
  Forward,     ///< fused_dense: partial products over W's rows, summed and activated after
  RowsGemm,    ///< a GEMM whose output has W's rows (weight gradient, folded update): its rows
  Elementwise  ///< an in-place update op over W-shaped arrays: its kernel on the block's elements
};

struct RowSplit::SplitNode {
  int node = -1;
  PartKind kind = PartKind::RowsGemm;
  Activation activation = Activation::None;  ///< Forward
  int64_t m = 0, k = 0, n = 0;  ///< Forward: x [m,k], W [k,n]; others: the output [k,n]
  MatmulSpec spec;  ///< RowsGemm: the node's whole GEMM (its scale, accumulate)
  std::vector<int64_t> row_begin;  ///< per part, and the end as the last entry
  std::vector<MatmulPlan> parts;   ///< Forward and RowsGemm
  std::vector<std::unique_ptr<std::byte[], void (*)(void*)>> scratch;  ///< per part
  /// Forward: the partial products of parts 1.. (part 0 writes the output itself)
  std::unique_ptr<float[], void (*)(void*)> partials{nullptr, &std::free};
  /// Elementwise: the shapes of its chunks, [kChunk] and each part's last
  std::vector<Shape> chunk_shapes;
};

namespace {

template <typename T>
std::unique_ptr<T[], void (*)(void*)> aligned(size_t bytes) {
  auto* p = static_cast<T*>(std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64));
  TG_CHECK(p != nullptr, "RowSplit: cannot allocate {} bytes", bytes);
  return {p, &std::free};
}

// Calls part(t) once for each t in [0, parts), on TBB's threads, part t on the thread in arena
// slot t whenever that thread takes one of the tasks (one task per thread, static partitioner):
// so a block of rows stays with one core from step to step. Every task claims one part, its own
// slot's if free, else the first free one, so each part runs exactly once whoever runs the tasks.
template <typename F>
void run_parts_by_slot(int parts, F&& part) {
  std::atomic<uint32_t> claimed{0};
  ad::ComputeContext context;  // carries the step's flush-to-zero flags to the worker
  tbb::parallel_for(
      0, parts, 1,
      [&](int) {
        int slot = tbb::this_task_arena::current_thread_index();
        auto take = [&](int t) { return (claimed.fetch_or(1u << t) & (1u << t)) == 0; };
        int t = slot >= 0 && slot < parts && take(slot) ? slot : -1;
        for (int k = 0; t < 0 && k < parts; ++k)
          if (take(k)) t = k;
        // Isolated: while a part waits inside oneDNN, its thread must not take the other part's
        // work (nor re-enter its own oneDNN stream through a stolen task).
        if (t >= 0) tbb::this_task_arena::isolate([&] { part(t); });
      },
      tbb::static_partitioner(), context.get());
}

// y = activation(y + the other parts' partial products), in place.
void sum_and_activate(float* y, const float* partials, int extra_parts, int64_t size, Activation a) {
  ad::parallel_range(size, [&](int64_t lo, int64_t hi) {
    for (int p = 0; p < extra_parts; ++p) {
      const float* q = partials + p * size;
      for (int64_t i = lo; i < hi; ++i) y[i] += q[i];
    }
    float* v = y + lo;
    int64_t len = hi - lo;
    switch (a) {
      case Activation::Relu:
        for (int64_t i = 0; i < len; ++i) v[i] = v[i] <= 0 ? 0.f : v[i];  // NaN stays NaN
        break;
      case Activation::Sigmoid: ad::kernels::sigmoid_values(v, v, len); break;
      case Activation::Tanh: ad::kernels::tanh_values(v, v, len); break;
      case Activation::Softplus: ad::kernels::softplus_values(v, v, len); break;
      case Activation::None: break;
    }
  });
}

bool is_matrix(const Shape& s) { return s.size() == 2; }

// Element-wise kernels run in chunks of kChunk elements, each under a SerialScope so that it
// stays on the part's thread instead of spreading over the others.
constexpr int64_t kChunk = ad::kParallelThreshold / 2;

bool is_update_op(const Node& n) {
  return n.is(ops::sgd_update) || n.is(ops::momentum_update) || n.is(ops::adam_update) || n.is(ops::rmsprop_update);
}

// A weight-gradient GEMM over the batch: op(a) = xᵀ with x [m,k] as stored, b [m,n].
bool is_rows_gemm(const Graph& g, const Node& n, int64_t rows) {
  auto spec = gemm_spec(*n.op, n.attrs, g.values[static_cast<size_t>(n.inputs[0])].shape,
                        g.values[static_cast<size_t>(n.outputs[0])].shape);
  return spec && (n.is(ad::defs::matmul) || n.is(ops::matmul_sgd_update) || n.is(ops::matmul_momentum_update)) &&
         spec->trans_a && !spec->trans_b && !spec->bias && spec->activation == Activation::None && spec->m == rows;
}

}  // namespace

RowSplit::RowSplit(const Graph& g, int threads) : graph_(g), threads_(std::min(threads, 32)) {
  index_of_node_.assign(g.nodes.size(), -1);
  if (threads_ < 2) return;
  std::vector<std::vector<int>> touching(g.values.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    // Each node once per value, though an in-place update lists its arrays as input and output.
    auto touch = [&](int v) {
      auto& t = touching[static_cast<size_t>(v)];
      if (t.empty() || t.back() != static_cast<int>(i)) t.push_back(static_cast<int>(i));
    };
    for (int v : g.nodes[i].inputs) touch(v);
    for (int v : g.nodes[i].outputs) touch(v);
  }
  for (int w : g.parameters) {
    const Value& weight = g.values[static_cast<size_t>(w)];
    if (!is_matrix(weight.shape) || weight.shape[0] < kMinRows) continue;
    std::vector<std::pair<int, PartKind>> covered;
    if (!qualifies(g, touching, w, covered)) continue;
    std::string names;
    for (auto [i, kind] : covered) {
      add_node(g, i, kind, weight.shape);
      names += fmt::format("{}{}#{}", names.empty() ? "" : ", ", g.nodes[static_cast<size_t>(i)].name(), i);
    }
    weights_.push_back(fmt::format("{} {}: rows split over {} threads: {}", weight.name, ad::to_string(weight.shape),
                                   threads_, names));
  }
}

// W qualifies when the nodes touching it (and its gradient, velocity or slots) are exactly:
// one fused_dense reading it as its weights, and one of
// - a matmul_sgd_update writing it (plain SGD folded into the GEMM);
// - an apply_velocity adding V, which a matmul_momentum_update writes and nothing else touches;
// - an update op (sgd, momentum, adam, rmsprop) whose gradient comes from a weight-gradient
//   GEMM and is read by nothing else, and whose slots nothing else touches.
bool RowSplit::qualifies(const Graph& g, const std::vector<std::vector<int>>& touching, int w,
                         std::vector<std::pair<int, PartKind>>& covered) {
  const Value& weight = g.values[static_cast<size_t>(w)];
  const int64_t k = weight.shape[0];
  auto only = [&](int v, std::initializer_list<int> nodes) {
    const auto& t = touching[static_cast<size_t>(v)];
    if (t.size() != nodes.size()) return false;
    for (int i : t)
      if (std::find(nodes.begin(), nodes.end(), i) == nodes.end()) return false;
    return true;
  };
  auto same_shape = [&](int v) { return g.values[static_cast<size_t>(v)].shape == weight.shape; };
  int forward = -1, writer = -1;
  for (int i : touching[static_cast<size_t>(w)]) {
    const Node& n = g.nodes[static_cast<size_t>(i)];
    const Shape& x = g.values[static_cast<size_t>(n.inputs[0])].shape;
    if (n.is(ops::fused_dense) && n.inputs[1] == w && n.inputs[0] != w && is_matrix(x) && x[1] == k && forward < 0) {
      forward = i;
    } else if (writer < 0 && n.outputs[0] == w) {
      writer = i;
    } else {
      return false;
    }
  }
  if (forward < 0 || writer < 0) return false;
  const Node& u = g.nodes[static_cast<size_t>(writer)];
  covered = {{forward, PartKind::Forward}};
  if (u.is(ops::matmul_sgd_update)) {
    if (!is_rows_gemm(g, u, k) || u.inputs[1] == w) return false;
    covered.push_back({writer, PartKind::RowsGemm});
    return true;
  }
  if (u.is(ops::apply_velocity)) {
    // apply_velocity(W, V); V is a slot, written in place by its momentum GEMM.
    int v = u.inputs[1];
    if (u.inputs[0] != w || !same_shape(v)) return false;
    int gemm = -1;
    for (int i : touching[static_cast<size_t>(v)])
      if (g.nodes[static_cast<size_t>(i)].is(ops::matmul_momentum_update)) gemm = i;
    if (gemm < 0 || !only(v, {gemm, writer}) || !is_rows_gemm(g, g.nodes[static_cast<size_t>(gemm)], k)) return false;
    covered.push_back({gemm, PartKind::RowsGemm});
    covered.push_back({writer, PartKind::Elementwise});
    return true;
  }
  if (!is_update_op(u) || u.inputs[0] != w || u.inputs.size() < 2) return false;
  int grad = u.inputs[1];
  int gemm = g.values[static_cast<size_t>(grad)].producer;
  if (gemm < 0 || !same_shape(grad) || !only(grad, {gemm, writer})) return false;
  const Node& gn = g.nodes[static_cast<size_t>(gemm)];
  if (!gn.is(ad::defs::matmul) || !is_rows_gemm(g, gn, k)) return false;
  for (size_t s = 2; s < u.inputs.size(); ++s)
    if (!same_shape(u.inputs[s]) || !only(u.inputs[s], {writer})) return false;
  covered.push_back({gemm, PartKind::RowsGemm});
  covered.push_back({writer, PartKind::Elementwise});
  return true;
}

void RowSplit::add_node(const Graph& g, int i, PartKind kind, const Shape& weight) {
  const Node& node = g.nodes[static_cast<size_t>(i)];
  auto split = std::make_unique<SplitNode>();
  split->node = i;
  split->kind = kind;
  split->k = weight[0];
  split->n = weight[1];
  const int64_t k = split->k, n = split->n;
  for (int t = 0; t <= threads_; ++t) split->row_begin.push_back(k * t / threads_);
  auto rows_of = [&](int t) { return split->row_begin[static_cast<size_t>(t) + 1] - split->row_begin[static_cast<size_t>(t)]; };
  if (kind == PartKind::Forward) {
    split->m = g.values[static_cast<size_t>(node.inputs[0])].shape[0];
    split->activation = ad::attrs_as<FusedDenseAttrs>(node.attrs, "fused_dense").activation;
    split->partials = aligned<float>(static_cast<size_t>((threads_ - 1) * split->m * n) * sizeof(float));
  } else if (kind == PartKind::RowsGemm) {
    split->spec = *gemm_spec(*node.op, node.attrs, g.values[static_cast<size_t>(node.inputs[0])].shape,
                             g.values[static_cast<size_t>(node.outputs[0])].shape);
    split->m = split->spec.k;  // the batch
  } else {
    split->chunk_shapes.push_back(Shape{kChunk});
    for (int t = 0; t < threads_; ++t) split->chunk_shapes.push_back(Shape{rows_of(t) * n % kChunk});
  }
  if (kind != PartKind::Elementwise) {
    // Plans made inside a one-thread arena are single-threaded primitives: oneDNN fixes the
    // thread count when it makes one.
    tbb::task_arena one(1);
    one.execute([&] {
      for (int t = 0; t < threads_; ++t) {
        MatmulSpec s = split->spec;
        if (kind == PartKind::Forward) {
          s = MatmulSpec{.m = split->m, .k = rows_of(t), .n = n, .bias = t == 0, .lda = k};
        } else {
          s.m = rows_of(t);
          s.lda = k;
        }
        split->parts.emplace_back(s);
        split->scratch.push_back(aligned<std::byte>(split->parts.back().scratchpad_bytes()));
      }
    });
  }
  index_of_node_[static_cast<size_t>(i)] = static_cast<int>(nodes_.size());
  nodes_.push_back(std::move(split));
}

RowSplit::~RowSplit() = default;

bool RowSplit::covers(int node) const {
  return node >= 0 && node < static_cast<int>(index_of_node_.size()) && index_of_node_[static_cast<size_t>(node)] >= 0;
}

void RowSplit::run(int node, std::span<float* const> pointers, const ad::KernelContext& context) {
  SplitNode& s = *nodes_[static_cast<size_t>(index_of_node_[static_cast<size_t>(node)])];
  const Node& n = graph_.nodes[static_cast<size_t>(node)];
  ++node_runs_;
  auto ptr = [&](int v) { return pointers[static_cast<size_t>(v)]; };
  switch (s.kind) {
    case PartKind::Forward: {
      const float *x = ptr(n.inputs[0]), *w = ptr(n.inputs[1]), *bias = ptr(n.inputs[2]);
      float* y = ptr(n.outputs[0]);
      run_parts_by_slot(threads_, [&](int t) {
        int64_t r0 = s.row_begin[static_cast<size_t>(t)];
        float* out = t == 0 ? y : s.partials.get() + (t - 1) * s.m * s.n;
        s.parts[static_cast<size_t>(t)].run(x + r0, w + r0 * s.n, out, t == 0 ? bias : nullptr,
                                            s.scratch[static_cast<size_t>(t)].get());
      });
      return sum_and_activate(y, s.partials.get(), threads_ - 1, s.m * s.n, s.activation);
    }
    case PartKind::RowsGemm: {
      const float *a = ptr(n.inputs[0]), *b = ptr(n.inputs[1]);
      float* c = ptr(n.outputs[0]);
      float scale = s.spec.accumulate ? s.spec.scale * context.learning_rate : s.spec.scale;  // as the executor's
      run_parts_by_slot(threads_, [&](int t) {
        int64_t r0 = s.row_begin[static_cast<size_t>(t)];
        s.parts[static_cast<size_t>(t)].run(a + r0, b, c + r0 * s.n, nullptr, s.scratch[static_cast<size_t>(t)].get(), scale);
      });
      return;
    }
    case PartKind::Elementwise:
      run_parts_by_slot(threads_, [&](int t) {
        ad::SerialScope serial;
        int64_t begin = s.row_begin[static_cast<size_t>(t)] * s.n, end = s.row_begin[static_cast<size_t>(t) + 1] * s.n;
        std::array<ad::View, 8> in{}, out{};
        for (int64_t c = begin; c < end; c += kChunk) {
          int64_t size = std::min(kChunk, end - c);
          const Shape* shape = size == kChunk ? &s.chunk_shapes[0] : &s.chunk_shapes[static_cast<size_t>(t) + 1];
          for (size_t k = 0; k < n.inputs.size(); ++k) in[k] = {ptr(n.inputs[k]) + c, shape, size};
          for (size_t k = 0; k < n.outputs.size(); ++k) out[k] = {ptr(n.outputs[k]) + c, shape, size};
          n.op->forward({std::span(in.data(), n.inputs.size()), std::span(out.data(), n.outputs.size()), n.attrs, context});
        }
      });
      return;
  }
}

std::string RowSplit::report() const {
  std::string out;
  for (const std::string& line : weights_) out += line + "\n";
  return out;
}

}  // namespace graph
