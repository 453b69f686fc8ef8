"""Spark local[2] vs the CLI on the same machine and data: scoring comments, attributing.

Usage: python benches/peers/python_spark.py WORLD [PARTITIONS]
WORLD is a generated world (`roicast generate --scenario large`); the CLI is
ROICAST_BIN (default target/release/roicast). One run of each (the large world takes
minutes); writes a markdown report to stdout: wall seconds, ratios, and where Spark's
time goes (per pass, from AttributionRun.timings).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ["PYSPARK_PYTHON"] = sys.executable

import pyarrow.parquet as pq  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

import roicast.spark as rs  # noqa: E402

world = Path(sys.argv[1])
partitions = int(sys.argv[2]) if len(sys.argv) > 2 else 8
binary = os.environ.get("ROICAST_BIN", str(Path(__file__).resolve().parents[2] / "target/release/roicast"))
scratch = Path(tempfile.mkdtemp(prefix="bench-spark-"))


def table(name: str) -> str:
    p = world / f"{name}.parquet"
    return str(p if p.exists() else world / name)


def cli(*args) -> float:
    t = time.perf_counter()
    subprocess.run([binary, "--quiet", *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


rows = []
try:
    comments = pq.ParquetFile(table("comments")).metadata.num_rows if Path(table("comments")).is_file() else None
    t_cli_sent = cli("sentiment", "--input", table("comments"), "--output", scratch / "cli_sentiment.parquet")
    t_cli_att = cli("attribute", "--data", world, "--out", scratch / "cli_att", "--group-by", "channel")
    credits_rows = pq.ParquetFile(scratch / "cli_att/credits.parquet").metadata.num_rows

    t0 = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", str(partitions))
             .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "6g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    t_start = time.perf_counter() - t0

    t0 = time.perf_counter()
    rs.score_sentiment(spark.read.parquet(table("comments"))).write.mode("overwrite").parquet(
        str(scratch / "spark_sentiment"))
    t_spark_sent = time.perf_counter() - t0

    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "65536")
    t0 = time.perf_counter()
    rs.score_sentiment(spark.read.parquet(table("comments"))).write.mode("overwrite").parquet(
        str(scratch / "spark_sentiment_64k"))
    t_spark_sent64 = time.perf_counter() - t0
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")

    read = lambda t: spark.read.parquet(table(t))  # noqa: E731
    t0 = time.perf_counter()
    run = rs.attribute(read("touchpoints"), read("orders"), read("sessions"), read("tracking_assets"),
                       group_by="channel", partitions=partitions)
    t_passes = time.perf_counter() - t0
    t1 = time.perf_counter()
    run.credits.write.mode("overwrite").parquet(str(scratch / "spark_credits"))
    run.unpersist()
    t_credits = time.perf_counter() - t1
    t_spark_att = time.perf_counter() - t0

    print(f"World: `{world}`; comments: {comments}; credit rows: {credits_rows}; Spark `local[2]`, "
          f"{partitions} partitions, session start {t_start:.1f} s (not counted below).\n")
    print("| job | CLI s | Spark local[2] s | Spark / CLI |")
    print("|---|---:|---:|---:|")
    print(f"| sentiment, every comment → Parquet | {t_cli_sent:.1f} | {t_spark_sent:.1f} | {t_spark_sent / t_cli_sent:.2f} |")
    print(f"| same, `maxRecordsPerBatch` 65 536 | {t_cli_sent:.1f} | {t_spark_sent64:.1f} | {t_spark_sent64 / t_cli_sent:.2f} |")
    print(f"| attribution, 10 models by channel → credits Parquet | {t_cli_att:.1f} | {t_spark_att:.1f} | "
          f"{t_spark_att / t_cli_att:.2f} |")
    print("\nWhere Spark's attribution time goes (driver wall seconds):\n")
    print("| pass | s |")
    print("|---|---:|")
    for k, v in run.timings.items():
        print(f"| {k} | {v:.1f} |" if k.endswith("_s") else f"| {k} | {v} |")
    print(f"| credits (write) | {t_credits:.1f} |")
    spark.stop()
finally:
    shutil.rmtree(scratch, ignore_errors=True)
