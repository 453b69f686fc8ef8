"""Shared fixtures: the CLI binary and the demo world it produced (once per session).

Every equality test compares the Python API with what the `roicast` binary of the same
checkout wrote: ROICAST_BIN names it (scripts/test builds target/release/roicast).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "spark: runs a local Spark session (slow to start)")


def _binary() -> Path:
    env = os.environ.get("ROICAST_BIN")
    for p in ([Path(env)] if env else []) + [REPO / "target/release/roicast", REPO / "target/debug/roicast"]:
        if p.is_file():
            return p
    pytest.exit("no roicast binary: build it (cargo build --release) or set ROICAST_BIN", returncode=2)


class Cli:
    def __init__(self, binary: Path):
        self.binary = binary

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([str(self.binary), "--quiet", *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"roicast {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}")
        return p

    def json(self, *args: str):
        return json.loads(self(*args, "--format", "json").stdout)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(_binary())


@pytest.fixture(scope="session")
def demo(cli, tmp_path_factory) -> Path:
    """`roicast demo`: world, exports, imported data, results of the whole pipeline."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    cli("demo", "--out", out)
    return out


@pytest.fixture(scope="session")
def data(demo) -> Path:
    return demo / "data"


@pytest.fixture()
def scratch(tmp_path) -> Path:
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)
