#!/usr/bin/env bash
# Installs the Python peer tools used by roicast's reference fixtures and peer
# benchmarks into benches/peers/.venv (PyPI only; nothing is downloaded at run time).
#
#   bash benches/peers/setup.sh
#
# ChannelAttribution 2.2.5's sdist declares `license = "GPL-3.0-or-later"`, which the
# setuptools versions its build accepts reject ("must be valid exactly by one
# definition"); we patch that one line to the table form before building. Its build
# needs a C++ compiler (g++).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${ROICAST_PEER_VENV:-$here/.venv}"
python3 -m venv "$venv"
pip="$venv/bin/pip"
"$pip" install -q --upgrade pip
"$pip" install -q "numpy<3" pandas Cython "setuptools<70" wheel matplotlib scikit-learn arrow
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# `--no-binary ChannelAttribution`, not `:all:`: the latter also forces the isolated
# metadata build's own dependencies (oldest-supported-numpy → numpy 1.23) to build from source.
"$pip" download -q --no-deps --no-binary ChannelAttribution -d "$tmp" "ChannelAttribution==2.2.5"
tar -xzf "$tmp"/[Cc]hannel[Aa]ttribution-2.2.5.tar.gz -C "$tmp"
sed -i 's/^license = "GPL-3.0-or-later"/license = {text = "GPL-3.0-or-later"}/' "$tmp"/[Cc]hannel[Aa]ttribution-2.2.5/pyproject.toml
"$pip" install -q --no-build-isolation "$tmp"/[Cc]hannel[Aa]ttribution-2.2.5
"$pip" install -q "mta==0.0.9" "vaderSentiment==3.3.2" "lifetimes==0.11.3" pyarrow scipy "polars>=1,<2"
echo "peer tools installed in $venv"
