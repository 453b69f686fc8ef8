#!/usr/bin/env bash
# Creator-level Markov: roicast's exact sparse solve vs ChannelAttribution's simulation
# on the `large` world's creator-level path table. Writes
# benches/peers/results/markov_creators.md.
#
#   bash benches/peers/setup.sh              # once: Python peers into benches/peers/.venv
#   bash benches/peers/markov_creators.sh [--repeat N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
bin="$root/target/release/roicast"
[ -d "$work/large" ] || "$bin" generate --scenario large --out "$work/large" -q
"$bin" attribute --data "$work/large" --out "$work/attr_c" --models last_touch --group-by creator \
  --paths-out "$work/creator_paths.csv" -q >/dev/null
"$here/.venv/bin/python" "$here/markov_creators.py" --paths "$work/creator_paths.csv" --roicast "$bin" \
  --out "$here/results/markov_creators.md" "$@"
