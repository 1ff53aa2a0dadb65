#!/usr/bin/env bash
# Installs what the project needs (skipping what is already there) and builds it in Release.
# Used by both quick-start commands; safe to run again: no download and no rebuild when
# nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
BUILD="${BUILD_DIR:-$ROOT/build}"

# Debian packages, pinned to Debian 12's versions by the release itself (pkgconf: the
# pkg-config build of the consumer check, scripts/ci/consumer.sh).
APT_PACKAGES=(g++ cmake ninja-build python3-pip libtbb-dev libfmt-dev doctest-dev zlib1g-dev
              nlohmann-json3-dev libcli11-dev libutfcpp-dev dataset-fashion-mnist unzip ca-certificates
              pkgconf libhdf5-dev libzip-dev libonnx-dev libprotobuf-dev python3-venv librsvg2-bin)
# The checked builds of scripts/ci/ add theirs (clang, sanitizer runtimes) through SETUP_EXTRA_PACKAGES.
read -r -a extra_packages <<<"${SETUP_EXTRA_PACKAGES:-}"
APT_PACKAGES+=("${extra_packages[@]}")
ONEDNN_VERSION=2023.2.0        # oneDNN 3.2 with the TBB runtime, Intel's PyPI build
COMPILER_RT_VERSION=2023.2.0   # libimf.so and libintlc.so.5, which libdnnl.so.3 needs

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# oneDNN from Intel's wheels, unpacked into .deps/onednn (git-ignored). Only the headers,
# the CMake package, libdnnl and the two compiler runtime libraries it links are kept.
install_onednn() {
  local prefix="$DEPS/onednn" stamp="$DEPS/onednn/.version"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ONEDNN_VERSION/$COMPILER_RT_VERSION" ]; then return; fi
  echo "setup: fetching oneDNN $ONEDNN_VERSION (TBB runtime) from PyPI"
  local tmp; tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" \
    "onednn-devel-cpu-tbb==$ONEDNN_VERSION" "onednn-cpu-tbb==$ONEDNN_VERSION" \
    "intel-cmplr-lib-rt==$COMPILER_RT_VERSION"
  rm -rf "$prefix" && mkdir -p "$prefix/lib"
  (cd "$tmp" && unzip -q -o "onednn_devel_cpu_tbb-$ONEDNN_VERSION-*.whl" "*.data/data/include/*" "*.data/data/lib/cmake/*" \
     && cp -r onednn_devel_cpu_tbb-*.data/data/include "$prefix/" \
     && cp -r onednn_devel_cpu_tbb-*.data/data/lib/cmake "$prefix/lib/" \
     && unzip -q -o "onednn_cpu_tbb-$ONEDNN_VERSION-*.whl" "*.data/data/lib/libdnnl.so.3.2" \
     && cp onednn_cpu_tbb-*.data/data/lib/libdnnl.so.3.2 "$prefix/lib/" \
     && unzip -q -o "intel_cmplr_lib_rt-$COMPILER_RT_VERSION-*.whl" "*.data/data/lib/libimf.so" "*.data/data/lib/libintlc.so.5" \
     && cp intel_cmplr_lib_rt-*.data/data/lib/libimf.so intel_cmplr_lib_rt-*.data/data/lib/libintlc.so.5 "$prefix/lib/")
  ln -sf libdnnl.so.3.2 "$prefix/lib/libdnnl.so.3"
  ln -sf libdnnl.so.3 "$prefix/lib/libdnnl.so"
  rm -rf "$tmp"
  echo "$ONEDNN_VERSION/$COMPILER_RT_VERSION" > "$stamp"
}

build() {
  local extra=()
  [ "${CI:-}" = "true" ] && extra+=(-DTAPEGRAD_WERROR=ON)
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -Ddnnl_DIR="${dnnl_DIR:-$DEPS/onednn/lib/cmake/dnnl}" "${extra[@]}" >/dev/null
  fi
  # Progress lines are noise in logs; errors and warnings still show.
  local status=0
  cmake --build "$BUILD" -- -j"$(nproc)" > "$BUILD/last-build.log" 2>&1 || status=$?
  grep -v "^\[[0-9]*/[0-9]*\]" "$BUILD/last-build.log" | grep -v "^ninja: no work to do" || true
  return "$status"
}

install_debian_packages
[ -n "${dnnl_DIR:-}" ] || install_onednn
# SETUP_DEPS_ONLY=1: packages and oneDNN only, for the checked builds of scripts/ci/.
[ "${SETUP_DEPS_ONLY:-}" = 1 ] || build
