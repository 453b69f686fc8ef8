#!/usr/bin/env bash
# Sentiment peer benchmark, one run: Python vaderSentiment 3.3.2 vs roicast (criterion
# bench on the same 20 000 comments, 1 thread and all cores), then 1 M comments end to end
# through `roicast sentiment` with wall time and peak memory.
#   bash benches/peers/setup.sh && bash benches/peers/sentiment.sh [--rows N] [--repeat N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
"$here/.venv/bin/python" "$here/sentiment_peers.py" --root "$root" --roicast "$root/target/release/roicast" \
  --workdir "$work" --out "$here/results/sentiment.md" "$@"
