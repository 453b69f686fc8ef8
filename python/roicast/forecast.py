"""Pre-launch ROI forecasts with intervals, for candidates under different deals.

>>> model = roicast.forecast.train(["results/history.parquet"])            # doctest: +SKIP
>>> plan = roicast.forecast.predict(model, "candidates.csv", budget=50_000)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ._core import PathLike, Result, drop_none, read_output, run_job, to_table

__all__ = ["ForecastModel", "train", "predict"]


class ForecastModel:
    """A trained forecast model: ``summary`` (learner, cross-validation, coverage) and the
    model file's bytes; ``save(path)`` writes the file ``roicast forecast --model`` reads."""

    def __init__(self, file_bytes: bytes, summary: Dict[str, Any]):
        self.file_bytes = file_bytes
        self.summary = summary

    def save(self, path: PathLike) -> None:
        Path(path).write_bytes(self.file_bytes)

    @classmethod
    def load(cls, path: PathLike) -> "ForecastModel":
        return cls(Path(path).read_bytes(), {})

    def __repr__(self) -> str:
        return f"ForecastModel({len(self.file_bytes)} bytes)"


def _file(table: Any, tmp: str, name: str) -> Optional[str]:
    """A table argument as a file the job reads (written by pyarrow: Parquet, or CSV for
    the files the forecast reads as CSV only)."""
    if table is None:
        return None
    if isinstance(table, (str, os.PathLike)):
        return os.fspath(table)
    path = Path(tmp) / name
    if path.suffix == ".csv":
        pacsv.write_csv(to_table(table), path)
    else:
        pq.write_table(to_table(table), path)
    return os.fspath(path)


def train(history: Any, learner: Optional[str] = None, threads: Optional[int] = None, **options: Any) -> ForecastModel:
    """Trains on campaign history (``roicast forecast train``): one or more history files
    (from ``roicast history``) or tables. Options: ``cv``, ``folds``, ``min_level_rows``."""
    items = history if isinstance(history, (list, tuple)) else [history]
    with tempfile.TemporaryDirectory(prefix="roicast-forecast-") as tmp:
        files = [_file(h, tmp, f"history{i}.parquet") for i, h in enumerate(items)]
        out = Path(tmp) / "model.json"
        summary = run_job("forecast_train", drop_none({"history": files, "learner": learner,
                                                        "out": os.fspath(out), **options}), None, threads)
        return ForecastModel(out.read_bytes(), summary)


def predict(
    model: Any,
    candidates: Any,
    scenarios: Any = None,
    budget: Optional[float] = None,
    target_roi: Optional[float] = None,
    probability: Optional[float] = None,
    threads: Optional[int] = None,
) -> Result:
    """Forecasts every candidate under every deal scenario, with intervals; with
    ``budget``, the plan that fits it (``roicast forecast``). ``model``: a
    :class:`ForecastModel` or model file; ``candidates`` / ``scenarios``: files or tables.
    Table ``forecast``; ``result.summary`` holds the plan."""
    with tempfile.TemporaryDirectory(prefix="roicast-predict-") as tmp:
        if isinstance(model, ForecastModel):
            path = Path(tmp) / "model.json"
            model.save(path)
            model = path
        out = Path(tmp) / "forecast.parquet"
        settings = drop_none({
            "model": os.fspath(model), "candidates": _file(candidates, tmp, "candidates.parquet"),
            "scenarios": _file(scenarios, tmp, "scenarios.csv"), "budget": budget,
            "target_roi": target_roi, "probability": probability, "out": os.fspath(out),
        })
        summary = run_job("forecast", settings, None, threads)
        return Result(summary, {"forecast": read_output(out)}, None)
