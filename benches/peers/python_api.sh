#!/usr/bin/env bash
# Python API vs CLI on the demo world (written once into $1, default /tmp/roicast-bench-demo);
# needs the venv of scripts/test (.venv, or ROICAST_VENV) with the wheel installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
demo=${1:-/tmp/roicast-bench-demo}
venv=${ROICAST_VENV:-.venv}
bin=target/release/roicast
[ -x "$bin" ] || cargo build --release --locked -p roicast-engine
[ -d "$demo/data" ] || "$bin" --quiet demo --out "$demo"
mkdir -p benches/peers/results
ROICAST_BIN="$bin" "$venv/bin/python" benches/peers/python_api.py "$demo" "${2:-5}" | tee benches/peers/results/python_api.md
