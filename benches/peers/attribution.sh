#!/usr/bin/env bash
# Attribution peer benchmark: roicast vs ChannelAttribution (rule models, Markov) and a
# numpy/scipy reference fit of the data-driven model, on the `large` world (10 M
# touchpoints), in one run. Writes benches/peers/results/attribution.md.
#
#   bash benches/peers/setup.sh        # once: Python peers into benches/peers/.venv
#   bash benches/peers/attribution.sh  [--repeat N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
bin="$root/target/release/roicast"
[ -d "$work/large" ] || "$bin" generate --scenario large --out "$work/large" -q
"$bin" attribute --data "$work/large" --out "$work/attr" --models last_touch --paths-out "$work/paths.csv" -q >/dev/null
end=$(python3 -c "import json;print(json.load(open('$work/large/truth.json'))['observation_end'])")
"$bin" train attribution --data "$work/large" --out "$work/hazard.json" --group-by channel-interaction \
  --observation-end "$end" --journeys-out "$work/journeys.parquet" -q >/dev/null
"$here/.venv/bin/python" "$here/attribution_peers.py" --paths "$work/paths.csv" --journeys "$work/journeys.parquet" \
  --data "$work/large" --observation-end "$end" --roicast "$bin" --out "$here/results/attribution.md" "$@"
