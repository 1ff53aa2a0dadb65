#!/usr/bin/env bash
# CI stage: the whole test suite built with clang under AddressSanitizer + UndefinedBehavior-
# Sanitizer (build-asan/, RelWithDebInfo); any report stops the test that made it. The same
# build also holds the fuzz targets (scripts/ci/fuzz.sh), so CI compiles the library once for both.
#   bash scripts/ci/asan.sh            # extra arguments go to ctest, e.g. -R nn
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ci_install_deps "${CLANG_PACKAGES[@]}"
source "$ROOT/scripts/ci/sanitizer_env.sh"
ci_timed "asan build" ci_build build-asan all "${ASAN_CMAKE_OPTIONS[@]}"
cd "$ROOT/build-asan"
ci_timed "asan tests" ctest --output-on-failure "$@"
