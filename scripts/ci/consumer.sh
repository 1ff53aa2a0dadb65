#!/usr/bin/env bash
# CI: the library as a dependency. Installs the build into a fresh prefix (then moves the prefix,
# so nothing may point back at the build or source tree), builds tests/consumer against it with
# CMake (find_package) and with plain g++ and pkg-config, and runs both programs with no
# LD_LIBRARY_PATH. Fails when any step fails or when a run path leads outside the prefix.
#
#   bash scripts/ci/consumer.sh            # the static build in build/ (what the tests use)
#   bash scripts/ci/consumer.sh --shared   # a shared build (TAPEGRAD_SHARED=ON) in build-shared/
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# Runs a command, showing its output only when it fails.
quiet() { local log; log="$(mktemp)"; "$@" > "$log" 2>&1 || { cat "$log"; rm -f "$log"; return 1; }; rm -f "$log"; }

if [ "${1:-}" = "--shared" ]; then
  BUILD="${BUILD_DIR:-$ROOT/build-shared}"
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_SHARED=ON \
      -DTAPEGRAD_BUILD_TESTS=OFF -Ddnnl_DIR="${dnnl_DIR:-$ROOT/.deps/onednn/lib/cmake/dnnl}" >/dev/null
  fi
  quiet cmake --build "$BUILD" -- -j"$(nproc)"
else
  BUILD="${BUILD_DIR:-$ROOT/build}"
  bash scripts/setup.sh   # builds what changed; nothing when the tests just built it
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$BUILD" --prefix "$work/staged" >/dev/null
mv "$work/staged" "$work/prefix"
prefix="$work/prefix"
echo "consumer: installed $(find "$prefix" -type f -o -type l | wc -l) files into a fresh prefix"

# The consumer sees the prefix and the system, nothing of ours: no oneDNN of its own, no
# LD_LIBRARY_PATH, no CMake package folders from the environment.
clean_env=(env -u LD_LIBRARY_PATH -u dnnl_DIR -u CMAKE_PREFIX_PATH -u PKG_CONFIG_PATH)

"${clean_env[@]}" cmake -S tests/consumer -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
quiet "${clean_env[@]}" cmake --build "$work/build"
echo -n "consumer (CMake):      " && "${clean_env[@]}" "$work/build/consumer"

flags="$("${clean_env[@]}" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tapegrad)"
# shellcheck disable=SC2086  # the flags are words
"${clean_env[@]}" g++ -std=c++20 -O1 tests/consumer/main.cpp -o "$work/consumer_pkgconfig" $flags
echo -n "consumer (pkg-config): " && "${clean_env[@]}" "$work/consumer_pkgconfig"

# Every run path in the prefix and the programs stays inside the prefix.
for f in "$prefix"/lib/*.so* "$work/build/consumer" "$work/consumer_pkgconfig"; do
  [ -L "$f" ] && continue
  runpath="$(readelf -d "$f" | sed -n 's/.*(\(RPATH\|RUNPATH\)).*\[\(.*\)\]/\2/p')"
  case "$runpath" in
    *"$ROOT"*|*.deps*) echo "consumer: $f has a run path into the source tree: $runpath" >&2; exit 1 ;;
  esac
done
echo "consumer: OK"
