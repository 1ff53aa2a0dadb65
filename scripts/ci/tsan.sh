#!/usr/bin/env bash
# CI stage: ThreadSanitizer for the graph and executor tests, where the toolchain allows it.
# First a probe (tsan_probe.cpp): a race-free program of TBB tasks built with -fsanitize=thread.
# With Debian's TBB, which is not built with TSan, the probe draws false race reports (TSan
# cannot see TBB's internal hand-over of tasks), and so would every executor run: the stage
# then says so and stops without failing; races are covered as the README describes. Given a
# TBB built with TSan (TBB_ROOT=<its prefix>), the probe is clean and the stage builds the
# graph tests under TSan (build-tsan/) and runs them.
#   bash scripts/ci/tsan.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ci_install_deps "${CLANG_PACKAGES[@]}"
mkdir -p "$ROOT/build-tsan"
tbb_flags=(-ltbb)
[ -n "${TBB_ROOT:-}" ] && tbb_flags=(-I"$TBB_ROOT/include" -L"$TBB_ROOT/lib" -Wl,-rpath,"$TBB_ROOT/lib" -ltbb)
clang++-14 -std=c++20 -O1 -g -fsanitize=thread "$ROOT/scripts/ci/tsan_probe.cpp" "${tbb_flags[@]}" \
  -o "$ROOT/build-tsan/tsan_probe"
probe_status=0
TSAN_OPTIONS="halt_on_error=0 exitcode=0" "$ROOT/build-tsan/tsan_probe" > "$ROOT/build-tsan/probe.log" 2>&1 || probe_status=$?
reports=$(grep -c "WARNING: ThreadSanitizer" "$ROOT/build-tsan/probe.log" || true)
if [ "$probe_status" -ne 0 ]; then
  echo "tsan: skipped: the probe ran no task on a worker thread (one core?), so it proves nothing"
  exit 0
fi
if [ "$reports" -gt 0 ]; then
  echo "tsan: skipped: a race-free TBB program draws $reports ThreadSanitizer reports with this TBB"
  echo "tsan: (not built with -fsanitize=thread); see the README, \"What is guaranteed, and how it is tested\""
  exit 0
fi
echo "tsan: the probe is clean: running the graph tests under ThreadSanitizer"
tbb_cmake=()
[ -n "${TBB_ROOT:-}" ] && tbb_cmake=(-DTBB_DIR="$TBB_ROOT/lib/cmake/TBB")
ci_timed "tsan build" ci_build build-tsan graph_tests -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPEGRAD_SANITIZE=thread "${tbb_cmake[@]}"
cd "$ROOT/build-tsan"
TSAN_OPTIONS="halt_on_error=1" ci_timed "tsan tests" ctest --output-on-failure -R '^graph$'
