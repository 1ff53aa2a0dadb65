#include "tapegrad/graph/plan_buffers.h"

#include <algorithm>

#include "tapegrad/autodiff/op_defs.h"

namespace graph {

namespace {

constexpr int64_t kAlignFloats = 16;  // 64 bytes
int64_t aligned(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// The input whose buffer an element-wise node may write its first output over: the incoming
// gradient of an activation's backward (dz = dy * f'(y) reads dy[i] only to write dz[i]). In
// place, the write lands on lines the node has just read, instead of a fresh stream.
int in_place_input(const Node& n) {
  bool elementwise = (n.is(ops::activation_bias_grad) &&
                      ad::attrs_as<ActivationBiasGradAttrs>(n.attrs, n.name()).activation != ad::kernels::Activation::None) ||
                     n.is(ad::defs::relu_grad) || n.is(ad::defs::sigmoid_grad) || n.is(ad::defs::tanh_grad) ||
                     n.is(ad::defs::softplus_grad);
  if (!elementwise || n.inputs.size() != 2 || n.inputs[0] == n.inputs[1]) return -1;
  return n.inputs[1];
}

}  // namespace

BufferPlan plan_buffers(const Graph& g, const Schedule& s, const std::vector<int>& keep) {
  size_t count = g.values.size();
  BufferPlan plan;
  plan.offsets.assign(count, -1);
  // Every node that reads or writes each temporary value.
  std::vector<std::vector<int>> touch(count);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int v : g.nodes[i].inputs) touch[static_cast<size_t>(v)].push_back(static_cast<int>(i));
    for (int v : g.nodes[i].outputs) touch[static_cast<size_t>(v)].push_back(static_cast<int>(i));
  }
  std::vector<bool> kept(count, false);
  for (int v : keep)
    if (v >= 0) kept[static_cast<size_t>(v)] = true;
  std::vector<int> order;
  for (size_t v = 0; v < count; ++v)
    if (g.values[v].role == Role::Temporary && !touch[v].empty() && g.values[v].producer >= 0)
      order.push_back(static_cast<int>(v));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return g.values[static_cast<size_t>(a)].producer < g.values[static_cast<size_t>(b)].producer;
  });
  std::vector<int> placed;
  for (int v : order) {
    int64_t size = aligned(std::max<int64_t>(g.values[static_cast<size_t>(v)].size(), 1));
    plan.unshared_floats += size;
    int writer = g.values[static_cast<size_t>(v)].producer;
    const Node& w = g.nodes[static_cast<size_t>(writer)];
    // v may take over the in-place input's buffer when its writer is that input's last user.
    int source = w.outputs[0] == v ? in_place_input(w) : -1;
    if (source >= 0 && (plan.offsets[static_cast<size_t>(source)] < 0 || g.values[static_cast<size_t>(source)].size() != g.values[static_cast<size_t>(v)].size()))
      source = -1;
    // Placed values whose memory v may not share: kept ones, and those some node may still touch.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int u : placed) {
      bool done = !kept[static_cast<size_t>(u)] && !kept[static_cast<size_t>(v)];
      for (int node : touch[static_cast<size_t>(u)]) done = done && (s.before(node, writer) || (u == source && node == writer));
      if (!done) {
        int64_t o = plan.offsets[static_cast<size_t>(u)];
        busy.push_back({o, o + aligned(std::max<int64_t>(g.values[static_cast<size_t>(u)].size(), 1))});
      }
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + size <= lo) break;
      offset = std::max(offset, hi);
    }
    if (source >= 0) {
      int64_t o = plan.offsets[static_cast<size_t>(source)];
      bool free = std::none_of(busy.begin(), busy.end(), [&](auto r) { return r.first < o + size && o < r.second; });
      if (free) offset = o;
    }
    plan.offsets[static_cast<size_t>(v)] = offset;
    plan.floats = std::max(plan.floats, offset + size);
    placed.push_back(v);
  }
  return plan;
}

}  // namespace graph
