"""Reference values for roicast's attribution parity tests.

Writes tests/fixtures/attribution/paths.csv (the first 2,000 rows of the path table that
ships inside the `mta` 0.0.9 wheel, MIT licence: mta/data/data.csv.gz) and
tests/fixtures/attribution/reference.json with each channel's conversions and value under

  * ChannelAttribution 2.2.5 heuristic_models: first_touch, last_touch, linear_touch
  * mta 0.0.9 (allow_loops=True, add_timepoints=False, normalize=False):
    first_touch, last_touch, linear(share="same"), position_based(40, 40)
  * ChannelAttribution markov_model(order=1): simulation-based, recorded for comparison
    only (roicast solves the chain exactly)

Run: bash benches/peers/setup.sh && benches/peers/.venv/bin/python benches/peers/attribution_reference.py
"""

import gzip
import io
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "attribution"
N_PATHS = 2000


def exact_removal_effects(data: "pd.DataFrame") -> dict:
    import collections

    import numpy as np

    paths = []
    for p, c, n in zip(data["path"], data["total_conversions"], data["total_null"]):
        seq = [x.strip() for x in str(p).split(">") if x.strip()]
        collapsed = [x for i, x in enumerate(seq) if i == 0 or seq[i - 1] != x]
        paths.append((collapsed, float(c), float(n)))
    chans = sorted({c for p, _, _ in paths for c in p})
    states = ["(start)"] + chans
    idx = {s: i for i, s in enumerate(states)}

    def p_conv(removed=None):
        counts = collections.defaultdict(lambda: collections.defaultdict(float))
        for p, conv, nul in paths:
            prev = "(start)"
            for c in p:
                counts[prev][c] += conv + nul
                prev = c
            counts[prev]["(conv)"] += conv
            counts[prev]["(null)"] += nul
        a = np.eye(len(states))
        b = np.zeros(len(states))
        for s in states:
            tot = sum(counts[s].values())
            if tot == 0 or s == removed:
                continue
            for t, c in counts[s].items():
                if t == "(conv)":
                    b[idx[s]] += c / tot
                elif t not in ("(null)", removed):
                    a[idx[s], idx[t]] -= c / tot
        return float(np.linalg.solve(a, b)[0])

    base = p_conv()
    return {"conversion_probability": base, "removal_effects": {c: 1.0 - p_conv(c) / base for c in chans}}


def main() -> None:
    import mta as mta_pkg

    src = Path(mta_pkg.__file__).parent / "data" / "data.csv.gz"
    with gzip.open(src, "rt") as f:
        data = pd.read_csv(f).head(N_PATHS)
    OUT.mkdir(parents=True, exist_ok=True)
    data.to_csv(OUT / "paths.csv", index=False)

    # ChannelAttribution prints a banner on import; keep stdout clean.
    stdout = sys.stdout
    sys.stdout = io.StringIO()
    try:
        import ChannelAttribution as ca

        h = ca.heuristic_models(data, "path", "total_conversions", var_value="total_conversion_value", sep=">", flg_pro=False)
        m = ca.markov_model(
            data, "path", "total_conversions", var_value="total_conversion_value", var_null="total_null",
            order=1, sep=">", seed=0, verbose=False, flg_pro=False,
        )
    finally:
        sys.stdout = stdout

    ref = {
        "source": "first 2000 rows of mta 0.0.9 mta/data/data.csv.gz (MIT)",
        "tools": {"ChannelAttribution": version("ChannelAttribution"), "mta": version("mta"), "pandas": version("pandas")},
        "models": {},
    }

    def put(model: str, conv: dict, value: dict | None = None) -> None:
        ref["models"][model] = {
            ch: {"conversions": float(conv[ch]), "value": (float(value[ch]) if value is not None and ch in value else None)}
            for ch in conv
        }

    ca_map = {"first_touch": "first_touch", "last_touch": "last_touch", "linear_touch": "linear"}
    for col, name in ca_map.items():
        conv = dict(zip(h["channel_name"], h[f"{col}_conversions"]))
        val = dict(zip(h["channel_name"], h[f"{col}_value"]))
        put(f"channelattribution/{name}", conv, val)
    put(
        "channelattribution/markov_simulated",
        dict(zip(m["channel_name"], m["total_conversions"])),
        dict(zip(m["channel_name"], m["total_conversion_value"])),
    )

    from mta import MTA

    t = MTA(data=data.copy(), allow_loops=True, add_timepoints=False)
    t.first_touch(normalize=False).last_touch(normalize=False).linear(share="same", normalize=False)
    t.position_based(first_weight=40, last_weight=40, normalize=False)
    for key, name in [("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_distinct"), ("pos_based", "u_shaped")]:
        put(f"mta/{name}", dict(t.attribution[key]))

    # An independent exact solve of the first-order absorbing chain (numpy), for the
    # removal effects roicast computes by its own elimination.
    ref["numpy_exact_removal_effects"] = exact_removal_effects(data)

    with open(OUT / "reference.json", "w") as f:
        json.dump(ref, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT / 'paths.csv'} and {OUT / 'reference.json'}")


if __name__ == "__main__":
    main()
