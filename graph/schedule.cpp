#include "tapegrad/graph/schedule.h"

#include <algorithm>

namespace graph {

namespace {

void add_edge(Node& later, int earlier) {
  if (std::find(later.after.begin(), later.after.end(), earlier) == later.after.end()) later.after.push_back(earlier);
}

}  // namespace

void order_in_place_writes(Graph& g) {
  auto users = g.consumers();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].removed) continue;
    for (int out : g.nodes[i].outputs) {
      if (g.values[static_cast<size_t>(out)].role == Role::Temporary) continue;
      // Program order: a reader listed before the write reads the old value, one listed after
      // it (apply_velocity after the GEMM that wrote the velocity) the new one.
      for (int reader : users[static_cast<size_t>(out)]) {
        if (reader < static_cast<int>(i)) add_edge(g.nodes[i], reader);
        if (reader > static_cast<int>(i) && !g.nodes[static_cast<size_t>(reader)].removed)
          add_edge(g.nodes[static_cast<size_t>(reader)], static_cast<int>(i));
      }
    }
  }
}

Schedule schedule(const Graph& g) {
  size_t count = g.nodes.size(), words = (count + 63) / 64;
  Schedule s;
  s.predecessors.resize(count);
  s.successors.resize(count);
  s.ancestors.assign(count, std::vector<uint64_t>(words, 0));
  for (size_t j = 0; j < count; ++j) {
    const Node& n = g.nodes[j];
    auto& pred = s.predecessors[j];
    for (int in : n.inputs) {
      int p = g.values[static_cast<size_t>(in)].producer;
      if (p >= 0) pred.push_back(p);
    }
    pred.insert(pred.end(), n.after.begin(), n.after.end());
    std::sort(pred.begin(), pred.end());
    pred.erase(std::unique(pred.begin(), pred.end()), pred.end());
    for (int p : pred) {
      TG_CHECK(p < static_cast<int>(j), "schedule: node {} ({}) must run after node {} ({}), which comes later", j,
               n.name(), p, g.nodes[static_cast<size_t>(p)].name());
      s.successors[static_cast<size_t>(p)].push_back(static_cast<int>(j));
      auto& a = s.ancestors[j];
      const auto& b = s.ancestors[static_cast<size_t>(p)];
      for (size_t w = 0; w < words; ++w) a[w] |= b[w];
      a[static_cast<size_t>(p) / 64] |= uint64_t{1} << (static_cast<size_t>(p) % 64);
    }
  }
  return s;
}

}  // namespace graph
