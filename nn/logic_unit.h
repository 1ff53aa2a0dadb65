/// @file
/// LogicUnit: McCulloch and Pitts' threshold neuron of 1943. Its inputs are binary; it fires
/// when at least `threshold` of its excitatory connections are active and none of its
/// inhibitory ones is (one active inhibitory input vetoes the firing, as in the original
/// model). A unit's inputs are named inputs or other units, so units compose into networks;
/// connecting the same input twice counts it twice, which is how the classic networks reach
/// the default threshold of two.
///
/// @code
/// #include <fmt/format.h>
/// nn::LogicUnit a = nn::LogicUnit::input("A"), b = nn::LogicUnit::input("B");
/// nn::LogicUnit a_and_b({.excitatory = {a, b}, .name = "A AND B"});
/// nn::LogicUnit a_or_b({.excitatory = {a, a, b, b}, .name = "A OR B"});
/// nn::LogicUnit a_and_not_b({.excitatory = {a, a}, .inhibitory = {b}, .name = "A AND NOT B"});
/// a_and_not_b.fire({{"A", 1}, {"B", 0}});                  // 1
/// fmt::print("{}", nn::to_string(nn::truth_table({a_and_b, a_or_b})));
/// @endcode
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nn {

struct LogicUnitOptions;
/// Values of named inputs, each 0 or 1.
using LogicAssignment = std::map<std::string, int>;

/// A McCulloch–Pitts neuron (1943): it fires when at least `threshold` excitatory inputs fire
/// and no inhibitory input does. Units are cheap handles on shared, immutable nodes.
class LogicUnit {
 public:
  /// A threshold unit; throws when the threshold is negative or above the number of
  /// excitatory connections (such a unit could never fire).
  explicit LogicUnit(const LogicUnitOptions& options);
  /// A named input: it fires when the assignment gives its name 1.
  static LogicUnit input(std::string name);
  /// A unit that always fires (no inputs, threshold 0): the "A always on" of NOT B.
  static LogicUnit always_on();

  /// 1 when the unit fires for these input values, else 0. Every named input the unit
  /// depends on must be given 0 or 1; names it does not use are ignored.
  int fire(const LogicAssignment& inputs) const;
  /// fire(inputs).
  int operator()(const LogicAssignment& inputs) const { return fire(inputs); }

  /// The unit's name (an input's name, or the one given in its options).
  const std::string& name() const;
  /// Whether it is a named input rather than a threshold unit.
  bool is_input() const;
  /// The named inputs this unit depends on, in the order they are first reached (excitatory
  /// connections before inhibitory ones, depth first).
  std::vector<std::string> input_names() const;

  struct Node;

 private:
  explicit LogicUnit(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  /// Shared and immutable: a unit can feed many others, and since a unit's inputs exist
  /// before it does, a network can have no cycle.
  std::shared_ptr<const Node> node_;
};

/// A threshold unit's connections and threshold.
struct LogicUnitOptions {
  std::vector<LogicUnit> excitatory = {};  ///< inputs that count towards the threshold
  std::vector<LogicUnit> inhibitory = {};  ///< inputs any one of which, firing, silences the unit
  int threshold = 2;  ///< excitatory inputs that must fire (2 with two inputs: AND)
  std::string name = {};  ///< for truth tables and error messages; "unit" when empty
};

/// The outputs of some units for every assignment of the named inputs they depend on, rows
/// in binary counting order (all inputs 0 first, the last input changing fastest).
struct TruthTable {
  std::vector<std::string> inputs;  ///< names of the named inputs, in column order
  std::vector<std::string> outputs;  ///< names of the output units, in column order
  std::vector<std::vector<int>> rows;  ///< input values, then output values
};

/// Throws when the units depend on more than 16 named inputs (65,536 rows).
TruthTable truth_table(const std::vector<LogicUnit>& outputs);
/// Columns centred under their names, a "|" between inputs and outputs, one line per row.
std::string to_string(const TruthTable& table);

}  // namespace nn
