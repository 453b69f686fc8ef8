#!/usr/bin/env bash
# Importing a Shopify orders export: roicast vs a pyarrow and a polars read of the same
# file, side by side in one run, with peak memory. Usage:
#   bash benches/peers/import.sh [--repeat N]      (needs a venv with pyarrow and polars:
#   bash benches/peers/setup.sh, or PYTHON=/path/to/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
repeat=3
[ "${1:-}" = "--repeat" ] && repeat="$2"
py="${PYTHON:-benches/peers/.venv/bin/python}"
work="${ROICAST_BENCH_DIR:-/tmp/roicast-import-bench}"
cargo build --release -p roicast-engine --bin roicast -q
bin=target/release/roicast
if [ ! -f "$work/exp/shopify/orders_export.csv" ]; then
  "$bin" generate --scenario large --out "$work/L" --exports "$work/exp" -q --force
fi
csv="$work/exp/shopify/orders_export.csv"
out=benches/peers/results/import.md
{
  echo "# Import: Shopify orders export ($(wc -l < "$csv") lines, $(du -h "$csv" | cut -f1)), $(date -u +%F)"
  echo
  echo "| run | tool | seconds | rows/s | peak RSS |"
  echo "|---|---|---|---|---|"
} > "$out"
rows=$(($(wc -l < "$csv") - 1))
for k in $(seq "$repeat"); do
  rm -rf "$work/ds"
  /usr/bin/time -f "%e %M" -o "$work/t" "$bin" import shopify-orders --input "$csv" --out "$work/ds" -q
  read -r s m < "$work/t"
  echo "| $k | roicast import | $s | $(python3 -c "print(round($rows/$s))") | $((m / 1024)) MiB |" >> "$out"
  for tool in pyarrow polars; do
    /usr/bin/time -f "%e %M" -o "$work/t" "$py" benches/peers/import_peers.py "$tool" "$csv" > /dev/null
    read -r s m < "$work/t"
    echo "| $k | $tool read + group | $s | $(python3 -c "print(round($rows/$s))") | $((m / 1024)) MiB |" >> "$out"
  done
done
cat "$out"
