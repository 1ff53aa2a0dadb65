// The one table of op cases that drives the op tests: for every op in autodiff/ops.h, in
// each of its variants (broadcasting, axes, logits or probabilities), the input shapes, the
// op itself, a plain-loop reference of its forward value and input ranges that avoid kinks.
// Adding a row tests the op everywhere the table is used (gradcheck, forward values).
//
//   for (const OpCase& c : op_cases()) { auto inputs = c.make_inputs(seed); ... }
#pragma once
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tapegrad/autodiff/ops.h"

namespace test {

struct OpCase {
  std::string name;                 // "add [3,4] + [4] (row bias)"
  std::vector<ad::Shape> shapes;    // one per differentiable input
  std::function<ad::Var(std::span<const ad::Var>)> op;                // the op's output
  std::function<ad::Tensor(const std::vector<ad::Tensor>&)> reference;  // the same in plain loops
  float low = -1, high = 1;  // inputs drawn uniformly from [low, high] ...
  bool random_sign = false;  // ... or from ±[low, high], to stay away from a kink at 0
  bool no_ties = false;      // inputs on disjoint grids: no two elements of different inputs tie

  std::vector<ad::Tensor> make_inputs(uint64_t seed) const;
};

const std::vector<OpCase>& op_cases();

}  // namespace test
