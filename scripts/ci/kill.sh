#!/usr/bin/env bash
# CI stage: the kill-during-save tests on their own, so that their result and time show in the
# log: a child process saving in a loop is SIGKILLed at random moments (100 times per case);
# after each kill the target must load and be complete, and no temporary file may remain once
# the next save has cleaned up. Contract: the tests are the doctest cases of nn_tests whose
# names contain "killed at random" (tests/nn/atomic_file_test.cpp); the ordinary suite runs
# them too. Uses the Release build of scripts/test.sh (BUILD_DIR, default build/).
#   bash scripts/ci/kill.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD="${BUILD_DIR:-$ROOT/build}"
[ -x "$BUILD/tests/nn_tests" ] || bash "$ROOT/scripts/setup.sh"
log="$(mktemp)"
status=0
ci_timed "kill-during-save tests" "$BUILD/tests/nn_tests" --force-colors=0 -tc="*killed at random*" > "$log" 2>&1 || status=$?
cat "$log"
# An empty match must not pass: doctest reports "test cases: 0" and exits 0 then.
ran=$(sed -n 's/^\[doctest\] test cases: *\([0-9]*\).*/\1/p' "$log" | tail -1)
rm -f "$log"
if [ "${ran:-0}" -lt 1 ]; then
  echo "kill: no test case named \"*killed at random*\" in nn_tests"
  exit 1
fi
exit "$status"
