#!/usr/bin/env bash
# CLV peer benchmark: roicast vs lifetimes 0.11.3 on CDNOW and on 1 M BG/NBD draws.
#   bash benches/peers/setup.sh && bash benches/peers/clv.sh [--repeat N] [--customers N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
"$here/.venv/bin/python" "$here/clv_peers.py" --roicast "$root/target/release/roicast" --workdir "$work" \
  --out "$here/results/clv.md" "$@"
