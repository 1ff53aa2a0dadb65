#!/usr/bin/env bash
# Rewrites the project's own includes to their installed, namespaced form:
#   #include "nn/sequential.h"  ->  #include "tapegrad/nn/sequential.h"
# in every tracked C++ file and Markdown page. A module is any folder whose CMakeLists.txt calls
# tapegrad_module(), so new modules are covered without editing this script. Safe to run again,
# also on a tree that mixes both forms: only includes that lack the prefix change.
#
#   bash scripts/dev/namespace_includes.sh           # rewrite
#   bash scripts/dev/namespace_includes.sh --check   # list what still needs it, fail if any
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

mapfile -t modules < <(grep -l '^ *tapegrad_module(' -- */CMakeLists.txt | xargs -n1 dirname | sort -u)
[ ${#modules[@]} -gt 0 ] || { echo "namespace_includes: no modules found" >&2; exit 2; }
alternatives="$(IFS='|'; echo "${modules[*]}")"
# An #include of a module's header whose path does not start with tapegrad/, also in an example
# inside a comment.
pattern="^([[:space:]]*(//[/!]?[[:space:]]*)?#[[:space:]]*include[[:space:]]*[\"<])(${alternatives})/"

mapfile -t files < <(git ls-files -co --exclude-standard -- '*.h' '*.hpp' '*.cpp' '*.h.in' '*.md' \
                     | while read -r f; do [ -f "$f" ] && echo "$f"; done)
mapfile -t stale < <(grep -lE "$pattern" -- "${files[@]}" || true)

if [ "${1:-}" = "--check" ]; then
  if [ ${#stale[@]} -gt 0 ]; then
    echo "Includes of project headers must be namespaced (#include \"tapegrad/<module>/...\"):"
    grep -nE "$pattern" -- "${stale[@]}"
    echo "Fix: bash scripts/dev/namespace_includes.sh"
    exit 1
  fi
  echo "namespace_includes: all project includes are namespaced (modules: ${modules[*]})"
  exit 0
fi

for f in "${stale[@]}"; do
  sed -E -i "s@${pattern}@\\1tapegrad/\\3/@" "$f"
done
echo "namespace_includes: rewrote ${#stale[@]} files (modules: ${modules[*]})"
