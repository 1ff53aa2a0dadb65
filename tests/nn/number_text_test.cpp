#include "tapegrad/nn/number_text.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

// The texts Python gives for the same doubles: repr(x), f"{x:.4f}", f"{x:.4e}".
TEST_CASE("shortest_text writes a double as Python's repr does, whole numbers with .0") {
  const std::pair<double, const char*> cases[] = {
      {0.0, "0.0"},   {1.0, "1.0"},     {-2.0, "-2.0"},   {0.1, "0.1"},       {0.0625, "0.0625"},
      {1e15, "1000000000000000.0"},     {1e16, "1e+16"},  {1e-05, "1e-05"},   {-0.5, "-0.5"},
      {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "nan"}};
  for (const auto& c : cases) {  // (clang 14 cannot capture a structured binding)
    const std::string expected = c.second;
    CAPTURE(expected);
    CHECK(nn::shortest_text(c.first) == expected);
    if (std::isfinite(c.first)) CHECK(std::stod(nn::shortest_text(c.first)) == c.first);  // reads back exactly
  }
}

TEST_CASE("fixed_text and scientific_text follow Python's f and e formats") {
  CHECK(nn::fixed_text(0.25, 5) == "0.25000");
  CHECK(nn::scientific_text(0.000123, 4) == "1.2300e-04");
}
