#!/usr/bin/env bash
# Quick start, command 1: set up, build in Release, and train the Fashion MNIST classifier
# (the book's model, 30 epochs) on Debian's dataset-fashion-mnist. Extra arguments go to the
# app, e.g. `bash scripts/main.sh --epochs 5`. Outputs land in ./out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
mkdir -p "$ROOT/out"
exec "${BUILD_DIR:-$ROOT/build}/apps/fashion_mnist" --out "$ROOT/out" "$@"
