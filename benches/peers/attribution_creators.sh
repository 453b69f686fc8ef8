#!/usr/bin/env bash
# The data-driven model grouped by creator on the `large` world (5,000 creators, 10 M
# touchpoints): the hierarchical fit alone (`roicast train attribution --group-by creator`)
# and every model at once (`roicast attribute --group-by creator`), whole processes, wall
# time and peak RSS from /usr/bin/time. Writes benches/peers/results/attribution_creators.md.
#
#   bash benches/peers/attribution_creators.sh [--repeat N]   (ROICAST_BIN=path to skip the build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
repeat=1
[ "${1:-}" = "--repeat" ] && repeat="$2"
mkdir -p "$work" "$here/results"
# ROICAST_BIN: a roicast binary to measure instead of building this checkout's.
bin="${ROICAST_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
  bin="$root/target/release/roicast"
fi
[ -d "$work/large" ] || "$bin" generate --scenario large --out "$work/large" -q

# Runs a command `repeat` times; prints "median_wall_s max_rss_mb".
measure() {
  local walls=() rss=0
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null
    read -r w m <"$work/time.txt"
    walls+=("$w")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
  echo "$median $((rss / 1024))"
}

read -r fit_s fit_mb < <(measure "$bin" train attribution --data "$work/large" --group-by creator \
  --out "$work/creator_model.json" -q)
read -r all_s all_mb < <(measure "$bin" attribute --data "$work/large" --group-by creator \
  --out "$work/attr_creators" -q)
"$bin" train attribution --data "$work/large" --group-by creator --out "$work/creator_model.json" \
  --format json -q >"$work/creator_fit.json"
python3 - "$work/creator_fit.json" "$here/results/attribution_creators.md" "$fit_s" "$fit_mb" "$all_s" "$all_mb" "$repeat" <<'PY'
import json, statistics, sys
fit = json.load(open(sys.argv[1]))
out, fit_s, fit_mb, all_s, all_mb, repeat = sys.argv[2:]
h = fit["hierarchy"]
creators = [g for g in fit["groups"] if g.get("class")]
with_se = sum(1 for g in creators if g.get("beta_se") is not None)
def bucket(lo, hi):
    return [g for g in creators if lo <= g["n_touches"] < hi]
rows = []
for lo, hi in [(1, 100), (100, 1000), (1000, 10**12)]:
    b = bucket(lo, hi)
    if b:
        effects = [g["strength_effect"] for g in b]
        rows.append(f"| {lo}–{hi - 1 if hi < 10**12 else '∞'} | {len(b)} | {min(effects):.3f} | {statistics.median(effects):.3f} | {max(effects):.3f} |")
with open(out, "w") as f:
    f.write(f"""# The data-driven model by creator on the `large` world

`bash benches/peers/attribution_creators.sh --repeat {repeat}` — whole processes, median wall of {repeat}
run(s), peak RSS the largest seen; 2 cores.

| command | wall s | peak RSS MB |
|---|---|---|
| `roicast train attribution --group-by creator` (journeys + hierarchical fit + file) | {fit_s} | {fit_mb} |
| `roicast attribute --group-by creator` (all ten models, fit included, credits written) | {all_s} | {all_mb} |

Fit: {fit['journeys']['journeys']} journeys ({fit['journeys']['conversions']} converted), {len(fit['groups'])} groups of which {len(creators)} creators
shrunk toward `{h['classes'][0]['class']}` (β {h['classes'][0]['beta']:.4g}, half-life {h['classes'][0]['half_life_hours']:.1f} h);
σ of log β {h['sigma_log_beta']:.3f}, of log half-life {h['sigma_log_half_life']:.3f}; {h['sigma_updates']} σ updates,
{fit['iterations']} Newton iterations; standard errors: {h['standard_errors']}; {with_se} of {len(creators)} creators have one.

Creator strength effects (β over the class's) by the creator's touches in the fit:

| touches | creators | min | median | max |
|---|---|---|---|---|
""" + "\n".join(rows) + "\n")
print(open(out).read())
PY
