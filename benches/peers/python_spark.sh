#!/usr/bin/env bash
# Spark local[2] vs the CLI on the large world (generated once into $1, default
# /tmp/roicast-large); needs the venv of scripts/test (.venv, or ROICAST_VENV).
set -euo pipefail
cd "$(dirname "$0")/../.."
world=${1:-/tmp/roicast-large}
venv=${ROICAST_VENV:-.venv}
bin=target/release/roicast
[ -x "$bin" ] || cargo build --release --locked -p roicast-engine
[ -d "$world" ] || "$bin" --quiet generate --scenario large --out "$world"
mkdir -p benches/peers/results
"$venv/bin/python" benches/peers/python_spark.py "$world" "${2:-8}" | tee benches/peers/results/python_spark.md
