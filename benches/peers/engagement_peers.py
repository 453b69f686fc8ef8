"""roicast engagement vs a polars read-and-sum of the same Parquet files (same run).

The baseline is the floor any engagement pass must pay: read every table the job reads
(creators, posts, post_snapshots, comments, sessions, tracking_assets, orders, campaigns)
and sum their numeric columns. Each command runs in its own process under
/usr/bin/time (wall, peak RSS); medians of --repeat runs.

Run through benches/peers/engagement.sh.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TABLES = ["creators", "posts", "post_snapshots", "comments", "sessions", "tracking_assets", "orders", "campaigns"]

POLARS = r"""
import sys, polars as pl
total = 0.0
for t in sys.argv[2:]:
    df = pl.read_parquet(f"{sys.argv[1]}/{t}.parquet")
    num = [c for c, d in df.schema.items() if d.is_numeric()]
    if num:
        total += float(df.select(pl.sum_horizontal([pl.col(c).cast(pl.Float64).sum() for c in num])).item())
print(total)
"""


def timed(cmd):
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr}")
    wall, rss = r.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roicast", required=True)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    data = Path(os.environ.get("ROICAST_ENGAGEMENT_DATA", a.workdir / "large"))
    if not (data / "posts.parquet").exists():
        subprocess.run([a.roicast, "generate", "--scenario", "large", "--out", str(data), "--force", "-q"], check=True)
    rows = {}
    import pyarrow.parquet as pq
    for t in TABLES:
        rows[t] = pq.ParquetFile(data / f"{t}.parquet").metadata.num_rows
    runs = {"polars read + sum": [], "roicast engagement": []}
    for _ in range(a.repeat):
        runs["polars read + sum"].append(timed([sys.executable, "-c", POLARS, str(data)] + TABLES))
        runs["roicast engagement"].append(timed([a.roicast, "engagement", "--data", str(data), "--out", str(a.workdir / "engagement-out"), "-q"]))
    med = {k: (statistics.median(r[0] for r in v), max(r[1] for r in v)) for k, v in runs.items()}
    base = med["polars read + sum"][0]
    lines = [
        "# Engagement job vs a polars read-and-sum of the same files",
        "",
        f"Produced by `bash benches/peers/engagement.sh` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
        f"medians of {a.repeat} runs, each in its own process.",
        "",
        "Rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()),
        "",
        "| command | median wall | peak RSS | × polars |",
        "|---|---|---|---|",
    ]
    for k, (wall, rss) in med.items():
        lines.append(f"| {k} | {wall:.2f} s | {rss:.0f} MiB | {wall / base:.1f} |")
    lines.append("")
    a.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
