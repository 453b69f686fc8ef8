#!/usr/bin/env bash
# Importing a GA4 BigQuery export (10 M events in daily NDJSON files): roicast vs a
# pyarrow and a polars read of the same files, side by side in one run, with peak memory.
# Usage:
#   bash benches/peers/import_ga4.sh [--events N] [--repeat N]   (needs a venv with
#   pyarrow and polars: bash benches/peers/setup.sh, or PYTHON=/path/to/python)
# The large world's export (~20 M events, 14 GB, ~6 min to write) is made once under
# ROICAST_BENCH_DIR; the first daily files holding N events are imported.
set -euo pipefail
cd "$(dirname "$0")/../.."
events=10000000
repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
py="${PYTHON:-benches/peers/.venv/bin/python}"
work="${ROICAST_BENCH_DIR:-/tmp/roicast-import-bench}"
cargo build --release -p roicast-engine --bin roicast -q
bin=target/release/roicast
if [ ! -d "$work/exp/ga4" ]; then
  "$bin" generate --scenario large --out "$work/L" --exports "$work/exp" -q --force
fi
sel="$work/ga4-sel"
rm -rf "$sel" && mkdir -p "$sel"
n=0
for f in "$work"/exp/ga4/events_*.ndjson; do
  [ "$n" -ge "$events" ] && break
  ln -s "$f" "$sel/"
  n=$((n + $(wc -l < "$f")))
done
files=("$sel"/*.ndjson)
bytes=$(du -shL "$sel" | cut -f1)
out=benches/peers/results/import_ga4.md
{
  echo "# Import: GA4 BigQuery export ($n events in ${#files[@]} daily NDJSON files, $bytes), $(date -u +%F)"
  echo
  echo "| run | tool | seconds | events/s | peak RSS |"
  echo "|---|---|---|---|---|"
} > "$out"
for k in $(seq "$repeat"); do
  rm -rf "$work/ga4-ds"
  /usr/bin/time -f "%e %M" -o "$work/t" "$bin" import ga4 --input "$sel" --out "$work/ga4-ds" -q
  read -r s m < "$work/t"
  echo "| $k | roicast import ga4 | $s | $(python3 -c "print(round($n/$s))") | $((m / 1024)) MiB |" >> "$out"
  for tool in pyarrow polars; do
    if /usr/bin/time -f "%e %M" -o "$work/t" "$py" benches/peers/import_ga4_peers.py "$tool" "${files[@]}" > "$work/$tool.json"; then
      read -r s m < "$work/t"
      echo "| $k | $tool read + sessions | $s | $(python3 -c "print(round($n/$s))") | $((m / 1024)) MiB |" >> "$out"
    else
      echo "| $k | $tool read + sessions | failed | | |" >> "$out"
    fi
  done
done
sessions=$(python3 -c "import json;print(json.load(open('$work/ga4-ds/import.report.json'))['written']['sessions'])")
echo >> "$out"
echo "roicast wrote $sessions sessions; the peers counted: $(cat "$work"/pyarrow.json "$work"/polars.json 2>/dev/null | tr '\n' ' ')" >> "$out"
cat "$out"
