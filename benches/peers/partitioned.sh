#!/usr/bin/env bash
# Attribution of a world stored whole vs partitioned by user into 16 buckets: wall, peak
# RSS, and a byte comparison of the outputs (issue 16, item 2).
#   bash benches/peers/partitioned.sh [SCENARIO] [REPEAT]     (default: large 3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${ROICAST_BENCH_DIR:-$root/target/peer-bench}"
scenario="${1:-large}"
repeat="${2:-3}"
mkdir -p "$work" "$here/results"
cargo build --release --locked -p roicast-engine --manifest-path "$root/Cargo.toml"
bin="${ROICAST_BIN:-$root/target/release/roicast}"
flat="$work/$scenario"
part="$work/$scenario-p16"
[ -e "$flat/truth.json" ] || "$bin" generate --scenario "$scenario" --out "$flat" --force -q
[ -e "$part/truth.json" ] || "$bin" generate --scenario "$scenario" --partitions 16 --out "$part" --force -q
out="$here/results/partitioned_$scenario.md"
{
  echo "# Attribution of \`$scenario\`: one table vs 16 user buckets"
  echo
  echo "Produced by \`bash benches/peers/partitioned.sh $scenario $repeat\` on $(date -u +%F), $(nproc) cores;"
  echo "\`roicast attribute --data DIR --out OUT --group-by creator\` (all ten models, hierarchical fit),"
  echo "each a whole process under /usr/bin/time, alternating; medians of $repeat."
  echo
  echo "| layout | wall (runs) | median | peak RSS (max) |"
  echo "|---|---|---|---|"
} > "$out"
declare -A walls rss
for i in $(seq "$repeat"); do
  for layout in flat p16; do
    d="$flat"; [ "$layout" = p16 ] && d="$part"
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$bin" attribute --data "$d" --out "$work/attr-$scenario-$layout" --group-by creator -q
    read -r w m < "$work/time.txt"
    walls[$layout]="${walls[$layout]:-} $w"
    rss[$layout]="${rss[$layout]:-} $m"
  done
done
for layout in flat p16; do
  med=$(printf '%s\n' ${walls[$layout]} | sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2] + a[NR/2+1]) / 2}')
  max=$(printf '%s\n' ${rss[$layout]} | sort -n | tail -1)
  echo "| $layout |${walls[$layout]} s | $med s | $((max / 1024)) MiB |" >> "$out"
done
echo >> "$out"
for f in credits.parquet attribution_summary.csv data_driven_model.json; do
  if cmp -s "$work/attr-$scenario-flat/$f" "$work/attr-$scenario-p16/$f"; then
    echo "- \`$f\`: byte-identical ($(sha256sum "$work/attr-$scenario-p16/$f" | cut -c1-16)…)" >> "$out"
  else
    echo "- \`$f\`: DIFFERS" >> "$out"
  fi
done
cat "$out"
