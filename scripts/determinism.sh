#!/usr/bin/env bash
# Determinism under load (issue 17): the same `roicast run` with 1, 2 and 8 threads,
# REPS times each, while a CPU hog keeps both cores busy, must write byte-identical
# outputs (run manifests and the lock file excepted: they hold timings and a pid).
#   scripts/determinism.sh [REPS=20] [SCENARIO=small]
# Prints one line per run and the number of distinct output sets (1 is the pass).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-20}
scenario=${2:-small}
bin=target/release/roicast
cargo build --release --locked -q -p roicast-engine
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" generate --scenario "$scenario" --seed 17 --out "$work/data" -q >/dev/null
# The load: two busy loops competing with the run for the two cores.
for _ in 1 2; do (while :; do :; done) & done
declare -A sets
for rep in $(seq 1 "$reps"); do
  for threads in 1 2 8; do
    out="$work/out"
    rm -rf "$out"
    printf 'data = "%s"\nout = "%s"\n' "$work/data" "$out" > "$work/c.toml"
    start=$(date +%s.%N)
    "$bin" run --config "$work/c.toml" --threads "$threads" -q >/dev/null
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    digest=$(cd "$out" && find . -type f ! -name '*.manifest.json' ! -name '.roicast.lock' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
    sets[$digest]=$(( ${sets[$digest]:-0} + 1 ))
    printf 'rep %2d  threads %d  %6.1f s  outputs %s\n' "$rep" "$threads" "$secs" "$digest"
  done
done
echo "distinct output sets: ${#sets[@]} over $((reps * 3)) runs"
[ "${#sets[@]}" = 1 ]
