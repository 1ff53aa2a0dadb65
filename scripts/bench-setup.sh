#!/usr/bin/env bash
# Installs the peer that scripts/bench.sh compares the library with: Debian 12's libtorch 1.13
# (its C++ API and CMake package) with OpenBLAS as the BLAS behind it. Skips what is already
# installed. Only the comparison needs this: it is never part of the build or the tests.
set -euo pipefail

# libopenblas0 by name: libtorch only recommends an optimized BLAS, and without one it would
# run on the reference libblas3, a peer far slower than its users would ever see.
PEER_PACKAGES=(libtorch-dev libopenblas0)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PEER_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-setup: installing Debian packages: ${missing[*]} (libtorch is large: a few minutes)"
  # Waits for another apt run to finish instead of failing on its lock.
  sudo_if_needed apt-get -o DPkg::Lock::Timeout=600 update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

# The package's CMake folder, for bench.sh's -DTorch_DIR: asked of dpkg, not guessed.
dpkg -L libtorch-dev | grep -m1 '/cmake/Torch$' >/dev/null ||
  { echo "bench-setup: libtorch-dev is installed but has no cmake/Torch folder" >&2; exit 1; }
