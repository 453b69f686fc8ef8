#!/usr/bin/env bash
# Every job of `roicast run` vs a polars streaming scan-and-aggregate of the columns it
# reads, same files, same run (issue 16's "≤ 3× polars" goal).
#   bash benches/peers/scan_ratio.sh [--repeat N]
# Data: ROICAST_SCAN_DATA=DIR (default: the `large` world, generated if missing).
# Python: ROICAST_PEER_VENV (default benches/peers/.venv from setup.sh); polars and
# pyarrow are installed into it if missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
venv="${ROICAST_PEER_VENV:-$here/.venv}"
mkdir -p "$work" "$here/results"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "polars>=1,<2" pyarrow
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
bin="${ROICAST_BIN:-$root/target/release/roicast}"
data="${ROICAST_SCAN_DATA:-$work/large}"
[ -e "$data/truth.json" ] || "$bin" generate --scenario large --out "$data" --force -q
name="$(basename "$data")"
"$venv/bin/python" "$here/scan_ratio.py" --roicast "$bin" --data "$data" --workdir "$work" \
  --out "$here/results/scan_ratio_$name.md" "$@"
