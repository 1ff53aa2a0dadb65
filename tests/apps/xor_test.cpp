#include <doctest/doctest.h>

#include "run_app.h"

TEST_CASE("xor shows the perceptron failing, the hand-wired network and a trained MLP solving XOR") {
  AppRun run = run_app("xor");
  CAPTURE(run.output);
  REQUIRE(run.exit_code == 0);
  SUBCASE("the single perceptron says it did not converge and gets at most three of four right") {
    CHECK(contains(run.output, "did not converge"));
    CHECK((contains(run.output, "training accuracy 0.75") || contains(run.output, "training accuracy 0.50") ||
           contains(run.output, "training accuracy 0.25") || contains(run.output, "training accuracy 0.00")));
  }
  SUBCASE("the hand-wired layers compute OR and NAND, then their AND") {
    CHECK(contains(run.output,
                   "A  B | h1  h2  A XOR B\n"
                   "0  0 | 0   1      0\n"
                   "0  1 | 1   1      1\n"
                   "1  0 | 1   1      1\n"
                   "1  1 | 1   0      0\n"));
  }
  SUBCASE("the MLP's rounded outputs are XOR") {
    const size_t mlp = run.output.find("3. A multilayer perceptron");
    REQUIRE(mlp != std::string::npos);
    const std::string part = run.output.substr(mlp);
    for (const char* row : {"0  0 |    0", "0  1 |    1", "1  0 |    1", "1  1 |    0"}) CHECK(contains(part, row));
    CHECK(contains(part, "The MLP learned XOR."));
  }
}

TEST_CASE("xor's MLP learns with another seed and hidden width too") {
  AppRun run = run_app("xor", "--seed 7 --hidden 8");
  CHECK(run.exit_code == 0);
  CHECK(contains(run.output, "Dense(8, tanh)"));
  CHECK(contains(run.output, "The MLP learned XOR."));
}

TEST_CASE("xor explains itself with --help") {
  check_help_mentions("xor", {"XOR", "--hidden", "--epochs", "--lr", "--seed"});
}

TEST_CASE("xor names the option and what it accepts when a value is refused") {
  check_options_refused("xor", {
      {"--hidden 0", "--hidden: must be an integer from 1 to 10000, got '0'"},
      {"--epochs 1.5", "--epochs: must be an integer from 1 to 1000000, got '1.5'"},
      {"--lr abc", "--lr: must be a number from 0 to 10, 0 excluded, got 'abc'"},
      {"--lr inf", "--lr: must be a number from 0 to 10, 0 excluded, got 'inf'"},
      {"--seed 1e3", "--seed: must be an integer of 0 or more, got '1e3'"},
  });
}
