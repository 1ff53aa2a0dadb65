// remove_dead_nodes: after fusion some nodes compute values nobody reads (and a tape may hold
// ops off the loss's path). A node is dead when it writes only temporaries that no live node
// reads and that are not results (loss, prediction, gradients).
#include <fmt/format.h>

#include "tapegrad/graph/passes.h"

namespace graph {

void remove_dead_nodes(Graph& g) {
  std::vector<bool> result(g.values.size(), false);
  for (int v : {g.loss, g.prediction})
    if (v >= 0) result[static_cast<size_t>(v)] = true;
  for (int v : g.gradients)
    if (v >= 0) result[static_cast<size_t>(v)] = true;
  std::vector<int> readers(g.values.size(), 0);
  for (const Node& n : g.nodes)
    if (!n.removed)
      for (int v : n.inputs) ++readers[static_cast<size_t>(v)];
  int removed = 0;
  for (size_t i = g.nodes.size(); i-- > 0;) {
    Node& n = g.nodes[i];
    if (n.removed) continue;
    bool live = false;
    for (int v : n.outputs) {
      const Value& val = g.values[static_cast<size_t>(v)];
      live = live || val.role != Role::Temporary || result[static_cast<size_t>(v)] || readers[static_cast<size_t>(v)] > 0;
    }
    if (live) continue;
    n.removed = true;
    for (int v : n.inputs) --readers[static_cast<size_t>(v)];
    ++removed;
    g.note("remove_dead_nodes", fmt::format("{}#{}: its output is never read", n.name(), i));
  }
  g.note("remove_dead_nodes", fmt::format("{} node(s) removed", removed));
  g.compact();  // drops what the pass removed and renews the producers
}

}  // namespace graph
