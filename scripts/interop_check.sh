#!/usr/bin/env bash
# Checks tapegrad's model files against the Python tools that read and write them: Keras 3 loads
# and predicts with the .keras archives tapegrad saves, ONNX Runtime runs its ONNX exports, and
# tapegrad loads what Keras saved; predictions must agree within 1e-5.
#
#   bash scripts/interop_check.sh build/tests/interop_roundtrip [VENV]
#
# Python packages come from PyPI into a virtual environment of their own (VENV, by default
# build/python-venv), made once and kept while tests/interop/python/requirements.txt is
# unchanged. When it cannot be made (no python3-venv, no network) the check prints
# "skipped: <reason>" and exits 0; once it exists, any difference fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="${1:?usage: interop_check.sh path/to/interop_roundtrip [VENV]}"
VENV="${2:-${BUILD_DIR:-$ROOT/build}/python-venv}"
REQUIREMENTS="$ROOT/tests/interop/python/requirements.txt"
SCRIPT="$ROOT/tests/interop/python/interop_check.py"

skip() { echo "skipped: $*"; exit 0; }

# The stamp is written last: a half-made environment is made again.
if ! cmp -s "$REQUIREMENTS" "$VENV/requirements.done" 2>/dev/null; then
  echo "interop: making the Python environment $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" > /dev/null 2>&1 || { rm -rf "$VENV"; skip "python3 -m venv failed (install python3-venv)"; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS" > "$VENV/pip.log" 2>&1 \
    || { tail -3 "$VENV/pip.log"; rm -rf "$VENV"; skip "pip could not install tests/interop/python/requirements.txt (no network?)"; }
  cp "$REQUIREMENTS" "$VENV/requirements.done"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export KERAS_BACKEND=jax JAX_PLATFORMS=cpu TF_CPP_MIN_LOG_LEVEL=3
PYTHON="$VENV/bin/python"

"$TOOL" export "$WORK"
"$PYTHON" "$SCRIPT" check-exports "$WORK"
"$PYTHON" "$SCRIPT" make-keras "$WORK"
for model in "$WORK"/keras_*.keras; do
  "$TOOL" import "$model" "${model%.keras}.safetensors" "${model%.keras}.out.safetensors"
done
"$PYTHON" "$SCRIPT" check-imports "$WORK"
echo "interop: Keras, ONNX Runtime and safetensors agree with tapegrad"
