"""The Python API gives the CLI's numbers on the demo world (tables equal, not close)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import roicast


def read(path) -> pa.Table:
    path = str(path)
    return pq.read_table(path) if path.endswith(".parquet") else pacsv.read_csv(path)


def equal(a: pa.Table, b: pa.Table) -> None:
    """Same columns, types and values (chunking and schema metadata aside)."""
    assert a.schema.names == b.schema.names
    assert a.num_rows == b.num_rows
    for name in a.schema.names:
        x, y = a.column(name), b.column(name)
        assert x.type == y.type, name
        assert x.equals(y), f"column {name} differs"


def test_version_and_the_wheel_imports_in_a_fresh_interpreter():
    out = subprocess.run([sys.executable, "-c", "import roicast; print(roicast.__version__)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == roicast.__version__
    assert roicast.__version__.count(".") == 2


def test_read_dataset_conforms_every_table(data):
    world = roicast.read_dataset(data)
    for t in ["touchpoints", "orders", "customers", "comments", "posts", "creators"]:
        assert t in world
    assert world["orders"].schema.field("ordered_at").type == pa.timestamp("us", tz="UTC")
    names = {t["table"] for t in roicast.schema()}
    assert set(world) <= names


def test_validate_reports_what_the_cli_reports(cli, data, scratch):
    want = cli.json("validate", "--data", data)
    got = roicast.validate(data)
    assert got["ok"] is True and want["ok"] is True
    assert [(t["table"], t["rows"]) for t in got["tables"]] == [(t["table"], t["rows"]) for t in want["tables"]]


def test_sentiment_equals_the_cli_and_shares_the_input_buffers(demo, data):
    want = read(demo / "results/sentiment/comments_sentiment.parquet")
    comments = roicast.read_dataset(data)["comments"]
    got = roicast.sentiment(comments)
    equal(got, want)
    # Zero copy: a passed-through column is the input's memory, not a copy of it.
    src, out = comments.column("text").chunks[0], got.column("text").chunks[0]
    assert src.buffers()[2].address == out.buffers()[2].address
    assert src.buffers()[1].address == out.buffers()[1].address
    # The dataset folder and a file give the same rows.
    equal(roicast.sentiment(data), want)
    equal(roicast.sentiment(data / "comments.parquet"), want)


@pytest.mark.parametrize("kind", ["polars", "pandas", "pyarrow-reader"])
def test_sentiment_takes_polars_pandas_and_streams(kind):
    texts = ["I love it, amazing quality", "terrible, broke in a day", None, "ok"]
    base = roicast.sentiment(pa.table({"text": texts}))
    frame = {"polars": lambda: pl.DataFrame({"text": texts}),
             "pandas": lambda: pd.DataFrame({"text": texts}),
             "pyarrow-reader": lambda: pa.table({"text": texts}).to_reader()}[kind]()
    got = roicast.sentiment(frame)
    for c in ["sentiment", "compound", "neg", "neu", "pos", "text_missing"]:
        assert got.column(c).to_pylist() == base.column(c).to_pylist(), c
    assert base.column("sentiment").to_pylist()[:2] == ["positive", "negative"]


def test_attribute_equals_the_cli_from_a_folder_memory_and_polars(demo, data):
    want_credits = read(demo / "results/attribution/credits.parquet")
    want_summary = read(demo / "results/attribution/attribution_summary.csv")
    # The demo's run grouped by creator with lookback 30d and half-life 7d.
    kw = dict(group_by="creator", lookback="30d", half_life="7d")
    from_folder = roicast.attribute(data, **kw)
    equal(from_folder.credits, want_credits)
    equal(from_folder.summary_table, want_summary)
    world = roicast.read_dataset(data)
    from_memory = roicast.attribute(world, **kw)
    equal(from_memory.credits, want_credits)
    tables = {t: pl.from_arrow(world[t]) for t in ["touchpoints", "orders", "sessions", "tracking_assets"]}
    from_polars = roicast.attribute(tables, **kw)
    equal(from_polars.credits, want_credits)
    assert from_folder.model.group_by == "creator"
    with open(demo / "results/attribution/data_driven_model.json") as f:
        assert from_folder.model.doc == json.load(f)


def test_attribution_threads_do_not_change_a_bit(data):
    world = roicast.read_dataset(data)
    one = roicast.attribute(world, models=["markov", "data_driven"], threads=1)
    two = roicast.attribute(world, models=["markov", "data_driven"], threads=2)
    equal(one.credits, two.credits)
    assert one.model.doc == two.model.doc


def test_train_attribution_equals_the_cli_and_round_trips(cli, data, scratch):
    file = scratch / "model.json"
    cli("train", "attribution", "--data", data, "--out", file, "--group-by", "creator")
    want = json.loads(file.read_text())
    model = roicast.train_attribution(data, group_by="creator")
    assert model.doc == want
    back = roicast.AttributionModel.from_json(model.to_json())
    assert back.doc == want
    assert model.estimates.num_rows == len(want["groups"])
    cli("attribute", "--data", data, "--out", scratch / "att", "--group-by", "creator",
        "--models", "data_driven", "--model", file)
    applied = back.apply(data)
    equal(applied.credits, read(scratch / "att/credits.parquet"))


def test_attribute_paths_equals_the_cli(cli, data, scratch):
    paths = scratch / "paths.csv"
    cli("attribute", "--data", data, "--out", scratch / "att", "--models", "first_touch", "--paths-out", paths)
    cli("attribute", "--paths", paths, "--out", scratch / "totals.csv")
    want = read(scratch / "totals.csv")
    got = roicast.attribute_paths(paths).totals
    assert got.column_names == want.column_names
    for c in got.column_names:
        assert got.column(c).to_pylist() == want.column(c).to_pylist(), c
    from_table = roicast.attribute_paths(read(paths)).totals
    assert from_table.equals(got)


def test_clv_rfm_fit_and_value_equal_the_cli(cli, demo, data, scratch):
    cli("clv", "rfm", "--data", data, "--out", scratch / "rfm.parquet")
    want = read(scratch / "rfm.parquet")
    rfm = roicast.clv.rfm(data)
    equal(rfm, want)
    equal(roicast.clv.rfm(roicast.read_dataset(data)), want)
    for model in ["bgnbd", "pareto-nbd", "gamma-gamma"]:
        doc = cli.json("clv", "fit", "--model", model, "--rfm", scratch / "rfm.parquet")
        fit = roicast.clv.fit(rfm, model=model)
        assert dict(fit) == doc, model
        assert set(fit.standard_errors) == set(fit.params)
    value = roicast.clv.value(data, model="bgnbd", horizon="12mo", discount_rate="0.1/yr", margin_rate=0.58)
    equal(value.customer_clv, read(demo / "results/clv/customer_clv.parquet"))
    equal(value.cohort_clv, read(demo / "results/clv/cohort_clv.csv"))


def test_engagement_equals_the_cli(demo, data):
    got = roicast.engagement(data)
    for name, file in [("posts_scored", "posts_scored.parquet"), ("creator_scorecard", "creator_scorecard.parquet"),
                       ("emv", "emv.csv"), ("brand_health", "brand_health.csv")]:
        equal(got[name], read(demo / "results/engagement" / file))


def test_roi_run_report_equal_the_cli(demo, data, scratch):
    got = roicast.roi(data, results=demo / "results", margin_rate=0.58)
    for name, file in [("roi", "roi.parquet"), ("roi_summary", "roi_summary.csv"),
                       ("creator_campaign", "creator_campaign.csv")]:
        equal(got[name], read(demo / "results/roi" / file))
    out = scratch / "results"
    summary = roicast.run(demo / "roicast.toml", out=out)
    assert summary
    for rel in ["attribution/credits.parquet", "clv/customer_clv.parquet", "roi/roi.parquet",
                "engagement/creator_scorecard.parquet", "forecast/forecast.csv"]:
        equal(read(out / rel), read(demo / "results" / rel))
    html = scratch / "report.html"
    roicast.report(out, html)
    assert html.stat().st_size > 10_000 and "<html" in html.read_text()[:2000].lower()


def test_alerts_equal_the_cli(cli, demo, data, scratch):
    got = roicast.alerts(data, results=demo / "results")
    equal(got["alerts"], read(demo / "results/alerts/alerts.parquet"))
    assert got.summary["alerts"] == got["alerts"].num_rows > 0
    assert set(got["alerts"].column("kind").to_pylist()) <= {
        "engagement_spike", "engagement_drop", "ctr_drop", "conversion_drop", "sentiment_shift", "pace_over_budget"}
    assert got["coverage"].num_rows > got["alerts"].num_rows
    late = roicast.alerts(data, results=demo / "results", since="2025-12-01", method="robust")
    assert 0 < late["alerts"].num_rows < got["alerts"].num_rows
    with pytest.raises(roicast.ConfigError):
        roicast.alerts(data, results=demo / "results", since="yesterday")


def test_forecast_train_and_predict_equal_the_cli(cli, demo, data, scratch):
    history = [data / "campaign_history.parquet", demo / "results/history/campaign_history.parquet"]
    model = roicast.forecast.train(history)
    assert model.file_bytes == (demo / "results/forecast/forecast_model.json").read_bytes()
    got = roicast.forecast.predict(model, data / "candidates.parquet", scenarios=demo / "scenarios.csv",
                                   budget=10000.0, probability=0.8)
    cli("forecast", "--model", demo / "results/forecast/forecast_model.json", "--candidates",
        data / "candidates.parquet", "--scenarios", demo / "scenarios.csv", "--budget", "10000",
        "--probability", "0.8", "--out", scratch / "f.parquet")
    equal(got.forecast, read(scratch / "f.parquet"))
    from_table = roicast.forecast.predict(model, read(data / "candidates.parquet"),
                                          scenarios=read(demo / "scenarios.csv"), budget=10000.0, probability=0.8)
    equal(from_table.forecast, got.forecast)


def test_import_equals_the_cli(cli, demo, scratch):
    src = demo / "exports/shopify/orders_export.csv"
    plan = demo / "exports/plan.csv"
    cli("import", "shopify-orders", "--input", src, "--plan", plan, "--out", scratch / "cli", "--id-salt", "s")
    report = roicast.import_("shopify-orders", src, scratch / "py", plan=plan, salt="s")
    assert report
    for t in ["orders", "customers"]:
        equal(read(scratch / "py" / f"{t}.parquet"), read(scratch / "cli" / f"{t}.parquet"))


def test_a_bad_row_raises_input_error_with_file_row_column_reason(data):
    world = roicast.read_dataset(data)
    orders = world["orders"].slice(0, 5)
    revenue = orders.column("revenue").to_pylist()
    revenue[2] = -10.0
    bad = orders.set_column(orders.schema.get_field_index("revenue"), "revenue", pa.array(revenue, pa.float64()))
    with pytest.raises(roicast.InputError) as e:
        roicast.attribute({"touchpoints": world["touchpoints"].slice(0, 100), "orders": bad})
    err = e.value
    assert err.file == "<python>/orders"
    assert err.row == 3
    assert err.column == "revenue"
    assert "negative" in err.reason or ">= 0" in err.reason or "0" in err.reason
    assert err.rejects and err.rejects[0]["row"] == 3
    assert isinstance(err, roicast.Error)


def test_bad_settings_raise_config_error(data):
    with pytest.raises(roicast.ConfigError, match="nope"):
        roicast.attribute(data, models=["nope"])
    with pytest.raises(roicast.ConfigError, match="bogus"):
        roicast.attribute(data, bogus=1)
    with pytest.raises(roicast.ConfigError):
        roicast.clv.value(data, time_unit="fortnights")
    with pytest.raises(roicast.ConfigError):
        roicast.set_threads(0)


def test_a_failed_fit_raises_model_error(data):
    world = roicast.read_dataset(data)
    no_orders = world["orders"].slice(0, 0)
    with pytest.raises(roicast.Error):
        roicast.train_attribution({"touchpoints": world["touchpoints"].slice(0, 1000), "orders": no_orders})
