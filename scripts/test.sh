#!/usr/bin/env bash
# Quick start, command 2: set up, build in Release, and run the whole test suite with ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "${BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure "$@"
