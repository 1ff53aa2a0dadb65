#!/usr/bin/env bash
# The speed comparison with libtorch, end to end: builds our side (scripts/setup.sh) and the
# peer (scripts/bench-setup.sh, apps/bench/peer), tries the peer's thread settings and keeps
# its best for each measurement, then runs ours and the peer alternately for a few rounds so
# that machine drift hits both, and prints the ratios ours/peer.
#   scripts/bench.sh              # the whole comparison
#   scripts/bench.sh --peer-only  # only libtorch: its settings and figures, no build of ours
#   scripts/bench.sh --rounds 5
#   scripts/bench.sh --no-setup   # ours is built already: neither set-up script runs
# Both sides print `RESULT name=... batch=... value=...` lines (apps/bench/peer/README.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
PEER_BUILD="${PEER_BUILD_DIR:-$ROOT/build-peer}"
OURS="${OURS:-$BUILD/apps/bench_training_step}"
ROUNDS=3
PEER_ONLY=0
SETUP=1
while [ $# -gt 0 ]; do
  case "$1" in
    --peer-only) PEER_ONLY=1 ;;
    --no-setup) SETUP=0 ;;
    --rounds) ROUNDS="${2:?--rounds needs a number}"; shift ;;
    *) echo "bench: unknown argument '$1' (expected --peer-only, --no-setup or --rounds N)" >&2; exit 2 ;;
  esac
  shift
done

# The peer's settings to try: torch::set_num_threads, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
# ('-' leaves the variable unset). OpenBLAS also reads OMP_NUM_THREADS when its own is unset.
PEER_SETTINGS=("1 - -" "2 - -" "1 - 1" "2 - 1" "1 1 -" "1 2 -" "2 2 -")
# The measurements compared, and the issue's target for ours/peer on each.
COMPARED=("epoch_seconds@32 0.55" "epoch_seconds@256 1.0" "predict_ms@10000 1.0")

# --- build both sides ---------------------------------------------------------------------
if [ "$SETUP" = 1 ]; then
  if [ "$PEER_ONLY" = 0 ]; then "$ROOT/scripts/setup.sh"; fi
  "$ROOT/scripts/bench-setup.sh"
fi
TORCH_DIR="$(dpkg -L libtorch-dev | grep -m1 '/cmake/Torch$')"
if [ ! -f "$PEER_BUILD/build.ninja" ]; then
  cmake -S "$ROOT/apps/bench/peer" -B "$PEER_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DTorch_DIR="$TORCH_DIR" >/dev/null
fi
cmake --build "$PEER_BUILD" | grep -v '^\[' || true
test "${PIPESTATUS[0]}" -eq 0
PEER="$PEER_BUILD/torch_mlp"
if [ "$PEER_ONLY" = 0 ] && [ ! -x "$OURS" ]; then
  echo "bench: $OURS was not built: measuring the peer alone"
  PEER_ONLY=1
fi

RESULTS="$(mktemp)"  # one line per figure: side, setting or round, name@batch, value
trap 'rm -f "$RESULTS"' EXIT

flags="$(grep -m1 '^flags' /proc/cpuinfo)"
isa=sse4
for f in avx2 avx512f avx512_bf16; do [[ " $flags " == *" $f "* ]] && isa="$isa $f"; done
echo "CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, ISA: ${isa#sse4 }"
# Other work on the machine slows a multi-threaded run far more than its share: say so.
report_load() {  # when
  local load; load="$(cut -d' ' -f1 /proc/loadavg)"
  echo "load average $1: $(cut -d' ' -f1-3 /proc/loadavg)"
  if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
    echo "  WARNING: the machine is busy (load $load on $(nproc) cores): the times are not the machine's," \
      "and the peer's thread settings rank differently than on an idle machine; rerun when it is idle"
  fi
}
report_load "at start"

setting_words() {  # "1 - 2" -> torch_threads=1 OMP_NUM_THREADS=unset OPENBLAS_NUM_THREADS=2
  local t o b; read -r t o b <<<"$1"
  echo "torch_threads=$t OMP_NUM_THREADS=${o/#-/unset} OPENBLAS_NUM_THREADS=${b/#-/unset}"
}

# Keeps a run's RESULT lines in $RESULTS and shows them with the lines that explain them.
record() {  # side label
  awk -v side="$1" -v label="$2" -v out="$RESULTS" '
    /^(SETTING|#)/ { print "    " $0 }
    $1 == "RESULT" {
      print "    " $0
      name = ""; batch = "-"; value = ""
      for (i = 2; i <= NF; i++) {
        eq = index($i, "="); key = substr($i, 1, eq - 1); val = substr($i, eq + 1)
        if (key == "name") name = val; else if (key == "batch") batch = val; else if (key == "value") value = val
      }
      if (name != "" && value != "") print side, label, name "@" batch, value >> out
    }'
}

run_peer() {  # label "torch omp openblas" [--timeout seconds] peer-arguments...
  local label="$1" t o b; read -r t o b <<<"$2"; shift 2
  local env_args=(env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS)
  [ "$o" = - ] || env_args+=("OMP_NUM_THREADS=$o")
  [ "$b" = - ] || env_args+=("OPENBLAS_NUM_THREADS=$b")
  local limit=()
  if [ "${1:-}" = --timeout ]; then limit=(timeout "$2"); shift 2; fi
  "${env_args[@]}" "${limit[@]}" "$PEER" --threads "$t" "$@" | record peer "$label"
}

# --- tune the peer --------------------------------------------------------------------------
echo
# Two passes over the settings, keeping each one's better figure, so that a burst of load from
# elsewhere during one setting's run does not decide the choice.
echo "== libtorch: each thread setting, twice (median of 3 fifths of an epoch, scaled up; 5 predictions) =="
for pass in 1 2; do
  for i in "${!PEER_SETTINGS[@]}"; do
    echo "  pass $pass, setting $i: $(setting_words "${PEER_SETTINGS[$i]}")"
    # A setting that oversubscribes the cores can be 30x slower: no need to wait for all of it.
    run_peer "setting$i" "${PEER_SETTINGS[$i]}" --timeout 60 --epochs 3 --train-images 11000 \
      --warmup-steps 50 --predict-repeats 5 || echo "    (stopped: slower than any setting worth keeping)"
  done
done

declare -A best  # name@batch -> index of the peer's fastest setting for it
while read -r metric index; do best[$metric]=$index; done < <(awk '
  $1 == "peer" && $2 ~ /^setting/ {
    if (!($3 in low) || $4 + 0 < low[$3] + 0) { low[$3] = $4; at[$3] = substr($2, 8) }
  }
  END { for (m in at) print m, at[m] }' "$RESULTS")
echo
echo "== libtorch's settings side by side, the better of two passes (* the best, kept for the rounds) =="
printf '  %-8s %-30s %14s %14s %14s\n' setting "torch / OMP / OPENBLAS threads" \
  "epoch s @32" "epoch s @256" "predict ms"
for i in "${!PEER_SETTINGS[@]}"; do
  row=()
  for metric in epoch_seconds@32 epoch_seconds@256 predict_ms@10000; do
    value="$(awk -v l="setting$i" -v m="$metric" '$1 == "peer" && $2 == l && $3 == m && (low == "" || $4 + 0 < low + 0) { low = $4 }
                  END { print low }' "$RESULTS")"
    [ "${best[$metric]:-}" = "$i" ] && value="$value*"
    row+=("${value:--}")
  done
  read -r t o b <<<"${PEER_SETTINGS[$i]}"
  printf '  %-8s %-30s %14s %14s %14s\n' "$i" "$t / ${o/#-/unset} / ${b/#-/unset}" "${row[@]}"
done

# --- alternate ours and the peer --------------------------------------------------------------
# The peer runs once per distinct best setting, measuring only what that setting won.
peer_round() {  # label
  local index batches predict metric
  for index in $(printf '%s\n' "${best[@]}" | sort -u); do
    batches=""; predict=0
    for metric in "${!best[@]}"; do
      [ "${best[$metric]}" = "$index" ] || continue
      case "$metric" in
        epoch_seconds@*) batches="${batches:+$batches,}${metric#*@}" ;;
        predict_ms@*) predict=10 ;;
      esac
    done
    echo "  peer, setting $index ($(setting_words "${PEER_SETTINGS[$index]}")):"
    if [ -n "$batches" ]; then
      run_peer "$1" "${PEER_SETTINGS[$index]}" --train-batches "$batches" --epochs 3 --predict-repeats "$predict"
    else
      run_peer "$1" "${PEER_SETTINGS[$index]}" --epochs 0 --predict-repeats "$predict"
    fi
  done
}

echo
echo "== $ROUNDS rounds, alternating =="
for round in $(seq 1 "$ROUNDS"); do
  echo " round $round"
  if [ "$PEER_ONLY" = 0 ]; then
    echo "  ours ($OURS):"
    "$OURS" | record ours "round$round"
  fi
  peer_round "round$round"
done

# --- summary ----------------------------------------------------------------------------------
echo
report_load "at end"
echo "== medians over the rounds, and ours/peer (the issue's target in brackets) =="
targets="$(printf '%s\n' "${COMPARED[@]}")"
awk -v targets="$targets" '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  $2 ~ /^round/ { values[$1, $3] = values[$1, $3] " " $4; metrics[$3] = 1 }
  END {
    n = split(targets, lines, "\n")
    for (i = 1; i <= n; i++) { split(lines[i], f, " "); target[f[1]] = f[2] }
    printf "  %-28s %12s %12s %8s\n", "measurement", "ours", "libtorch", "ratio"
    for (m in metrics) {
      ours = ((("ours", m) in values)) ? median(values["ours", m]) : ""
      peer = ((("peer", m) in values)) ? median(values["peer", m]) : ""
      ratio = (ours != "" && peer != "" && peer > 0) ? sprintf("%.2f", ours / peer) : "n/a"
      verdict = ""
      if (m in target) verdict = ratio == "n/a" ? sprintf("(<= %s)", target[m]) : \
          sprintf("(<= %s: %s)", target[m], ratio + 0 <= target[m] + 0 ? "met" : "NOT met")
      printf "  %-28s %12s %12s %8s %s\n", m, ours == "" ? "-" : ours, peer == "" ? "-" : peer, ratio, verdict
    }
  }' "$RESULTS" | { IFS= read -r header; echo "$header"; sort; }
