#!/usr/bin/env bash
# CI stage: the kill-during-save tests on their own, so that their result and time show in the
# log. Contract: every test with ctest label "kill" (tests/robustness/kill_during_save: a child
# saving a model checkpoint in a loop is SIGKILLed at random moments, 100 times; the file must
# always load and be complete, and no temporary file may remain after the next save), and the
# doctest cases of nn_tests whose names contain "killed at random", when there are any. The
# ordinary suite runs all of them too. Uses the Release build of scripts/test.sh (BUILD_DIR,
# default build/).
#   bash scripts/ci/kill.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD="${BUILD_DIR:-$ROOT/build}"
[ -x "$BUILD/tests/robustness/kill_during_save" ] || bash "$ROOT/scripts/setup.sh"
status=0
(cd "$BUILD" && ci_timed "ctest -L kill" ctest --output-on-failure --no-tests=error -L kill) || status=1
log="$(mktemp)"
ci_timed "nn_tests kill cases" "$BUILD/tests/nn_tests" --force-colors=0 -tc="*killed at random*" > "$log" 2>&1 || status=1
sed -n '/test cases:/p' "$log"
[ "$status" -eq 0 ] || cat "$log"
rm -f "$log"
exit "$status"
