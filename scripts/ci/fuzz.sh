#!/usr/bin/env bash
# CI stage: every loader's libFuzzer target (tests/fuzz/) for FUZZ_SECONDS each (default 60),
# seeded with tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/, under ASan +
# UBSan with memory limits: one allocation above 512 MB or a process above 2 GB is a finding.
# Prints each target's executions and coverage (libFuzzer's final cov/ft figures). A crash
# leaves its input in build-asan/fuzz/artifacts/<target>/: commit it under
# tests/fuzz/regressions/<target>/ once fixed, and the ordinary suite replays it forever.
#   bash scripts/ci/fuzz.sh                    # all targets, 60 s each
#   FUZZ_SECONDS=300 bash scripts/ci/fuzz.sh csv idx
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ci_install_deps "${CLANG_PACKAGES[@]}"
source "$ROOT/scripts/ci/sanitizer_env.sh"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(safetensors model model_config idx idx_gzip csv)
SECONDS_EACH="${FUZZ_SECONDS:-60}"
ci_timed "fuzz build" ci_build build-asan "${TARGETS[*]/#/fuzz_}" "${ASAN_CMAKE_OPTIONS[@]}"

WORK="$ROOT/build-asan/fuzz"
failed=() summary=()
for t in "${TARGETS[@]}"; do
  # New inputs go to a scratch corpus: the committed seeds stay as they are.
  mkdir -p "$WORK/corpus/$t" "$WORK/artifacts/$t"
  seeds=("$ROOT/tests/fuzz/corpus/$t")
  [ -d "$ROOT/tests/fuzz/regressions/$t" ] && seeds+=("$ROOT/tests/fuzz/regressions/$t")
  log="$WORK/$t.log"
  status=0
  "$ROOT/build-asan/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -timeout=30 -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$t/" \
    "$WORK/corpus/$t" "${seeds[@]}" > "$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # The last status line: "#123456 DONE cov: 1234 ft: 5678 corp: ..." (or the line before a crash).
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if [ "$status" -eq 0 ]; then
    line=$(printf "%-13s %10s runs in %ss  cov %6s  ft %6s  corpus %5s" "$t" "${runs:-?}" "$SECONDS_EACH" \
           "${cov:-?}" "${ft:-?}" "${corp:-?}")
  else
    line=$(printf "%-13s FINDING after %s runs (exit %s)" "$t" "${runs:-?}" "$status")
  fi
  summary+=("$line")
  echo "fuzz: $line"
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED; the report (log: $log):"
    grep -E "ERROR|SUMMARY|==[0-9]+==|terminate|what\(\)|Test unit written|artifact" "$log" | head -30 || true
  fi
done
echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]}; inputs in $WORK/artifacts/"
  exit 1
fi
