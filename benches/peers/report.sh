#!/usr/bin/env bash
# The report at scale: runs the pipeline on the `large` world (5,000 creators) and measures
# the report's size and the time headless Chromium takes to load, lay out and serialise it
# (minus a blank page's time, i.e. the browser's own start-up), median of 3.
#   bash benches/peers/report.sh        (needs Debian chromium)
# Attribution runs the seven rule models only: exact Markov, Shapley and the data-driven
# fit grouped by 5,000 creators do not finish in reasonable time yet (see docs/pipeline.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
roicast="$root/target/release/roicast"
data="${ROICAST_REPORT_DATA:-$work/large}"
[ -f "$data/posts.parquet" ] || "$roicast" generate --scenario large --out "$data" --force -q
cat > "$work/report-large.toml" <<TOML
data = "$data"
out = "$work/report-large"
[attribution]
models = ["first_touch", "last_touch", "last_non_direct", "linear", "linear_distinct", "time_decay", "u_shaped"]
TOML
start=$(date +%s.%N)
"$roicast" run --config "$work/report-large.toml" -q
run_s=$(echo "$(date +%s.%N) - $start" | bc)
report="$work/report-large/report.html"
time_of() { for i in 1 2 3; do /usr/bin/time -f "%e" chromium --headless=new --no-sandbox --disable-gpu --dump-dom "$1" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 2p; }
page=$(time_of "file://$report")
blank=$(time_of "data:text/html,<p>x</p>")
{
  echo "# The report at scale (large world)"
  echo
  echo "Produced by \`bash benches/peers/report.sh\` on $(date -u +%F), $(nproc) cores."
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| pipeline wall time (all jobs, rule-based attribution models) | ${run_s%.*} s |"
  echo "| report size | $(( $(stat -c %s "$report") / 1024 )) KB (limit 5 MB) |"
  echo "| Chromium headless load + layout + DOM dump, median of 3 | ${page} s |"
  echo "| the same for a blank page (browser start-up) | ${blank} s |"
} | tee "$here/results/report.md"
