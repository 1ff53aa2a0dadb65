#!/usr/bin/env bash
# The API reference, generated with Debian's Doxygen from the public headers' /// comments into
# build/docs/html (open build/docs/html/index.html). Fails on any Doxygen warning, such as a
# public class, function, member or enumerator without documentation.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${BUILD_DIR:-$ROOT/build}/docs"
cd "$ROOT"

if ! command -v doxygen >/dev/null; then
  echo "docs: installing Debian's doxygen"
  sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends doxygen
fi

# The headers as installed, tapegrad/<module>/... (links to the sources), with tapegrad/version.h
# as CMake generates it.
mkdir -p "$OUT/include/tapegrad"
modules="$(grep -l '^ *tapegrad_module(' -- */CMakeLists.txt | xargs -n1 dirname | sort -u)"
for module in $modules; do ln -sfn "$ROOT/$module" "$OUT/include/tapegrad/$module"; done
version="$(sed -n 's/^project(tapegrad VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
IFS=. read -r major minor patch <<< "$version"
sed -e "s/@PROJECT_VERSION@/$version/" -e "s/@PROJECT_VERSION_MAJOR@/$major/" \
    -e "s/@PROJECT_VERSION_MINOR@/$minor/" -e "s/@PROJECT_VERSION_PATCH@/${patch:-0}/" \
    cmake/version.h.in > "$OUT/include/tapegrad/version.h"

export TAPEGRAD_DOCS_DIR="$OUT" TAPEGRAD_VERSION="$version"
export TAPEGRAD_DOCS_INCLUDE="$OUT/include"
TAPEGRAD_DOCS_EXCLUDE="$(grep -v '^#' cmake/internal_headers.txt | sed "s|^|$OUT/include/tapegrad/|" | tr '\n' ' ')"
export TAPEGRAD_DOCS_EXCLUDE
rm -rf "$OUT/html"
if doxygen docs/Doxyfile; then
  echo "docs: $OUT/html/index.html"
else
  echo "docs: Doxygen warnings above (every public symbol needs a /// comment)" >&2
  exit 1
fi
