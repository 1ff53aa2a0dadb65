#!/usr/bin/env bash
# CI stage: the whole project built with clang++-14 as well (build-clang/, Release, warnings as
# errors under CI=true, as the g++ build), then the whole test suite.
#   bash scripts/ci/clang.sh           # extra arguments go to ctest
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ci_install_deps "${CLANG_PACKAGES[@]}"
ci_timed "clang build" ci_build build-clang all -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Release
cd "$ROOT/build-clang"
ci_timed "clang tests" ctest --output-on-failure "$@"
