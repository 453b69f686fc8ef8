"""roicast: measure and forecast the return on creator marketing, from Python.

The same jobs as the ``roicast`` command line, on Arrow data: every function calls the
engine's library code (no model is re-implemented in Python). Inputs are a dataset
folder, a :class:`Dataset`, or a ``dict`` of tables in anything that speaks the Arrow
stream interface (``pyarrow.Table``/``RecordBatchReader``, polars and pandas >= 2.2
DataFrames); outputs are ``pyarrow.Table``.

>>> import roicast
>>> world = roicast.read_dataset("demo/world")          # doctest: +SKIP
>>> att = roicast.attribute(world, group_by="creator")   # doctest: +SKIP
>>> att.summary_table.to_pandas().head()                 # doctest: +SKIP

Errors: :class:`InputError` (the input was refused; carries ``file``, ``row``,
``column``, ``reason`` and ``rejects``), :class:`ConfigError` (bad settings),
:class:`ModelError` (a fit or model failed); all derive from :class:`Error`.
Each call releases the GIL while it computes; ``threads=`` sizes its thread pool
(:func:`set_threads` sets the default).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pyarrow as pa

from . import _native
from ._core import (
    DataLike,
    Dataset,
    PathLike,
    Result,
    data_arg,
    drop_none,
    read_output,
    run_job,
    run_to_tables,
    to_reader,
    to_table,
)
from ._native import ConfigError, Error, InputError, ModelError

__version__: str = _native.version()

__all__ = [
    "AttributionModel",
    "ConfigError",
    "Dataset",
    "Error",
    "InputError",
    "ModelError",
    "Result",
    "alerts",
    "attribute",
    "attribute_paths",
    "clv",
    "engagement",
    "forecast",
    "import_",
    "read_dataset",
    "report",
    "roi",
    "run",
    "schema",
    "sentiment",
    "set_threads",
    "train_attribution",
    "validate",
]


def set_threads(n: Optional[int] = None) -> None:
    """Sets the default thread count of later calls (``None``: every core)."""
    _native.set_threads(n)


def schema() -> List[Dict[str, Any]]:
    """The canonical tables and their columns (name, Arrow type, nullable)."""
    return json.loads(_native.schema_json())


def read_dataset(path: PathLike) -> Dataset:
    """Reads every table of a dataset folder, conformed to its canonical schema.

    A table with rejected rows raises :class:`InputError` (the first reject's file, row,
    column and reason); :func:`validate` lists them all.

    >>> world = roicast.read_dataset("demo/world")   # doctest: +SKIP
    >>> world["orders"].num_rows                      # doctest: +SKIP
    """
    return Dataset(_native.load_dataset(os.fspath(path)), path=path)


def validate(data: DataLike, out: Optional[PathLike] = None, threads: Optional[int] = None) -> Dict[str, Any]:
    """Checks a dataset against the data contract; the report (``ok``, ``tables``,
    ``rejects`` with file/row/column/value/reason, ``notes``) as a dict. A dataset with
    rejects is a report with ``ok`` false, not an error."""
    root, tables = data_arg(data)
    return run_job("validate", drop_none({"data": root, "out": out}), tables, threads)


def sentiment(
    data: Any,
    text_column: str = "text",
    model: str = "default",
    threads: Optional[int] = None,
) -> pa.Table:
    """Scores comments: every input column (same buffers, no copy) plus ``sentiment``,
    ``compound``, ``neg``, ``neu``, ``pos`` (null when ``unscored``), ``text_missing``, ``non_english`` and
    ``language``.

    ``data``: an Arrow table/stream or DataFrame with a text column, a file path (any
    format roicast reads) or a dataset (its ``comments`` table). ``model``: ``default``,
    ``vader`` or a model file from ``roicast train sentiment``.

    >>> roicast.sentiment(pa.table({"text": ["love it", "awful"]}))["sentiment"]  # doctest: +SKIP
    """
    if isinstance(data, (str, os.PathLike)) and Path(data).is_file():
        with tempfile.TemporaryDirectory(prefix="roicast-sentiment-") as tmp:
            out = Path(tmp) / "scored.arrow"
            run_job(
                "sentiment",
                {"target": {"file": {"input": os.fspath(data), "output": os.fspath(out)}},
                 "text_column": text_column, "model": model},
                None,
                threads,
            )
            with pa.memory_map(os.fspath(out)) as f:
                return pa.ipc.open_file(f).read_all()
    if isinstance(data, Dataset):
        data = data.tables["comments"]
    elif isinstance(data, dict):
        data = data["comments"]
    elif isinstance(data, (str, os.PathLike)):
        return _sentiment_dataset(os.fspath(data), text_column, model, threads)
    reader = to_reader(data)
    schema = _native.scored_schema(reader.schema)
    batches = []
    first_row = 1
    for b in reader:
        batches.append(_native.score_batch(b, model, text_column, "<table>", first_row, threads))
        first_row += b.num_rows
    return pa.Table.from_batches(batches, schema=schema)


def _sentiment_dataset(data: str, text_column: str, model: str, threads: Optional[int]) -> pa.Table:
    with tempfile.TemporaryDirectory(prefix="roicast-sentiment-") as tmp:
        run_job(
            "sentiment",
            {"target": {"dataset": {"data": data, "out": tmp}}, "text_column": text_column, "model": model},
            None,
            threads,
        )
        return read_output(Path(tmp) / "comments_sentiment.parquet")


def engagement(
    data: DataLike,
    out: Optional[PathLike] = None,
    rate_card: Optional[PathLike] = None,
    sentiment_model: Optional[str] = None,
    competitors: Optional[Sequence[str]] = None,
    branded_search: Optional[PathLike] = None,
    threads: Optional[int] = None,
) -> Result:
    """Engagement quality, authenticity, earned media value and brand health.

    Tables: ``posts_scored``, ``creator_scorecard``, ``emv`` and (with campaigns)
    ``brand_health`` — the files ``roicast engagement`` writes.
    """
    root, tables = data_arg(data)
    settings = drop_none({
        "data": root, "rate_card": rate_card, "sentiment_model": sentiment_model,
        "competitors": list(competitors) if competitors is not None else None,
        "branded_search": branded_search,
    })
    return run_to_tables("engagement", settings, tables, out, {
        "posts_scored": "posts_scored.parquet",
        "creator_scorecard": "creator_scorecard.parquet",
        "brand_health": "brand_health.csv",
        "emv": "emv.csv",
    }, threads)


class AttributionModel:
    """A fitted data-driven (additive-hazard) attribution model.

    ``model.estimates`` is a table of groups with strength (β), half-life and their
    standard errors; ``model.to_json()`` / ``AttributionModel.from_json(text)`` round-trip
    the CLI's model file; ``model.apply(data)`` credits a dataset's orders with it.
    """

    def __init__(self, doc: Dict[str, Any], text: Optional[str] = None):
        self.doc = doc
        # The model file's exact text when known: model files are sealed with a hash of
        # their bytes (docs/reliability.md), so the file roicast wrote is what is saved.
        self._text = text

    @property
    def group_by(self) -> str:
        return self.doc["group_by"]

    @property
    def estimates(self) -> pa.Table:
        return pa.Table.from_pylist(self.doc["groups"])

    @property
    def baseline_per_day(self) -> float:
        return self.doc["baseline_per_day"]

    def to_json(self) -> str:
        """The model file's JSON, byte for byte what roicast wrote. Model files are sealed
        (``content_hash``): if ``doc`` was edited, the JSON written is the edited document
        and roicast refuses to load it — a model is retrained, not edited."""
        if self._text is not None and json.loads(self._text) == self.doc:
            return self._text
        return json.dumps(self.doc, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "AttributionModel":
        return cls(json.loads(text), text)

    @classmethod
    def load(cls, path: PathLike) -> "AttributionModel":
        return cls.from_json(Path(path).read_text())

    def save(self, path: PathLike) -> None:
        Path(path).write_text(self.to_json())

    def apply(self, data: DataLike, models: Sequence[str] = ("data_driven",), **options: Any) -> Result:
        """Credits ``data``'s orders with this model (``attribute(..., model=self)``)."""
        return attribute(data, models=models, group_by=self.group_by, model=self, **options)

    def __repr__(self) -> str:
        return f"AttributionModel(group_by={self.group_by!r}, groups={len(self.doc['groups'])})"


def _model_file(model: Any, tmp: str) -> Optional[str]:
    if model is None:
        return None
    if isinstance(model, AttributionModel):
        path = Path(tmp) / "model.json"
        model.save(path)
        return os.fspath(path)
    return os.fspath(model)


def attribute(
    data: DataLike,
    models: Optional[Sequence[str]] = None,
    group_by: Optional[str] = None,
    lookback: Optional[str] = None,
    half_life: Optional[str] = None,
    out: Optional[PathLike] = None,
    model: Any = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Result:
    """Credits every order's touches under every model.

    ``models``: any of first_touch, last_touch, last_non_direct, linear,
    linear_distinct, time_decay, u_shaped, markov, shapley, data_driven (default all);
    ``group_by``: channel, creator, platform, channel_interaction or campaign;
    ``lookback`` / ``half_life``: durations such as ``"30d"``, ``"12h"``; ``model``: an
    :class:`AttributionModel` or model file for data_driven (else it is fitted).
    Other options (``u_shaped``, ``markov_order``, ``use_sessions``,
    ``code_outranks_link``, ``observation_end``) are the CLI's.

    Tables: ``credits`` (one row per order × model × touch) and ``summary_table``
    (totals per model and group, ``attribution_summary.csv``); ``result.model`` is the
    fitted data-driven model.
    """
    root, tables = data_arg(data)
    with tempfile.TemporaryDirectory(prefix="roicast-model-") as tmp:
        settings = drop_none({
            "data": root, "models": list(models) if models is not None else None, "group_by": group_by,
            "lookback": lookback, "half_life": half_life, "model": _model_file(model, tmp), **options,
        })
        result = run_to_tables("attribute", settings, tables, out, {
            "credits": "credits.parquet",
            "summary_table": "attribution_summary.csv",
        }, threads, text_outputs={"model": "data_driven_model.json"})
    dd = result.summary.get("data_driven")
    result.model = AttributionModel(dd, result.texts.get("model")) if dd else None
    return result


def attribute_paths(
    paths: Any,
    models: Optional[Sequence[str]] = None,
    sep: Optional[str] = None,
    markov_order: Optional[int] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Result:
    """Attributes a ChannelAttribution path table (columns ``path``,
    ``total_conversions``, ``total_conversion_value``, ``total_null``): a file or a table.

    Table ``totals``: ``model, channel, conversions, value``; ``result.summary["markov"]``
    holds the removal effects.
    """
    with tempfile.TemporaryDirectory(prefix="roicast-paths-") as tmp:
        if not isinstance(paths, (str, os.PathLike)):
            file = Path(tmp) / "paths.parquet"
            import pyarrow.parquet as pq

            pq.write_table(to_table(paths), file)
            paths = file
        out = Path(tmp) / "totals.parquet"
        settings = drop_none({
            "paths": os.fspath(paths), "out": os.fspath(out),
            "models": list(models) if models is not None else None, "sep": sep,
            "markov_order": markov_order, **options,
        })
        summary = run_job("attribute_paths", settings, None, threads)
        return Result(summary, {"totals": read_output(out)}, None)


def train_attribution(
    data: DataLike,
    group_by: Optional[str] = None,
    observation_end: Optional[str] = None,
    use_sessions: Optional[bool] = None,
    max_iter: Optional[int] = None,
    tol: Optional[float] = None,
    threads: Optional[int] = None,
) -> AttributionModel:
    """Fits the data-driven attribution model (``roicast train attribution``)."""
    root, tables = data_arg(data)
    with tempfile.TemporaryDirectory(prefix="roicast-train-") as tmp:
        settings = drop_none({
            "data": root, "out": os.fspath(Path(tmp) / "model.json"), "group_by": group_by,
            "observation_end": observation_end, "use_sessions": use_sessions, "max_iter": max_iter, "tol": tol,
        })
        doc = run_job("train_attribution", settings, tables, threads)
        return AttributionModel(doc, (Path(tmp) / "model.json").read_text())


def roi(
    data: DataLike,
    results: PathLike,
    out: Optional[PathLike] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Result:
    """ROI with full cost accounting, from a dataset and a run's ``results`` folder
    (attribution grouped by creator, CLV). Options: ``margin_rate``, ``fx``,
    ``base_currency``, ``paid_only``. Tables: ``roi``, ``roi_summary``,
    ``creator_campaign``."""
    root, tables = data_arg(data)
    settings = drop_none({"data": root, "results": os.fspath(results), **options})
    return run_to_tables("roi", settings, tables, out, {
        "roi": "roi.parquet",
        "roi_summary": "roi_summary.csv",
        "creator_campaign": "creator_campaign.csv",
    }, threads)


def alerts(
    data: DataLike,
    results: PathLike,
    out: Optional[PathLike] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Result:
    """What changed (``roicast alerts``): engagement spikes and drops, click-through and
    conversion drops, sentiment shifts, campaigns over budget pace, judged against each
    series' own history (docs/monitoring.md). ``results`` is a run's folder (its
    ``sentiment/comments_sentiment.parquet`` is used when present). Options: ``since``,
    ``as_of`` (RFC 3339 or a date), ``method`` (``"robust"`` or ``"naive"``),
    ``budget_tolerance``. Tables: ``alerts`` (one row per alert), ``coverage`` (every
    series, judged or not), ``series`` (each alerted series around its alert)."""
    root, tables = data_arg(data)
    settings = drop_none({"data": root, "results": os.fspath(results), **options})
    return run_to_tables("alerts", settings, tables, out, {
        "alerts": "alerts.parquet",
        "coverage": "alerts_coverage.csv",
        "series": "alerts_series.csv",
    }, threads, out_file="alerts.parquet")


def run(config: Any, data: Optional[PathLike] = None, out: Optional[PathLike] = None,
        threads: Optional[int] = None) -> Dict[str, Any]:
    """Runs a pipeline (``roicast run --config``): a ``roicast.toml`` path or its settings
    as a dict; ``data`` / ``out`` override the file's. Returns the run's summary."""
    if isinstance(config, (str, os.PathLike)):
        settings = json.loads(_native.pipeline_config(os.fspath(config)))
    else:
        settings = dict(config)
    if data is not None:
        settings["data"] = os.fspath(data)
    if out is not None:
        settings["out"] = os.fspath(out)
    return run_job("run", settings, None, threads)


def report(results: PathLike, out: PathLike) -> Dict[str, Any]:
    """Writes the HTML report of a run's ``results`` folder to ``out``."""
    return run_job("report", {"results": os.fspath(results), "out": os.fspath(out)})


def import_(
    source: str,
    input: Any,
    out: PathLike,
    threads: Optional[int] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Imports a platform export into canonical tables (``roicast import SOURCE``):
    ``source`` such as ``shopify``, ``ga4``, ``stripe``, ``instagram``; ``input`` a file or
    folder (or a list); options as the CLI's (``timezone``, ``plan``, ``currency``,
    ``merge``, ``force``, ...). Returns the import report."""
    inputs = [os.fspath(p) for p in (input if isinstance(input, (list, tuple)) else [input])]
    settings = drop_none({"source": source, "input": inputs, "out": os.fspath(out), **options})
    return run_job("import", settings, None, threads)


from . import clv, forecast  # noqa: E402  (submodules use the names above)
