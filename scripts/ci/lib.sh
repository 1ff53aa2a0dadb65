# Shared by the CI stages in this folder (sourced, not run): installing what a stage needs,
# configuring and building one checked build in its own folder, timing.
# ROOT is the checkout; every build lives in $ROOT/build-<name>/ (git-ignored).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The project's dependencies (Debian packages and oneDNN, see scripts/setup.sh) and the given
# extra Debian packages, each installed only when missing; no Release build.
ci_install_deps() { SETUP_DEPS_ONLY=1 SETUP_EXTRA_PACKAGES="$*" bash "$ROOT/scripts/setup.sh"; }

# The toolchain of the clang stages: compiler, sanitizer and libFuzzer runtimes, llvm tools.
CLANG_PACKAGES=(clang-14 libclang-rt-14-dev llvm-14)

# ci_build <folder> <targets or "all"> <cmake options...>: configures once, then builds (going
# on after a failed file, so that the log shows every error at once).
ci_build() {
  local dir="$ROOT/$1" targets="$2"; shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    local werror=()
    [ "${CI:-}" = "true" ] && werror=(-DTAPEGRAD_WERROR=ON)
    cmake -S "$ROOT" -B "$dir" -G Ninja -Ddnnl_DIR="${dnnl_DIR:-$ROOT/.deps/onednn/lib/cmake/dnnl}" \
      "${werror[@]}" "$@" >/dev/null
  fi
  local status=0 target_args=()
  [ "$targets" = all ] || target_args=(--target $targets)
  cmake --build "$dir" "${target_args[@]}" -- -k 0 -j"$(nproc)" > "$dir/last-build.log" 2>&1 || status=$?
  grep -v "^\[[0-9]*/[0-9]*\]" "$dir/last-build.log" | grep -v "^ninja: no work to do" || true
  return "$status"
}

# ci_timed <label> <command...>: runs it and prints how long it took, in the log and the summary.
ci_timed() {
  local label="$1"; shift
  local start=$SECONDS status=0
  "$@" || status=$?
  echo "ci: $label took $((SECONDS - start)) s (exit $status)"
  return "$status"
}
