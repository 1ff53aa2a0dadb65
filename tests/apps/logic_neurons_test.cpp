#include <doctest/doctest.h>

#include "run_app.h"

TEST_CASE("logic_neurons prints the truth tables of identity, AND, OR, A AND NOT B and NOT") {
  AppRun run = run_app("logic_neurons");
  CAPTURE(run.output);
  REQUIRE(run.exit_code == 0);
  // Each table as the rows A B | C, checked against the logic, not against an earlier run.
  CHECK(contains(run.output, "A | C = A\n0 |   0\n1 |   1\n"));
  CHECK(contains(run.output,
                 "A  B | C = A AND B\n0  0 |      0\n0  1 |      0\n1  0 |      0\n1  1 |      1\n"));
  CHECK(contains(run.output, "A  B | C = A OR B\n0  0 |     0\n0  1 |     1\n1  0 |     1\n1  1 |     1\n"));
  CHECK(contains(run.output, "A  B | C = A AND NOT B\n0  0 |        0\n0  1 |        0\n1  0 |        1\n"
                             "1  1 |        0\n"));
  CHECK(contains(run.output, "B | C = NOT B\n0 |     1\n1 |     0\n"));
  CHECK(contains(run.output, "always on"));
}

TEST_CASE("logic_neurons shows one network with --only and refuses an unknown one") {
  AppRun one = run_app("logic_neurons", "--only or");
  CHECK(one.exit_code == 0);
  CHECK(contains(one.output, "C = A OR B"));
  CHECK_FALSE(contains(one.output, "C = A AND B"));
  AppRun unknown = run_app("logic_neurons", "--only xor");
  CHECK(unknown.exit_code != 0);
  CHECK(contains(unknown.output, "xor not in"));
}

TEST_CASE("logic_neurons explains itself with --help") {
  check_help_mentions("logic_neurons", {"McCulloch-Pitts", "--only"});
}
