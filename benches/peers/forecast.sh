#!/usr/bin/env bash
# Forecast scale benchmark: `roicast train forecast` on 100 k history rows and
# `roicast forecast` on 100 k candidates × 4 scenarios (the `large` world's tables tiled
# with pyarrow), wall time and peak RSS of each, medians of 3 runs.
#   bash benches/peers/setup.sh && bash benches/peers/forecast.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
roicast="$root/target/release/roicast"
data="${ROICAST_FORECAST_DATA:-$work/large}"
[ -f "$data/campaign_history.parquet" ] || "$roicast" generate --scenario large --out "$data" --force -q
"$here/.venv/bin/python" - "$data" "$work" <<'PY'
import sys, pyarrow as pa, pyarrow.parquet as pq
data, work = sys.argv[1], sys.argv[2]
for name, n in [("campaign_history", 100_000), ("candidates", 100_000)]:
    t = pq.read_table(f"{data}/{name}.parquet")
    big = pa.concat_tables([t] * (-(-n // t.num_rows))).slice(0, n)
    pq.write_table(big, f"{work}/{name}_100k.parquet")
PY
printf 'scenario,flat_fee,commission_rate,tiers\nflat,1000,0,\ncommission,0,0.15,\nhybrid,300,0.08,\ntiered,0,0,"[{""up_to"": 5000, ""rate"": 0.1}, {""up_to"": null, ""rate"": 0.2}]"\n' > "$work/scenarios4.csv"
run() { for i in 1 2 3; do /usr/bin/time -f "%e %M" "$@" -q 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 2p; }
train=$(run "$roicast" train forecast --history "$work/campaign_history_100k.parquet" --out "$work/fc100k.json")
fc=$(run "$roicast" forecast --model "$work/fc100k.json" --candidates "$work/candidates_100k.parquet" --scenarios "$work/scenarios4.csv" --budget 1000000 --out "$work/fc100k_out.parquet")
{
  echo "# Forecast at scale"
  echo
  echo "Produced by \`bash benches/peers/forecast.sh\` on $(date -u +%F), $(nproc) cores; median of 3 runs each."
  echo
  echo "| step | rows | wall | peak RSS |"
  echo "|---|---|---|---|"
  echo "| train forecast (ridge + 5-fold residual pool) | 100,000 history rows | ${train% *} s | $(( ${train#* } / 1024 )) MiB |"
  echo "| forecast + budget plan | 100,000 candidates × 4 scenarios = 400,000 rows | ${fc% *} s | $(( ${fc#* } / 1024 )) MiB |"
} | tee "$here/results/forecast.md"
