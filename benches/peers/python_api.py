"""Python API vs CLI on the same job and data: medians of N alternating runs.

Usage: python benches/peers/python_api.py DEMO_DIR [N]   (DEMO_DIR from `roicast demo`)
The CLI is timed as a process (start, read Parquet, compute, write); the API as a call
(import the Arrow tables, compute with the GIL released, read the outputs back as
pyarrow tables). Writes a markdown table to stdout.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import roicast

demo = Path(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
data = demo / "data"
binary = os.environ.get("ROICAST_BIN", str(Path(__file__).resolve().parents[2] / "target/release/roicast"))
world = roicast.read_dataset(data)


def cli(*args):
    out = tempfile.mkdtemp(prefix="bench-cli-")
    try:
        t = time.perf_counter()
        subprocess.run([binary, "--quiet", *[a.replace("@OUT", out) for a in args]], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t
    finally:
        shutil.rmtree(out, ignore_errors=True)


def api(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


jobs = {
    "attribute (10 models, by creator)": (
        lambda: cli("attribute", "--data", str(data), "--out", "@OUT", "--group-by", "creator"),
        lambda: roicast.attribute(data, group_by="creator"),
        lambda: roicast.attribute(world, group_by="creator"),
    ),
    "sentiment (comments)": (
        lambda: cli("sentiment", "--data", str(data), "--out", "@OUT"),
        lambda: roicast.sentiment(data),
        lambda: roicast.sentiment(world["comments"]),
    ),
    "clv (BG/NBD + Gamma-Gamma, by creator)": (
        lambda: cli("clv", "--data", str(data), "--out", "@OUT", "--margin-rate", "0.58"),
        lambda: roicast.clv.value(data, margin_rate=0.58),
        lambda: roicast.clv.value(world, margin_rate=0.58),
    ),
}

print(f"`bash benches/peers/python_api.sh` on the demo world (`{data}`), medians of {n} alternating runs,\n"
      f"one process, {os.cpu_count()} cores. CLI: the `roicast` process (read Parquet, compute, write). "
      "API, folder: `roicast.<job>(folder)` (the same files, outputs read back as pyarrow tables). "
      "API, in-memory: the tables already in memory (`roicast.read_dataset`, not timed).\n")
print("| job | CLI median s | API, folder s | ratio | API, in-memory s | ratio |")
print("|---|---:|---:|---:|---:|---:|")
for name, (c, folder, memory) in jobs.items():
    times = {"cli": [], "folder": [], "memory": []}
    for _ in range(n):
        times["cli"].append(c())
        times["folder"].append(api(folder))
        times["memory"].append(api(memory))
    m = {k: statistics.median(v) for k, v in times.items()}
    print(f"| {name} | {m['cli']:.2f} | {m['folder']:.2f} | {m['folder'] / m['cli']:.2f} | "
          f"{m['memory']:.2f} | {m['memory'] / m['cli']:.2f} |")
