// logic_neurons: McCulloch and Pitts' four networks (identity, AND, OR, A AND NOT B) with
// their truth tables, and NOT built from A AND NOT B with A always on.
//
//   ./logic_neurons            all five
//   ./logic_neurons --only or  one of them
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <map>
#include <string>

#include "tapegrad/nn/logic_unit.h"

int main(int argc, char** argv) {
  CLI::App app{"McCulloch-Pitts threshold neurons: identity, AND, OR, A AND NOT B and NOT, with truth tables"};
  std::string only;
  app.add_option("--only", only, "Show one network only")
      ->check(CLI::IsMember({"identity", "and", "or", "and-not", "not"}));
  CLI11_PARSE(app, argc, argv);

  using nn::LogicUnit;
  const LogicUnit a = LogicUnit::input("A"), b = LogicUnit::input("B");
  // Every unit fires on two active excitatory connections, so an input that should fire it
  // alone connects twice (the figures of the 1943 paper draw these as double arrows).
  struct Network {
    const char* key;
    const char* wiring;
    LogicUnit unit;
  };
  const Network networks[] = {
      {"identity", "A connects twice, so A alone reaches the threshold",
       LogicUnit({.excitatory = {a, a}, .name = "C = A"})},
      {"and", "A and B connect once each: both must fire",
       LogicUnit({.excitatory = {a, b}, .name = "C = A AND B"})},
      {"or", "A and B connect twice each: either suffices",
       LogicUnit({.excitatory = {a, a, b, b}, .name = "C = A OR B"})},
      {"and-not", "A connects twice, B inhibits: B vetoes A",
       LogicUnit({.excitatory = {a, a}, .inhibitory = {b}, .name = "C = A AND NOT B"})},
      {"not", "A AND NOT B with A always on: only B can stop it",
       LogicUnit({.excitatory = {LogicUnit::always_on(), LogicUnit::always_on()}, .inhibitory = {b},
                  .name = "C = NOT B"})},
  };

  if (only.empty())
    fmt::print(
        "McCulloch-Pitts neurons (1943): inputs are 0 or 1; a neuron fires when at least two of its\n"
        "excitatory connections are active and none of its inhibitory connections is.\n\n");
  for (const Network& network : networks) {
    if (!only.empty() && only != network.key) continue;
    fmt::print("{} ({})\n{}\n", network.unit.name(), network.wiring, nn::to_string(nn::truth_table({network.unit})));
  }
  return 0;
}
