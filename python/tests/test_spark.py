"""roicast.spark on a local Spark (`local[2]`), classic and through Spark Connect: the
same outputs as the CLI on the demo world, the distributed fit equal to the
single-process one, and reruns that are the same bits."""

from __future__ import annotations

import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import roicast
import roicast.spark as rs

pytestmark = pytest.mark.spark

RULES = ["first_touch", "last_touch", "last_non_direct", "linear", "linear_distinct", "time_decay", "u_shaped",
         "shapley"]


@pytest.fixture(scope="session", params=["classic", "connect"])
def spark(request):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import the roicast of this venv
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.session.timeZone", "UTC"))
    if request.param == "classic":
        # Static configs: a Connect client cannot set them (it warns), so classic only.
        session = builder.master("local[2]").config("spark.ui.enabled", "false") \
            .config("spark.driver.memory", "2g").getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    else:
        session = builder.remote("local[2]").getOrCreate()
    session.mode = request.param
    yield session
    session.stop()


def sorted_by(t: pa.Table, keys) -> pa.Table:
    return t.sort_by([(k, "ascending") for k in keys])


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def read(spark, data, table):
    return spark.read.parquet(str(data / f"{table}.parquet"))


def test_sentiment_equals_the_cli(spark, demo, data):
    got = rs.score_sentiment(read(spark, data, "comments")).toArrow()
    want = pq.read_table(demo / "results/sentiment/comments_sentiment.parquet")
    got, want = sorted_by(got, ["comment_id"]), sorted_by(want, ["comment_id"])
    for name in ["comment_id", "text", "sentiment", "compound", "neg", "neu", "pos", "text_missing", "non_english",
                 "language"]:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def credits_by_key(t: pa.Table):
    keys = zip(t.column("order_id").to_pylist(), t.column("model").to_pylist(), t.column("touch_id").to_pylist())
    return dict(zip(keys, zip(t.column("credit").to_pylist(), t.column("group").to_pylist())))


def test_attribution_equals_the_cli_and_reruns_are_the_same_bits(spark, demo, data):
    tables = [read(spark, data, t) for t in ["touchpoints", "orders", "sessions", "tracking_assets"]]
    run = rs.attribute(*tables, group_by="creator", lookback="30d", half_life="7d")
    got = run.credits.toArrow()
    want = pq.read_table(demo / "results/attribution/credits.parquet")
    assert got.num_rows == want.num_rows
    g, w = credits_by_key(got), credits_by_key(want)
    assert g.keys() == w.keys()
    worst = {}
    for k, (wc, wg) in w.items():
        gc, gg = g[k]
        assert gg == wg, k
        if k[1] in RULES:
            assert gc == wc, f"{k}: rule models are exact ({gc} vs {wc})"
        worst[k[1]] = max(worst.get(k[1], 0.0), rel(gc, wc))
    assert worst["markov"] < 1e-9, worst
    assert worst["data_driven"] < 1e-8, worst
    # The distributed fit equals the CLI's single-process fit.
    cli_model = json.loads((demo / "results/attribution/data_driven_model.json").read_text())
    assert rel(run.model.doc["log_likelihood"], cli_model["log_likelihood"]) < 1e-12
    assert rel(run.model.baseline_per_day, cli_model["baseline_per_day"]) < 1e-9
    fitted = {e["group"]: e for e in run.model.doc["groups"]}
    assert fitted.keys() == {e["group"] for e in cli_model["groups"]}
    for e in cli_model["groups"]:
        for name in ["beta", "half_life_hours"]:
            assert rel(fitted[e["group"]][name], e[name]) < 1e-9, (e["group"], name)
    assert run.model.doc["iterations"] == cli_model["iterations"]
    # Totals per model and creator, merged in partition order.
    cli_summary = pa.csv.read_csv(demo / "results/attribution/attribution_summary.csv")
    want_totals = {(m, grp): (c, r) for m, grp, c, r in zip(*(cli_summary.column(x).to_pylist()
                   for x in ["model", "group", "conversions", "revenue"]))}
    got_totals = {(m, grp): (c, r) for m, grp, c, r in zip(*(run.summary.column(x).to_pylist()
                  for x in ["model", "group", "conversions", "revenue"]))}
    assert got_totals.keys() == want_totals.keys()
    for k, (c, r) in want_totals.items():
        assert rel(got_totals[k][0], c) < 1e-8 and rel(got_totals[k][1], r) < 1e-8, k
    if spark.mode == "classic":
        again = rs.attribute(*tables, group_by="creator", lookback="30d", half_life="7d")
        assert again.model.to_json() == run.model.to_json()
        assert again.summary.equals(run.summary)
        keys = ["order_id", "model", "touch_id"]
        assert sorted_by(again.credits.toArrow(), keys).equals(sorted_by(got, keys))


def test_clv_rfm_and_fits_equal_the_cli(spark, cli, data, tmp_path):
    cli("clv", "rfm", "--data", data, "--out", tmp_path / "rfm.parquet")
    want = sorted_by(pq.read_table(tmp_path / "rfm.parquet"), ["customer_id"])
    rfm = rs.clv_rfm(read(spark, data, "orders"), read(spark, data, "customers"))
    got = sorted_by(rfm.toArrow(), ["customer_id"])
    for name in want.column_names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    for model in ["bgnbd", "gamma-gamma"]:
        doc = cli.json("clv", "fit", "--model", model, "--rfm", tmp_path / "rfm.parquet")
        assert dict(rs.clv_fit(rfm, model=model)) == doc, model


def test_engagement_from_dataframes_equals_the_cli(spark, demo, data):
    tables = {t: read(spark, data, t) for t in ["creators", "posts", "post_snapshots", "comments", "sessions",
                                                  "tracking_assets", "orders", "campaigns"]}
    got = rs.engagement(tables.pop("creators"), tables.pop("posts"), tables.pop("post_snapshots"),
                        tables.pop("comments"), **tables)
    for name, file in [("posts_scored", "posts_scored.parquet"), ("creator_scorecard", "creator_scorecard.parquet")]:
        want = pq.read_table(demo / "results/engagement" / file)
        assert got[name].num_rows == want.num_rows
        for c in want.column_names:
            assert got[name].column(c).equals(want.column(c)), (name, c)


def test_a_bad_row_fails_the_job_naming_table_row_column_and_reason(spark, data):
    from pyspark.sql import functions as F

    orders = read(spark, data, "orders")
    bad = orders.withColumn("revenue", F.when(F.col("order_id") == orders.first()["order_id"], F.lit(-5.0))
                            .otherwise(F.col("revenue")))
    with pytest.raises(Exception) as e:
        rs.attribute(read(spark, data, "touchpoints"), bad, models=["last_touch"])
    text = str(e.value)
    assert "<partition" in text and "orders" in text and "revenue" in text, text[-2000:]
