#!/usr/bin/env bash
# Engagement job vs "read the same Parquet files with polars and sum their numeric
# columns", same run, on the `large` generated world (or ROICAST_ENGAGEMENT_DATA=DIR).
#   bash benches/peers/setup.sh && bash benches/peers/engagement.sh [--repeat N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
"$here/.venv/bin/pip" install -q "polars>=1,<2"
"$here/.venv/bin/python" "$here/engagement_peers.py" --roicast "$root/target/release/roicast" --workdir "$work" \
  --out "$here/results/engagement.md" "$@"
