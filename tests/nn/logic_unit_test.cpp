#include "tapegrad/nn/logic_unit.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <functional>

#include "tapegrad/autodiff/error.h"

namespace {

using nn::LogicUnit;

// Checks a unit against a boolean function of A and B on all four assignments.
void check_against(const LogicUnit& unit, const std::function<bool(bool, bool)>& expected) {
  for (int a : {0, 1})
    for (int b : {0, 1}) {
      CAPTURE(unit.name());
      CAPTURE(a);
      CAPTURE(b);
      CHECK(unit.fire({{"A", a}, {"B", b}}) == int(expected(a, b)));
    }
}

}  // namespace

TEST_CASE("the four McCulloch-Pitts networks compute identity, AND, OR and A AND NOT B on every input") {
  LogicUnit a = LogicUnit::input("A"), b = LogicUnit::input("B");
  struct Case {
    LogicUnit unit;
    std::function<bool(bool, bool)> expected;
  };
  const Case cases[] = {
      {LogicUnit({.excitatory = {a, a}, .name = "C = A"}), [](bool x, bool) { return x; }},
      {LogicUnit({.excitatory = {a, b}, .name = "A AND B"}), [](bool x, bool y) { return x && y; }},
      {LogicUnit({.excitatory = {a, a, b, b}, .name = "A OR B"}), [](bool x, bool y) { return x || y; }},
      {LogicUnit({.excitatory = {a, a}, .inhibitory = {b}, .name = "A AND NOT B"}),
       [](bool x, bool y) { return x && !y; }},
  };
  for (const Case& c : cases) check_against(c.unit, c.expected);
}

TEST_CASE("NOT is A AND NOT B with A always on") {
  LogicUnit b = LogicUnit::input("B");
  LogicUnit not_b({.excitatory = {LogicUnit::always_on(), LogicUnit::always_on()}, .inhibitory = {b}});
  CHECK(not_b.fire({{"B", 0}}) == 1);
  CHECK(not_b.fire({{"B", 1}}) == 0);
  CHECK(not_b.input_names() == std::vector<std::string>{"B"});
}

TEST_CASE("one active inhibitory input vetoes a unit however many excitatory inputs are active") {
  LogicUnit a = LogicUnit::input("A"), b = LogicUnit::input("B"), c = LogicUnit::input("C");
  LogicUnit unit({.excitatory = {a, a, a, b, b}, .inhibitory = {c, b}, .threshold = 1});
  CHECK(unit.fire({{"A", 1}, {"B", 0}, {"C", 0}}) == 1);
  CHECK(unit.fire({{"A", 1}, {"B", 0}, {"C", 1}}) == 0);
  CHECK(unit.fire({{"A", 1}, {"B", 1}, {"C", 0}}) == 0);  // B excites five times over, yet vetoes
}

TEST_CASE("the default threshold needs two active excitatory connections") {
  LogicUnit a = LogicUnit::input("A"), b = LogicUnit::input("B"), c = LogicUnit::input("C");
  LogicUnit two_of_three({.excitatory = {a, b, c}});
  for (int bits = 0; bits < 8; ++bits) {
    int x = bits >> 2 & 1, y = bits >> 1 & 1, z = bits & 1;
    CAPTURE(bits);
    CHECK(two_of_three.fire({{"A", x}, {"B", y}, {"C", z}}) == int(x + y + z >= 2));
  }
}

TEST_CASE("units compose into a two-layer network that computes XOR") {
  LogicUnit a = LogicUnit::input("A"), b = LogicUnit::input("B");
  LogicUnit a_or_b({.excitatory = {a, a, b, b}});
  LogicUnit a_and_b({.excitatory = {a, b}});
  LogicUnit a_xor_b({.excitatory = {a_or_b, a_or_b}, .inhibitory = {a_and_b}, .name = "A XOR B"});
  check_against(a_xor_b, [](bool x, bool y) { return x != y; });
  CHECK(a_xor_b.input_names() == std::vector<std::string>{"A", "B"});
}

TEST_CASE("a truth table lists every assignment in counting order with each unit's output") {
  LogicUnit a = LogicUnit::input("A"), b = LogicUnit::input("B");
  LogicUnit a_and_b({.excitatory = {a, b}, .name = "A AND B"});
  LogicUnit not_a({.excitatory = {LogicUnit::always_on(), LogicUnit::always_on()}, .inhibitory = {a}, .name = "NOT A"});
  nn::TruthTable table = nn::truth_table({a_and_b, not_a});
  CHECK(table.inputs == std::vector<std::string>{"A", "B"});
  CHECK(table.outputs == std::vector<std::string>{"A AND B", "NOT A"});
  const std::vector<std::vector<int>> expected = {{0, 0, 0, 1}, {0, 1, 0, 1}, {1, 0, 0, 0}, {1, 1, 1, 0}};
  CHECK(table.rows == expected);
  CHECK(nn::to_string(table) ==
        "A  B | A AND B  NOT A\n"
        "0  0 |    0       1\n"
        "0  1 |    0       1\n"
        "1  0 |    0       0\n"
        "1  1 |    1       0\n");
}

TEST_CASE("a chain of a hundred thousand units fires and is freed without deep recursion") {
  LogicUnit a = LogicUnit::input("A");
  LogicUnit last = a;
  for (int i = 0; i < 100000; ++i) last = LogicUnit({.excitatory = {last}, .threshold = 1});
  CHECK(last.fire({{"A", 1}}) == 1);
  CHECK(last.fire({{"A", 0}}) == 0);
  CHECK(last.input_names() == std::vector<std::string>{"A"});
}

TEST_CASE("logic units reject bad thresholds, missing inputs and values other than 0 and 1") {
  LogicUnit a = LogicUnit::input("A"), b = LogicUnit::input("B");
  LogicUnit a_and_b({.excitatory = {a, b}, .name = "A AND B"});
  SUBCASE("an input value of 2") {
    CHECK_THROWS_WITH_AS(a_and_b.fire({{"A", 2}, {"B", 0}}), doctest::Contains("input 'A' is 2"), ad::Error);
  }
  SUBCASE("a negative input value") {
    CHECK_THROWS_WITH_AS(a_and_b.fire({{"A", 1}, {"B", -1}}), doctest::Contains("input 'B' is -1"), ad::Error);
  }
  SUBCASE("a missing input") {
    CHECK_THROWS_WITH_AS(a_and_b.fire({{"A", 1}, {"b", 1}}),
                         doctest::Contains("'A AND B' needs input 'B', which is not given (given: A, b)"), ad::Error);
  }
  SUBCASE("a threshold no input pattern can reach") {
    CHECK_THROWS_WITH_AS(LogicUnit({.excitatory = {a}, .name = "C"}),
                         doctest::Contains("LogicUnit 'C': threshold 2 is above its 1 excitatory connections"),
                         ad::Error);
  }
  SUBCASE("a negative threshold") {
    CHECK_THROWS_WITH_AS(LogicUnit({.excitatory = {a}, .threshold = -1}), doctest::Contains("got -1"), ad::Error);
  }
  SUBCASE("an input without a name") {
    CHECK_THROWS_WITH_AS(LogicUnit::input(""), doctest::Contains("LogicUnit::input"), ad::Error);
  }
  SUBCASE("a moved-from unit as a connection") {
    LogicUnit moved = a;
    LogicUnit taken = std::move(moved);
    CHECK_THROWS_WITH_AS(LogicUnit({.excitatory = {taken, moved}}), doctest::Contains("empty (moved-from)"),
                         ad::Error);
  }
  SUBCASE("a truth table over seventeen inputs") {
    std::vector<LogicUnit> inputs;
    for (int i = 0; i < 17; ++i) inputs.push_back(LogicUnit::input(fmt::format("x{}", i)));
    LogicUnit any({.excitatory = inputs, .threshold = 1});
    CHECK_THROWS_WITH_AS(nn::truth_table({any}), doctest::Contains("17 named inputs"), ad::Error);
  }
}
