"""Customer lifetime value: RFM summaries, model fits, per-customer and cohort value.

>>> rfm = roicast.clv.rfm(world)                          # doctest: +SKIP
>>> fit = roicast.clv.fit(rfm, model="bgnbd")             # doctest: +SKIP
>>> fit.params, fit.standard_errors                        # doctest: +SKIP
>>> value = roicast.clv.value(world, by="creator")        # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from ._core import DataLike, PathLike, Result, data_arg, drop_none, read_output, run_job, run_to_tables, to_table

__all__ = ["ClvFit", "fit", "rfm", "value", "backtest"]


def rfm(
    data: DataLike,
    time_unit: Optional[str] = None,
    observation_end: Optional[str] = None,
    threads: Optional[int] = None,
) -> pa.Table:
    """Every customer's RFM summary (``roicast clv rfm``): ``frequency``, ``recency``,
    ``T``, ``monetary_value`` in ``time_unit`` (days, weeks — the default — or months),
    plus revenue, first purchase and acquisition; the input of :func:`fit`."""
    root, tables = data_arg(data)
    with tempfile.TemporaryDirectory(prefix="roicast-rfm-") as tmp:
        out = Path(tmp) / "rfm.parquet"
        settings = drop_none({"data": root, "out": os.fspath(out), "time_unit": time_unit,
                              "observation_end": observation_end})
        run_job("clv_rfm", settings, tables, threads)
        return read_output(out)


class ClvFit(dict):
    """A fit's document (what ``roicast clv fit`` prints): ``params``,
    ``standard_errors``, ``log_likelihood``, ``iterations``, ``n`` and, for sBG, the
    projected survival."""

    @property
    def params(self) -> Dict[str, float]:
        return self["params"]

    @property
    def standard_errors(self) -> Dict[str, Optional[float]]:
        return self["standard_errors"]

    @property
    def model(self) -> str:
        return self["model"]


def _file(table: Any, tmp: str, name: str) -> Optional[str]:
    if table is None:
        return None
    if isinstance(table, (str, os.PathLike)):
        return os.fspath(table)
    path = Path(tmp) / name
    pq.write_table(to_table(table), path)
    return os.fspath(path)


def fit(
    rfm: Any = None,
    model: str = "bgnbd",
    survival: Any = None,
    discount_rate: Optional[float] = None,
    project: Optional[int] = None,
    threads: Optional[int] = None,
) -> ClvFit:
    """Fits ``bgnbd``, ``pareto-nbd`` or ``gamma-gamma`` to an RFM table (from
    :func:`rfm`, a file or any table with frequency/recency/T[/monetary_value]), or
    ``sbg`` to survival counts (columns period, active)."""
    with tempfile.TemporaryDirectory(prefix="roicast-fit-") as tmp:
        settings = drop_none({
            "model": model, "rfm": _file(rfm, tmp, "rfm.parquet"),
            "survival": _file(survival, tmp, "survival.parquet"),
            "discount_rate": discount_rate, "project": project,
        })
        return ClvFit(run_job("clv_fit", settings, None, threads))


def value(
    data: DataLike,
    out: Optional[PathLike] = None,
    model: Optional[str] = None,
    horizon: Optional[str] = None,
    by: Optional[str] = None,
    threads: Optional[int] = None,
    **options: Any,
) -> Result:
    """Values every customer and cohort (``roicast clv``): ``model`` bgnbd, pareto-nbd
    or sbg; ``horizon`` such as ``"52w"``; cohorts ``by`` creator, channel, platform or
    month. Other options: ``discount_rate`` (``"0.1/yr"``), ``time_unit``,
    ``margin_rate``, ``observation_end``, ``min_cohort``. Tables: ``customer_clv``,
    ``cohort_clv``."""
    root, tables = data_arg(data)
    settings = drop_none({"data": root, "model": model, "horizon": horizon, "by": by, **options})
    return run_to_tables("clv", settings, tables, out, {
        "customer_clv": "customer_clv.parquet",
        "cohort_clv": "cohort_clv.csv",
    }, threads)


def backtest(data: DataLike, calibration_end: str, threads: Optional[int] = None, **options: Any) -> Dict[str, Any]:
    """Fits on orders up to ``calibration_end`` and compares predicted with actual
    repeat purchases after it, per cohort (``roicast clv backtest``)."""
    root, tables = data_arg(data)
    settings = drop_none({"data": root, "calibration_end": calibration_end, **options})
    return run_job("clv_backtest", settings, tables, threads)
