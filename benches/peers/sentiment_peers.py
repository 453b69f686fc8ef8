"""roicast sentiment vs Python vaderSentiment 3.3.2, in one run.

1. The same 20,000 comments (tests/fixtures/sentiment/creator_comments.csv tiled, exactly
   as benches/sentiment.rs builds them): Python polarity_scores single-thread (median of
   --repeat runs) beside criterion's medians for roicast VADER and the default model,
   1 thread and all cores.
2. --rows comments (default 1,000,000: the demo world's comments tiled) end to end
   through `roicast sentiment` (Parquet in, Parquet out): wall time and peak RSS.

Run through benches/peers/sentiment.sh.
"""

import argparse
import csv
import itertools
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


def comments(root):
    with open(root / "tests/fixtures/sentiment/creator_comments.csv", newline="", encoding="utf-8") as f:
        base = [r["text"] for r in csv.DictReader(f)]
    return list(itertools.islice(itertools.cycle(base), 20_000))


def python_vader(texts, repeat):
    analyzer = SentimentIntensityAnalyzer()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for t in texts:
            analyzer.polarity_scores(t)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def criterion(root):
    """Median seconds per iteration of each benchmark, from criterion's own estimates."""
    subprocess.run(
        ["cargo", "bench", "--locked", "-p", "roicast-benches", "--bench", "sentiment"],
        cwd=root, check=True, stdout=subprocess.DEVNULL,
    )
    out = {}
    base = root / "target/criterion/sentiment"
    for model in ["vader", "default_model"]:
        for threads in ["1_thread", "all_cores"]:
            est = base / f"{model}_{threads}" / "new/estimates.json"
            out[(model, threads)] = json.loads(est.read_text())["median"]["point_estimate"] / 1e9
    return out


def timed(cmd):
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    wall, rss = r.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--roicast", required=True)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    texts = comments(a.root)
    py = python_vader(texts, a.repeat)
    crit = criterion(a.root)
    n = len(texts)

    demo = a.workdir / "sentiment-demo"
    subprocess.run([a.roicast, "generate", "--scenario", "demo", "--out", str(demo), "--force", "-q"], check=True)
    base = pq.read_table(demo / "comments.parquet")
    reps = -(-a.rows // base.num_rows)
    big = pa.concat_tables([base] * reps).slice(0, a.rows)
    big_path = a.workdir / f"comments_{a.rows}.parquet"
    pq.write_table(big, big_path)
    e2e = {}
    for model in ["vader", "default"]:
        for threads in ["1", str(os.cpu_count())]:
            runs = [timed([a.roicast, "sentiment", "--input", str(big_path), "--output", str(a.workdir / "scored.parquet"),
                           "--model", model, "--threads", threads, "-q"]) for _ in range(a.repeat)]
            e2e[(model, threads)] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))

    lines = [
        "# Sentiment: roicast vs Python vaderSentiment 3.3.2",
        "",
        f"Machine: {os.cpu_count()} cores. Produced by `bash benches/peers/sentiment.sh` on "
        f"{time.strftime('%Y-%m-%d')}; medians of {a.repeat} Python runs and of criterion's samples.",
        "",
        f"## Scoring only: the same {n:,} creator comments",
        "",
        "| scorer | threads | median time | comments/s | × Python VADER (1 thread) |",
        "|---|---|---|---|---|",
        f"| Python vaderSentiment 3.3.2 | 1 | {py * 1e3:.0f} ms | {n / py:,.0f} | 1.0 |",
    ]
    for (model, threads), s in crit.items():
        name = "roicast VADER (exact)" if model == "vader" else "roicast default model"
        th = "1" if threads == "1_thread" else f"all ({os.cpu_count()})"
        lines.append(f"| {name} | {th} | {s * 1e3:.1f} ms | {n / s:,.0f} | {py / s:.0f} |")
    lines += [
        "",
        f"Scaling 1 → {os.cpu_count()} threads: VADER {crit[('vader', '1_thread')] / crit[('vader', 'all_cores')]:.2f}×, "
        f"default model {crit[('default_model', '1_thread')] / crit[('default_model', 'all_cores')]:.2f}×.",
        "",
        f"## End to end: {a.rows:,} comments, Parquet in → Parquet out (`roicast sentiment`)",
        "",
        "Includes reading, the non-English check, writing every input column plus the seven added ones.",
        "",
        "| model | threads | median wall | comments/s | peak RSS |",
        "|---|---|---|---|---|",
    ]
    for (model, threads), (wall, rss) in e2e.items():
        lines.append(f"| {model} | {threads} | {wall:.2f} s | {a.rows / wall:,.0f} | {rss:.0f} MiB |")
    lines.append("")
    a.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
