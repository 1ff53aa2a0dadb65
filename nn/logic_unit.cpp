#include "tapegrad/nn/logic_unit.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "tapegrad/autodiff/error.h"

namespace nn {

struct LogicUnit::Node {
  std::string name;
  bool is_input = false;
  int threshold = 0;
  std::vector<std::shared_ptr<const Node>> excitatory, inhibitory;
  ~Node();
};

namespace {

using NodePtr = std::shared_ptr<const LogicUnit::Node>;

// Visits every unit reachable from `root` once, inputs before the units they feed. Written
// without recursion so that a deep chain of units cannot overflow the stack.
template <typename Visit>
void visit_inputs_first(const NodePtr& root, Visit&& visit) {
  std::unordered_set<const LogicUnit::Node*> done;
  std::vector<std::pair<const LogicUnit::Node*, bool>> stack{{root.get(), false}};
  while (!stack.empty()) {
    auto [node, expanded] = stack.back();
    stack.pop_back();
    if (done.count(node)) continue;
    if (expanded) {
      done.insert(node);
      visit(*node);
      continue;
    }
    stack.push_back({node, true});
    for (const auto& list : {&node->inhibitory, &node->excitatory})
      for (auto it = list->rbegin(); it != list->rend(); ++it)
        if (!done.count(it->get())) stack.push_back({it->get(), false});
  }
}

std::string given_names(const LogicAssignment& inputs) {
  std::vector<std::string> names;
  for (const auto& [name, value] : inputs) names.push_back(name);
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

// The default destructor would free a chain of units recursively, one stack frame per unit;
// this one takes over the inputs it alone owns and frees them in a loop instead.
LogicUnit::Node::~Node() {
  std::vector<NodePtr> pending;
  auto take_inputs = [&](std::vector<NodePtr>& inputs) {
    for (NodePtr& input : inputs) pending.push_back(std::move(input));
    inputs.clear();
  };
  take_inputs(excitatory);
  take_inputs(inhibitory);
  while (!pending.empty()) {
    NodePtr node = std::move(pending.back());
    pending.pop_back();
    if (node.use_count() == 1) {
      // Made non-const by make_shared, so changing it here is allowed.
      auto& owned = const_cast<Node&>(*node);
      take_inputs(owned.excitatory);
      take_inputs(owned.inhibitory);
    }
  }
}

LogicUnit::LogicUnit(const LogicUnitOptions& options) {
  auto node = std::make_shared<Node>();
  node->name = options.name.empty() ? "unit" : options.name;
  node->threshold = options.threshold;
  const auto excitatory = static_cast<int>(options.excitatory.size());
  TG_CHECK(options.threshold >= 0, "LogicUnit '{}': the threshold must be 0 or more, got {}", node->name,
           options.threshold);
  TG_CHECK(options.threshold <= excitatory,
           "LogicUnit '{}': threshold {} is above its {} excitatory connections, so it could never fire "
           "(connect an input twice to count it twice)",
           node->name, options.threshold, excitatory);
  for (const auto& [list, kind] : {std::pair{&options.excitatory, "excitatory"}, {&options.inhibitory, "inhibitory"}})
    for (const LogicUnit& unit : *list) {
      TG_CHECK(unit.node_ != nullptr, "LogicUnit '{}': an {} connection is an empty (moved-from) unit", node->name,
               kind);
      (list == &options.excitatory ? node->excitatory : node->inhibitory).push_back(unit.node_);
    }
  node_ = std::move(node);
}

LogicUnit LogicUnit::input(std::string name) {
  TG_CHECK(!name.empty(), "LogicUnit::input: an input needs a name");
  auto node = std::make_shared<Node>();
  node->name = std::move(name);
  node->is_input = true;
  return LogicUnit(std::shared_ptr<const Node>(std::move(node)));
}

LogicUnit LogicUnit::always_on() { return LogicUnit({.threshold = 0, .name = "always on"}); }

const std::string& LogicUnit::name() const {
  TG_CHECK(node_ != nullptr, "LogicUnit::name: the unit is empty (moved-from)");
  return node_->name;
}

bool LogicUnit::is_input() const { return node_ && node_->is_input; }

int LogicUnit::fire(const LogicAssignment& inputs) const {
  TG_CHECK(node_ != nullptr, "LogicUnit::fire: the unit is empty (moved-from)");
  for (const auto& [name, value] : inputs)
    TG_CHECK(value == 0 || value == 1, "LogicUnit::fire: input '{}' is {}, but McCulloch-Pitts inputs are 0 or 1",
             name, value);
  std::unordered_map<const Node*, int> output;
  visit_inputs_first(node_, [&](const Node& node) {
    if (node.is_input) {
      auto it = inputs.find(node.name);
      TG_CHECK(it != inputs.end(), "LogicUnit::fire: '{}' needs input '{}', which is not given (given: {})",
               node_->name, node.name, given_names(inputs));
      output[&node] = it->second;
      return;
    }
    bool vetoed = std::any_of(node.inhibitory.begin(), node.inhibitory.end(),
                              [&](const NodePtr& source) { return output.at(source.get()) == 1; });
    auto active = std::count_if(node.excitatory.begin(), node.excitatory.end(),
                                [&](const NodePtr& source) { return output.at(source.get()) == 1; });
    output[&node] = !vetoed && active >= node.threshold;
  });
  return output.at(node_.get());
}

std::vector<std::string> LogicUnit::input_names() const {
  TG_CHECK(node_ != nullptr, "LogicUnit::input_names: the unit is empty (moved-from)");
  std::vector<std::string> names;
  visit_inputs_first(node_, [&](const Node& node) {
    if (node.is_input && std::find(names.begin(), names.end(), node.name) == names.end()) names.push_back(node.name);
  });
  return names;
}

TruthTable truth_table(const std::vector<LogicUnit>& outputs) {
  TG_CHECK(!outputs.empty(), "truth_table: no units given");
  TruthTable table;
  for (const LogicUnit& unit : outputs) {
    for (const std::string& name : unit.input_names())
      if (std::find(table.inputs.begin(), table.inputs.end(), name) == table.inputs.end())
        table.inputs.push_back(name);
    table.outputs.push_back(unit.name());
  }
  const auto count = table.inputs.size();
  TG_CHECK(count <= 16, "truth_table: the units depend on {} named inputs ({}), more than the 16 a table can list",
           count, fmt::join(table.inputs, ", "));
  for (uint32_t bits = 0; bits < (1u << count); ++bits) {
    LogicAssignment assignment;
    std::vector<int> row;
    for (size_t i = 0; i < count; ++i) {
      int value = (bits >> (count - 1 - i)) & 1;
      assignment[table.inputs[i]] = value;
      row.push_back(value);
    }
    for (const LogicUnit& unit : outputs) row.push_back(unit.fire(assignment));
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string to_string(const TruthTable& table) {
  std::vector<std::string> header = table.inputs;
  header.insert(header.end(), table.outputs.begin(), table.outputs.end());
  auto line = [&](auto cell) {
    std::string text;
    for (size_t column = 0; column < header.size(); ++column) {
      if (column > 0) text += column == table.inputs.size() ? " | " : "  ";
      text += fmt::format("{:^{}}", cell(column), header[column].size());
    }
    text.erase(text.find_last_not_of(' ') + 1);  // centring pads the last column
    return text + "\n";
  };
  std::string text = line([&](size_t column) { return header[column]; });
  for (const auto& row : table.rows) text += line([&](size_t column) { return std::to_string(row[column]); });
  return text;
}

}  // namespace nn
