#!/usr/bin/env bash
# Quick start, command 1: set up, build in Release, and train the Fashion MNIST classifier
# (the book's model, 30 epochs) on Debian's dataset-fashion-mnist. Extra arguments go to the
# app, e.g. `bash scripts/main.sh --epochs 5`. Outputs land in the repository's out/ (whatever the current folder) unless `--out DIR` is given.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The user's --out wins: the app takes the option once, so ours is added only when theirs is absent.
out_given=false
for argument in "$@"; do
  case "$argument" in
    --out | --out=*) out_given=true ;;
  esac
done
bash "$ROOT/scripts/setup.sh"
if $out_given; then
  exec "${BUILD_DIR:-$ROOT/build}/apps/fashion_mnist" "$@"
fi
exec "${BUILD_DIR:-$ROOT/build}/apps/fashion_mnist" --out "$ROOT/out" "$@"
