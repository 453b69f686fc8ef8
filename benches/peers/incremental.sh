#!/usr/bin/env bash
# The daily run on a dataset growing by daily partitions: `roicast run` after a new day
# arrives (incremental, the previous run's outputs in place) against a full run from
# scratch on the same data, same machine, same run; wall time and peak RSS of each
# (GNU time), median of --repeat N (default 3). Three configurations: the daily monitoring
# job (sentiment + alerts), the engagement job alone, and the whole pipeline.
#   bash benches/peers/incremental.sh [--repeat N] [--scenario demo|large] [--only MODE]
# (MODE: monitoring, engagement or pipeline; default all three)
# Results: benches/peers/results/incremental.md (incremental_SCENARIO.md for another scenario)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}/incremental"
repeat=3
scenario=demo
modes="monitoring engagement pipeline"
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --scenario) scenario="$2"; shift 2 ;;
    --only) modes="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
bin="$root/target/release/roicast"
rm -rf "$work" && mkdir -p "$work" "$here/results"
tables="posts post_snapshots comments sessions touchpoints orders"
results="$here/results/incremental.md"
[ "$scenario" = demo ] || results="$here/results/incremental_$scenario.md"

# A world cut at its last day with comments, as 30 daily partitions on its history.
"$bin" generate --scenario "$scenario" --seed 42 --out "$work/world" -q
"$bin" partition --data "$work/world" --out "$work/every-day" --by day -q
last=$(ls "$work/every-day/comments" | sort | tail -1)
for t in $tables; do
  for d in "$work/every-day/$t"/day=*; do
    [ "$(basename "$d")" \> "$last" ] && rm -rf "$d"
  done
done
"$bin" partition --data "$work/every-day" --out "$work/daily" --by day --days 30 -q
newest=$(ls "$work/daily/comments" | sort | tail -1)

config() { # $1 folder, $2 mode: monitoring, engagement or pipeline
  if [ "$2" = monitoring ]; then
    printf 'data = "data"\nout = "results"\n[jobs]\nvalidate = false\nengagement = false\nattribution = false\nclv = false\nroi = false\nhistory = false\nforecast = false\nreport = false\n' > "$1/roicast.toml"
  elif [ "$2" = engagement ]; then
    printf 'data = "data"\nout = "results"\n[jobs]\nvalidate = false\nsentiment = false\nattribution = false\nclv = false\nroi = false\nhistory = false\nforecast = false\nalerts = false\nreport = false\n' > "$1/roicast.toml"
  else
    printf 'data = "data"\nout = "results"\n' > "$1/roicast.toml"
  fi
}

measure() { # $1 folder → "seconds peak_MiB"
  /usr/bin/time -f "%e %M" -o "$1/time.txt" "$bin" run --config "$1/roicast.toml" -q > /dev/null
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$1/time.txt"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

{
  echo "# Incremental daily run vs full run (\`benches/peers/incremental.sh --scenario $scenario --repeat $repeat --only \"$modes\"\`)"
  echo
  echo "World: \`$scenario\`, seed 42, cut at its last day with comments ($last), dated tables as 30 daily"
  echo "partitions on the history (\`roicast partition --by day --days 30\`). Incremental: the run after"
  echo "the newest day ($newest) arrives, yesterday's outputs in place. Full: the same data, no earlier"
  echo "outputs. Medians of $repeat, one machine ($(nproc) cores), same session. $(date -u +%Y-%m-%d)."
  echo
  echo "| configuration | full run | incremental run | ratio | full peak RSS | incremental peak RSS |"
  echo "|---|---|---|---|---|---|"
} > "$results"

for monitoring in $modes; do
  fw=(); fm=(); iw=(); im=()
  for r in $(seq "$repeat"); do
    # Full.
    f="$work/full-$monitoring-$r"; mkdir -p "$f"; cp -r "$work/daily" "$f/data"; config "$f" "$monitoring"
    read -r w m < <(measure "$f"); fw+=("$w"); fm+=("$m")
    # Incremental: yesterday's run, then the new day.
    i="$work/inc-$monitoring-$r"; mkdir -p "$i"; cp -r "$work/daily" "$i/data"; config "$i" "$monitoring"
    for t in $tables; do rm -rf "$i/data/$t/$newest"; done
    "$bin" run --config "$i/roicast.toml" -q > /dev/null
    for t in $tables; do [ -d "$work/daily/$t/$newest" ] && cp -r "$work/daily/$t/$newest" "$i/data/$t/"; done
    read -r w m < <(measure "$i"); iw+=("$w"); im+=("$m")
    # Same bytes (manifests aside; validation.json and the report name their folders).
    diff -r -x '*.manifest.json' -x 'validation.json' -x 'report.html' -x 'time.txt' "$f/results" "$i/results" > /dev/null \
      || { echo "incremental and full outputs differ ($monitoring)" >&2; exit 1; }
  done
  case "$monitoring" in
    monitoring) name="monitoring (sentiment + alerts)" ;;
    engagement) name="engagement job alone" ;;
    *) name="whole pipeline (every job)" ;;
  esac
  F=$(printf '%s\n' "${fw[@]}" | median); I=$(printf '%s\n' "${iw[@]}" | median)
  FM=$(printf '%s\n' "${fm[@]}" | median); IM=$(printf '%s\n' "${im[@]}" | median)
  ratio=$(awk -v a="$I" -v b="$F" 'BEGIN { printf "%.2f", a / b }')
  echo "| $name | ${F} s | ${I} s | $ratio | ${FM} MiB | ${IM} MiB |" >> "$results"
done
cat "$results"
