"""Every roicast job vs a polars (lazy, streaming) scan-and-aggregate of the columns it reads.

The floor any job must pay is reading its inputs. For each job of `roicast run`, the
baseline scans the same Parquet files with polars' streaming engine, selects the columns
the job reads and aggregates them: the row count, the sum of every numeric column and the
byte length of every string column (so strings are decoded, as the job decodes them).

roicast's per-job seconds come from `run.manifest.json` of full `roicast run`s (a fresh
output folder each time, so nothing is reused); each polars scan runs in its own process
under /usr/bin/time. Medians of --repeat runs, same machine, same files, same run.

Run through benches/peers/scan_ratio.sh.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ALL = None  # every column of the table

# What each job reads (tables of the dataset; `@credits` is the run's credits.parquet).
JOBS = {
    "validate": {t: ALL for t in [
        "creators", "campaigns", "posts", "post_snapshots", "comments", "tracking_assets", "sessions",
        "touchpoints", "customers", "orders", "costs", "campaign_history", "candidates"]},
    "sentiment": {"comments": ["comment_id", "text"]},
    "engagement": {t: ALL for t in [
        "creators", "posts", "post_snapshots", "comments", "sessions", "tracking_assets", "orders", "campaigns"]},
    "attribution": {
        "touchpoints": ALL,
        "orders": ["order_id", "user_id", "ordered_at", "revenue", "discount_code"],
        "sessions": ["session_id", "user_id", "started_at", "utm_content"],
        "tracking_assets": ALL,
    },
    "clv": {"orders": ALL, "customers": ALL},
    "roi": {t: ALL for t in ["orders", "costs", "creators", "tracking_assets", "campaigns"]},
    "history": {"@credits": ALL, "campaigns": ALL, "creators": ALL},
    "forecast": {t: ALL for t in ["campaign_history", "candidates", "creators"]},
    "report": {"@credits": ALL, "orders": ALL, "costs": ALL},
}

POLARS = r"""
import json, sys, polars as pl
spec = json.loads(sys.argv[1])
total = 0.0
for path, cols in spec:
    lf = pl.scan_parquet(path, hive_partitioning=False)
    schema = lf.collect_schema()
    names = list(schema.keys()) if cols is None else [c for c in cols if c in schema]
    aggs = [pl.len().alias("__n")]
    for c in names:
        d = schema[c]
        if d.is_numeric():
            aggs.append(pl.col(c).cast(pl.Float64).sum().alias(c))
        elif d == pl.String:
            aggs.append(pl.col(c).str.len_bytes().cast(pl.Float64).sum().alias(c))
        elif d == pl.Boolean:
            aggs.append(pl.col(c).cast(pl.Float64).sum().alias(c))
        else:
            aggs.append(pl.col(c).cast(pl.Int64).cast(pl.Float64).sum().alias(c))
    row = lf.select(aggs).collect(engine="streaming").row(0)
    total += sum(float(x or 0) for x in row)
print(total)
"""


def table_path(data: Path, table: str) -> str:
    if (data / f"{table}.parquet").exists():
        return str(data / f"{table}.parquet")
    if (data / table).is_dir():
        return str(data / table / "**" / "*.parquet")
    return ""


def timed(cmd):
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))[:300]} failed:\n{r.stderr[-2000:]}")
    wall, rss = r.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roicast", required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    run_out = a.workdir / "scan-ratio-run"
    config = a.workdir / "scan-ratio.toml"
    config.write_text(f'data = "{a.data.resolve()}"\nout = "{run_out.resolve()}"\n')
    job_secs = {j: [] for j in JOBS}
    job_peak = {j: [] for j in JOBS}
    run_walls = []
    scans = {j: [] for j in JOBS}
    for _ in range(a.repeat):
        shutil.rmtree(run_out, ignore_errors=True)
        wall, _ = timed([a.roicast, "run", "--config", str(config), "-q"])
        run_walls.append(wall)
        m = json.loads((run_out / "run.manifest.json").read_text())
        for j in JOBS:
            job_secs[j].append(m["jobs"][j]["seconds"])
            job_peak[j].append(m["jobs"][j].get("peak_rss_mib") or 0)
        credits = run_out / "attribution" / "credits.parquet"
        for j, tables in JOBS.items():
            spec = []
            for t, cols in tables.items():
                p = str(credits) if t == "@credits" else table_path(a.data, t)
                if p:
                    spec.append([p, cols])
            scans[j].append(timed([sys.executable, "-c", POLARS, json.dumps(spec)]))
    lines = [
        "# Every job vs a polars streaming scan-and-aggregate of what it reads",
        "",
        f"Produced by `bash benches/peers/scan_ratio.sh` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"data `{a.data}`; medians of {a.repeat} runs. roicast: the job's seconds inside `roicast run` "
        f"(whole run: median {statistics.median(run_walls):.1f} s); polars: its own process, "
        "`scan_parquet(...).select(columns).sum/len_bytes().collect(engine=\"streaming\")` over the same files.",
        "",
        "| job | roicast | polars scan | ratio | goal ≤ 3× |",
        "|---|---|---|---|---|",
    ]
    for j in JOBS:
        r = statistics.median(job_secs[j])
        p = statistics.median(w for w, _ in scans[j])
        ratio = r / p if p > 0 else float("inf")
        lines.append(f"| {j} | {r:.2f} s | {p:.2f} s | {ratio:.1f}× | {'yes' if ratio <= 3 else 'no'} |")
    lines.append("")
    a.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
