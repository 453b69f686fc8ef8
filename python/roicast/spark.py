"""roicast on Spark, through the DataFrame API only (``mapInArrow``), so the same code
runs on classic clusters, under Spark Connect and on Databricks serverless.

Every function hands whole partitions to the engine as Arrow and never relies on the
order of rows inside a partition. Jobs grouped by a key (attribution by ``user_id``, CLV
by ``customer_id``) co-partition their tables with ``repartition(n, key)``; values that
must come from the whole data (the end of observation, the Markov chain, the data-driven
model) are found in a first pass and handed to every partition; fits reduce
per-partition partials on the driver in partition order, so a rerun is the same bits.
Inside each task the engine's threads are sized from ``TaskContext.cpus()``.

>>> credits, summary = roicast.spark.attribute(touchpoints, orders, sessions,     # doctest: +SKIP
...                                           tracking_assets, group_by="creator")
>>> credits.write.parquet("s3://bucket/attribution/credits")                       # doctest: +SKIP

See docs/spark.md for installing the wheel on a cluster and sizing partitions.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pyarrow as pa

from . import AttributionModel, _native
from .clv import ClvFit

__all__ = ["AttributionRun", "attribute", "clv_fit", "clv_rfm", "engagement", "score_sentiment", "train_attribution"]

_TABLE = "_roicast_table"


def _spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    try:
        return from_arrow_schema(schema, prefer_timestamp_ntz=False)
    except TypeError:  # Spark 3.x: no prefer_timestamp_ntz
        return from_arrow_schema(schema)


def _arrow_schema(df) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(df.schema, timezone="UTC")
    except TypeError:  # Spark 3.x: no timezone argument
        return to_arrow_schema(df.schema)


def _to_arrow(df) -> pa.Table:
    """Collects a (small) DataFrame of partials as Arrow."""
    if hasattr(df, "toArrow"):  # Spark >= 4.0, classic and Connect
        return df.toArrow()
    return pa.Table.from_batches(df._collect_as_arrow())  # Spark 3.x classic


def _task() -> Tuple[int, Optional[int]]:
    """(partition id, cores of this task) inside a Spark task."""
    from pyspark import TaskContext

    tc = TaskContext.get()
    if tc is None:
        return 0, None
    try:
        cpus = int(tc.cpus())
    except Exception:  # noqa: BLE001 - older Spark: no cpus()
        cpus = None
    return tc.partitionId(), cpus


def _ipc(table: Optional[pa.Table]) -> Optional[bytes]:
    if table is None:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: Optional[bytes]) -> Optional[pa.Table]:
    if data is None:
        return None
    return pa.ipc.open_stream(data).read_all()


def _pack(tables: Dict[str, Any], key: str, partitions: Optional[int]):
    """One DataFrame holding several tables' rows (each as a struct column), hash
    partitioned by ``key`` so every row of a key is in one partition."""
    from pyspark.sql import functions as F

    parts = []
    for name, df in tables.items():
        if df is None:
            continue
        if key not in df.columns:
            raise _native.InputError(f"table `{name}` has no `{key}` column to partition by (columns: {', '.join(df.columns)})")
        parts.append(df.select(F.col(key).alias("_roicast_key"), F.lit(name).alias(_TABLE),
                               F.struct(*[F.col(c) for c in df.columns]).alias(name)))
    packed = parts[0]
    for p in parts[1:]:
        packed = packed.unionByName(p, allowMissingColumns=True)
    n = partitions or packed.sparkSession.conf.get("spark.sql.shuffle.partitions")
    return packed.repartition(int(n), "_roicast_key")


def _unpack(batches: Iterator[pa.RecordBatch], names: Sequence[str]) -> Optional[Dict[str, pa.Table]]:
    """A partition's packed rows split back into its tables (None for no rows)."""
    import pyarrow.compute as pc

    rows = list(batches)
    if not rows:
        return None
    t = pa.Table.from_batches(rows)
    out = {}
    for name in names:
        if name not in t.column_names:
            continue
        part = t.filter(pc.equal(t[_TABLE], name)).column(name).combine_chunks()
        out[name] = pa.Table.from_batches([pa.RecordBatch.from_struct_array(part)]) if len(part) else \
            pa.Table.from_batches([], schema=pa.schema(list(part.type)))
    return out


def _settings(options: Dict[str, Any]) -> str:
    # `data` and `out` name no folder here: the tables come from the partitions.
    return json.dumps({"data": "<spark>", "out": "<spark>", **{k: v for k, v in options.items() if v is not None}})


def _map(packed, names: Sequence[str], kernel: Callable[[Dict[str, pa.Table], int], pa.RecordBatch], schema: pa.Schema,
         shared: Optional[Dict[str, bytes]] = None):
    """``mapInArrow`` of ``kernel(tables, partition)`` over every partition of ``packed``."""

    def run(batches):
        from roicast import _native as N

        partition, cpus = _task()
        N.set_threads(cpus)
        tables = _unpack(batches, names)
        if tables is None:
            return
        for name, data in (shared or {}).items():
            tables[name] = _from_ipc(data)
        out = kernel(tables, partition)
        if out.num_rows:
            yield out

    return packed.mapInArrow(run, _spark_schema(schema))


# ---------------------------------------------------------------------------------------
# Sentiment


def score_sentiment(df, text_col: str = "text", model: str = "default"):
    """Scores ``df[text_col]``: every column of ``df`` plus the sentiment columns (as
    ``roicast sentiment``), one engine call per batch (``mapInArrow``, no shuffle)."""
    out_schema = _native.scored_schema(_arrow_schema(df))

    def run(batches):
        from roicast import _native as N

        partition, cpus = _task()
        first = 1
        for b in batches:
            yield N.score_batch(b, model, text_col, f"<partition {partition}>", first, cpus)
            first += b.num_rows

    return df.mapInArrow(run, _spark_schema(out_schema))


# ---------------------------------------------------------------------------------------
# Attribution

_JOURNEY_TABLES = ("touchpoints", "orders", "sessions")


class AttributionRun:
    """What :func:`attribute` returns: ``credits`` (a lazy DataFrame, the columns of
    ``credits.parquet``), ``summary`` (totals per model and group, a ``pyarrow.Table``
    with the columns of ``attribution_summary.csv``), ``model`` (the data-driven model
    used) and ``globals`` (end of observation, groups, Markov removal effects)."""

    def __init__(self, credits, summary: pa.Table, model: Optional[AttributionModel], globals_: Dict[str, Any],
                 timings: Dict[str, float], packed=None):
        self._packed = packed
        self.credits = credits
        self.summary = summary
        self.model = model
        self.globals = globals_
        #: Seconds per pass on the driver (scan, fit_stats, fit, totals) and Newton passes.
        self.timings = timings

    def __iter__(self):
        return iter((self.credits, self.summary))

    def unpersist(self) -> None:
        """Releases the shuffled input the passes (and ``credits``) read; call it once
        ``credits`` is written (a later action on ``credits`` shuffles again)."""
        if self._packed is not None:
            self._packed.unpersist()


def _wants(models: Optional[Sequence[str]], name: str) -> bool:
    return models is None or name in models


def _prepare(touchpoints, orders, sessions, tracking_assets, partitions, settings: str):
    shared = {"tracking_assets": _ipc(_to_arrow(tracking_assets))} if tracking_assets is not None else {}
    # Persisted: every pass reads the same shuffled partitions instead of shuffling again.
    packed = _pack({"touchpoints": touchpoints, "orders": orders, "sessions": sessions}, "user_id",
                   partitions).persist()
    partial = _native.partial_schema()
    scan = _to_arrow(_map(packed, _JOURNEY_TABLES,
                          lambda t, p: _native.attribution_scan(settings, t, p), partial, shared))
    globals_ = _native.attribution_merge_scan(settings, scan)
    return packed, shared, globals_


def _fit(packed, shared, settings: str, globals_: str, fit_stats: pa.Table,
         timings: Optional[Dict[str, float]] = None) -> Tuple[str, Optional[Dict[str, Any]]]:
    """Merges the fit stats; fits the data-driven model when `fit_stats` has its summary."""
    globals_, summary = _native.attribution_merge_fit_stats(settings, globals_, fit_stats)
    partial = _native.partial_schema()
    g = globals_
    rows = _map(packed, _JOURNEY_TABLES, lambda t, p: _native.attribution_hazard_rows(settings, g, t, p),
                _native.hazard_rows_schema(), shared).persist()
    try:
        passes = [0]

        def derive(model_json: str) -> pa.Table:
            passes[0] += 1
            def run(batches):
                from roicast import _native as N

                partition, cpus = _task()
                N.set_threads(cpus)
                got = list(batches)
                table = pa.Table.from_batches(got, schema=N.hazard_rows_schema()) if got else \
                    pa.Table.from_batches([], schema=N.hazard_rows_schema())
                yield N.hazard_partial(model_json, table, partition)

            return _to_arrow(rows.mapInArrow(run, _spark_schema(partial)))

        fingerprint = "spark:" + hashlib.sha256(fit_stats.to_string().encode()).hexdigest()[:16]
        model = json.loads(_native.attribution_fit(settings, globals_, summary, fingerprint, derive))
        if timings is not None:
            timings["newton_passes"] = passes[0]
    finally:
        rows.unpersist()
    g = json.loads(globals_)
    g["hazard"] = model
    return json.dumps(g), model


def attribute(
    touchpoints,
    orders,
    sessions=None,
    tracking_assets=None,
    *,
    models: Optional[Sequence[str]] = None,
    group_by: Optional[str] = None,
    lookback: Optional[str] = None,
    half_life: Optional[str] = None,
    model: Any = None,
    partitions: Optional[int] = None,
    **options: Any,
) -> AttributionRun:
    """Credits every order's touches under every model, on Spark.

    Tables are Spark DataFrames with the canonical columns (``sessions`` and
    ``tracking_assets`` optional). Rows are co-partitioned by ``user_id``
    (``repartition(partitions, "user_id")``); each partition goes to the engine whole.
    Options and results are those of :func:`roicast.attribute`; ``model`` (an
    :class:`~roicast.AttributionModel`) skips the data-driven fit.
    """
    if isinstance(model, AttributionModel):
        model = model.doc
    settings = _settings({"models": list(models) if models is not None else None, "group_by": group_by,
                          "lookback": lookback, "half_life": half_life, **options})
    timings: Dict[str, float] = {}
    clock = time.perf_counter()
    packed, shared, globals_ = _prepare(touchpoints, orders, sessions, tracking_assets, partitions, settings)
    timings["scan_s"] = time.perf_counter() - clock
    partial = _native.partial_schema()
    fitted = None
    needs_fit = _wants(models, "data_driven") and model is None
    if _wants(models, "markov") or needs_fit:
        g = globals_
        clock = time.perf_counter()
        stats = _to_arrow(_map(packed, _JOURNEY_TABLES,
                               lambda t, p: _native.attribution_fit_stats(settings, g, t, p), partial, shared))
        timings["fit_stats_s"] = time.perf_counter() - clock
        if needs_fit:
            clock = time.perf_counter()
            globals_, fitted = _fit(packed, shared, settings, globals_, stats, timings)
            timings["fit_s"] = time.perf_counter() - clock
        else:
            globals_, _ = _native.attribution_merge_fit_stats(settings, globals_, stats)
    if model is not None:
        g = json.loads(globals_)
        g["hazard"] = model
        globals_ = json.dumps(g)
        fitted = model
    g = globals_
    credits = _map(packed, _JOURNEY_TABLES, lambda t, p: _native.attribution_credits(settings, g, t, p, False),
                   _native.credits_schema(), shared)
    clock = time.perf_counter()
    totals = _to_arrow(_map(packed, _JOURNEY_TABLES,
                            lambda t, p: _native.attribution_credits(settings, g, t, p, True), partial, shared))
    timings["totals_s"] = time.perf_counter() - clock
    rows = json.loads(_native.attribution_merge_totals(settings, totals))
    by = json.loads(settings).get("group_by", "channel")
    summary = pa.table({
        "model": [r["model"] for r in rows],
        "group_by": [by] * len(rows),
        "group": [r["group"] for r in rows],
        "conversions": pa.array([r["conversions"] for r in rows], pa.float64()),
        "revenue": pa.array([r["revenue"] for r in rows], pa.float64()),
        "assisted_conversions": pa.array([r["assisted_conversions"] for r in rows], pa.int64()),
    })
    return AttributionRun(credits, summary, AttributionModel(fitted) if fitted else None, json.loads(globals_), timings,
                          packed)


def train_attribution(
    touchpoints,
    orders,
    sessions=None,
    tracking_assets=None,
    *,
    group_by: Optional[str] = None,
    partitions: Optional[int] = None,
    **options: Any,
) -> AttributionModel:
    """Fits the data-driven model on Spark: the fit's journeys are built once per
    partition and cached; each Newton step is one pass giving every partition's
    log-likelihood, gradient and Hessian, added on the driver in partition order."""
    settings = _settings({"models": ["data_driven"], "group_by": group_by, **options})
    packed, shared, globals_ = _prepare(touchpoints, orders, sessions, tracking_assets, partitions, settings)
    g = globals_
    stats = _to_arrow(_map(packed, _JOURNEY_TABLES,
                           lambda t, p: _native.attribution_fit_stats(settings, g, t, p),
                           _native.partial_schema(), shared))
    try:
        _, model = _fit(packed, shared, settings, globals_, stats)
    finally:
        packed.unpersist()
    if model is None:
        raise _native.ModelError("no converting journeys: the data-driven model needs conversions to fit")
    return AttributionModel(model)


# ---------------------------------------------------------------------------------------
# CLV


def clv_rfm(orders, customers=None, *, time_unit: str = "weeks", observation_end: Optional[str] = None,
            partitions: Optional[int] = None):
    """Every customer's RFM summary (the rows of ``roicast clv rfm``), co-partitioned by
    ``customer_id``; a lazy DataFrame. The end of observation is the latest order in the
    whole data unless given."""
    packed = _pack({"orders": orders, "customers": customers}, "customer_id", partitions)
    names = ("orders", "customers")
    if observation_end is None:
        scan = _to_arrow(_map(packed, names, lambda t, p: _native.rfm_scan(t, p), _native.partial_schema()))
        end_us = _native.rfm_merge_scan(scan)
    else:
        import datetime as _dt

        ts = _dt.datetime.fromisoformat(observation_end.replace("Z", "+00:00"))
        end_us = int(ts.timestamp() * 1_000_000)
    return _map(packed, names, lambda t, p: _native.rfm_rows(t, time_unit, end_us, p), _native.rfm_schema())


def clv_fit(rfm, model: str = "bgnbd") -> ClvFit:
    """Fits ``bgnbd``, ``pareto-nbd`` or ``gamma-gamma`` to an RFM DataFrame: each
    partition compresses its rows to distinct summaries with counts, the driver adds the
    counts and fits (the same document, and bits, as ``roicast clv fit``)."""
    cols = ["frequency", "recency", "T", "monetary_value"]

    def run(batches):
        from roicast import _native as N

        partition, _ = _task()
        got = list(batches)
        if got:
            yield N.rfm_histogram(pa.Table.from_batches(got), partition)

    hist = _to_arrow(rfm.select(*cols).mapInArrow(run, _spark_schema(_native.partial_schema())))
    return ClvFit(json.loads(_native.clv_fit_histogram(model, hist)))


# ---------------------------------------------------------------------------------------
# Engagement (on the driver)

_ENGAGEMENT_TABLES = ("creators", "posts", "post_snapshots", "comments", "sessions", "tracking_assets", "orders",
                      "campaigns")


def engagement(creators, posts, post_snapshots=None, comments=None, *, sessions=None, tracking_assets=None,
               orders=None, campaigns=None, out=None, **options):
    """Engagement quality, authenticity, EMV and brand health from Spark DataFrames.

    Not distributed: the job's benchmarks are medians over every post of a platform, tier
    and format, and its pod detection follows comment authors across creators, so it
    needs the whole data at once. The tables are collected to the driver as Arrow
    (``toArrow``) and the job runs there, as :func:`roicast.engagement` (same options,
    same ``Result``). Posts and comments are small next to touchpoints; select the
    columns and date range you need first.
    """
    from . import engagement as run_engagement

    given = dict(zip(_ENGAGEMENT_TABLES, (creators, posts, post_snapshots, comments, sessions, tracking_assets,
                                          orders, campaigns)))
    tables = {name: _to_arrow(df) for name, df in given.items() if df is not None}
    return run_engagement(tables, out=out, **options)
