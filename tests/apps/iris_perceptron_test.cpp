#include <doctest/doctest.h>

#include "run_app.h"

TEST_CASE("iris_perceptron converges on the petals and calls a 2 cm x 0.5 cm petal setosa") {
  AppRun run = run_app("iris_perceptron");
  CAPTURE(run.output);
  REQUIRE(run.exit_code == 0);
  // Setosa's petals are shorter and narrower than every other iris's: separable, so the rule
  // must converge and then get all 150 right.
  CHECK(contains(run.output, "converged after"));
  CHECK_FALSE(contains(run.output, "did not converge"));
  CHECK(contains(run.output, "training accuracy: 1.0000 (150 of 150"));
  CHECK(contains(run.output, "petal length 2 cm, width 0.5 cm -> Iris setosa? yes"));
}

TEST_CASE("iris_perceptron says no for a virginica-sized petal") {
  AppRun run = run_app("iris_perceptron", "--length 5.5 --width 2 --seed 3");
  CHECK(run.exit_code == 0);
  CHECK(contains(run.output, "petal length 5.5 cm, width 2 cm -> Iris setosa? no"));
}

TEST_CASE("iris_perceptron names the option and what it accepts when a value is refused") {
  check_options_refused("iris_perceptron", {
      {"--eta0 -1", "--eta0: must be a number from 0 to 1000, 0 excluded, got '-1'"},
      {"--eta0 0", "--eta0: must be a number from 0 to 1000, 0 excluded, got '0'"},
      {"--eta0 1e308", "--eta0: must be a number from 0 to 1000, 0 excluded, got '1e308'"},
      {"--max-iter 0", "--max-iter: must be a positive integer, got '0'"},
      {"--length -2", "--length: must be a number from 0 to 100, got '-2'"},
      {"--width x", "--width: must be a number from 0 to 100, got 'x'"},
      {"--seed -1", "--seed: must be an integer of 0 or more, got '-1'"},
  });
}

TEST_CASE("iris_perceptron explains itself with --help") {
  check_help_mentions("iris_perceptron", {"setosa", "--length", "--width", "--eta0", "--seed"});
}
