"""Plumbing shared by the API modules: inputs to Arrow, configs to JSON, outputs back."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Union

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import _native

#: Where an in-memory dataset is found by the jobs (a name, never a folder on disk).
MEMORY_ROOT = "<python>"

PathLike = Union[str, "os.PathLike[str]"]


def to_reader(obj: Any) -> pa.RecordBatchReader:
    """Any Arrow stream (``__arrow_c_stream__``: pyarrow, polars, pandas >= 2.2) as a reader."""
    if isinstance(obj, pa.RecordBatchReader):
        return obj
    if isinstance(obj, pa.Table):
        return obj.to_reader()
    if isinstance(obj, pa.RecordBatch):
        return pa.RecordBatchReader.from_batches(obj.schema, [obj])
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(obj)
    if hasattr(obj, "to_arrow"):  # older polars
        return obj.to_arrow().to_reader()
    raise TypeError(
        f"expected an Arrow table or stream (pyarrow, polars, pandas >= 2.2), got {type(obj).__name__}"
    )


def to_table(obj: Any) -> pa.Table:
    """Any Arrow stream as a ``pyarrow.Table`` (buffers shared where pyarrow allows)."""
    if isinstance(obj, pa.Table):
        return obj
    return to_reader(obj).read_all()


class Dataset:
    """A roicast dataset: canonical tables by name, held in memory or in a folder.

    ``Dataset({"touchpoints": df, "orders": orders})`` takes any Arrow-speaking tables;
    :func:`roicast.read_dataset` reads a folder (every table conformed to its canonical
    schema). Jobs take a ``Dataset``, a plain ``dict`` of tables or a folder path.
    """

    def __init__(self, tables: Mapping[str, Any], path: Optional[PathLike] = None):
        self.tables: Dict[str, Any] = dict(tables)
        self.path = Path(path) if path is not None else None

    def __getitem__(self, name: str) -> pa.Table:
        return to_table(self.tables[name])

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path else ""
        return f"Dataset({', '.join(sorted(self.tables))}{where})"


DataLike = Union[PathLike, Dataset, Mapping[str, Any]]


def data_arg(data: DataLike) -> tuple[str, Optional[Dict[str, Any]]]:
    """(the config's `data`, the in-memory tables or None) for a job's input."""
    if isinstance(data, Dataset):
        return MEMORY_ROOT, data.tables
    if isinstance(data, Mapping):
        return MEMORY_ROOT, dict(data)
    return os.fspath(data), None


def run_job(
    job: str,
    settings: Dict[str, Any],
    tables: Optional[Dict[str, Any]] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]:
    """Runs an engine job; the summary it returns, as a dict."""
    streams = None if tables is None else {k: to_reader(v) for k, v in tables.items()}
    text = _native.run_job(
        job,
        json.dumps(settings, default=os.fspath),
        streams,
        MEMORY_ROOT if streams is not None else None,
        threads,
    )
    return json.loads(text)


def read_output(path: Path) -> pa.Table:
    """A job's output file as a table (Parquet or CSV)."""
    if path.suffix == ".parquet":
        # Read whole into memory: the file may live in a folder deleted right after.
        return pq.read_table(path, memory_map=False)
    if path.suffix == ".csv":
        return pacsv.read_csv(path)
    raise ValueError(f"not a table file: {path}")


class Result:
    """What a dataset job returned: its summary, its output tables and where they are.

    ``result["credits"]`` (or ``result.credits``) is an output table as ``pyarrow.Table``;
    ``result.summary`` is the job's summary (what ``--format json`` prints);
    ``result.out`` is the output folder when one was given (else the outputs were
    written to a temporary folder, read and removed).
    """

    def __init__(self, summary: Dict[str, Any], tables: Dict[str, pa.Table], out: Optional[Path]):
        self.summary = summary
        self.tables = tables
        self.out = out
        # Output files kept as text (``text_outputs``), e.g. a sealed model file.
        self.texts: Dict[str, str] = {}

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]

    def __getattr__(self, name: str) -> pa.Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}: {v.num_rows} rows" for k, v in self.tables.items())
        return f"Result({rows})"


def run_to_tables(
    job: str,
    settings: Dict[str, Any],
    tables: Optional[Dict[str, Any]],
    out: Optional[PathLike],
    outputs: Dict[str, str],
    threads: Optional[int] = None,
    out_key: str = "out",
    text_outputs: Optional[Dict[str, str]] = None,
    out_file: Optional[str] = None,
) -> Result:
    """Runs a job that writes files into a folder; returns them as tables.

    ``outputs`` maps a table name to its file in the folder (missing optional outputs
    are skipped); ``text_outputs`` names files kept as text in ``result.texts`` (a sealed
    model file, whose exact bytes matter); ``out_file`` is the file name for a job whose
    ``out`` is a file in the folder. Without ``out``, a temporary folder is used and
    removed.
    """
    tmp = None
    if out is None:
        tmp = tempfile.mkdtemp(prefix=f"roicast-{job}-")
        folder = Path(tmp) / "out"
    else:
        folder = Path(out)
    try:
        if out_file is not None:
            # A job whose output is a file (its siblings land beside it).
            folder.mkdir(parents=True, exist_ok=True)
            target = os.fspath(folder / out_file)
        else:
            target = os.fspath(folder)
        summary = run_job(job, {**settings, out_key: target}, tables, threads)
        got = {
            name: read_output(folder / file)
            for name, file in outputs.items()
            if (folder / file).exists()
        }
        result = Result(summary, got, None if tmp else folder)
        result.texts = {
            name: (folder / file).read_text()
            for name, file in (text_outputs or {}).items()
            if (folder / file).exists()
        }
        return result
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def drop_none(d: Dict[str, Any]) -> Dict[str, Any]:
    """The settings given (a None means: the job's default)."""
    return {k: v for k, v in d.items() if v is not None}
