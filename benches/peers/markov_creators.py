"""Creator-level Markov (order 1): ChannelAttribution's simulated markov_model against
roicast's exact solve on the same path table, in one run.

  --paths    a creator-level path table: `roicast attribute --data DIR --group-by creator
             --paths-out FILE` (the `large` world: 407,254 paths, 3,796 channels)

ChannelAttribution is timed in memory (the table already read); roicast as a whole
process (start, reading the CSV, solving, writing). Both report conversions by global
removal-effect shares (roicast's `markov_global`), compared channel by channel.
Run through benches/peers/markov_creators.sh.
"""

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", required=True)
    ap.add_argument("--roicast", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import ChannelAttribution as ca  # noqa: E402

    paths = pd.read_csv(args.paths)
    tmp = Path(tempfile.mkdtemp())
    t_ca, t_rc = [], []
    res = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        stdout, sys.stdout = sys.stdout, io.StringIO()
        try:
            res = ca.markov_model(paths, "path", "total_conversions", var_value="total_conversion_value",
                                  var_null="total_null", order=1, sep=">", verbose=False, flg_pro=False)
        finally:
            sys.stdout = stdout
        t_ca.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([args.roicast, "attribute", "--paths", args.paths, "--out", str(tmp / "m.csv"), "--models",
                        "markov_global", "-q"], check=True, stdout=subprocess.DEVNULL)
        t_rc.append(time.perf_counter() - t0)
    ours = pd.read_csv(tmp / "m.csv").query("model == 'markov_global'").set_index("channel")["conversions"]
    both = pd.concat([res.set_index("channel_name")["total_conversions"].rename("ca"), ours.rename("roicast")],
                     axis=1).fillna(0.0)
    top = both.sort_values("roicast", ascending=False).head(20)
    r = float(np.corrcoef(both["ca"], both["roicast"])[0, 1])
    med = float((top["ca"] - top["roicast"]).abs().div(top["roicast"]).median())
    ca_s, rc_s = statistics.median(t_ca), statistics.median(t_rc)
    lines = [
        "| task | paths | channels | ChannelAttribution 2.2.5 markov_model (in memory) median s | roicast process median s | ratio |",
        "|---|---|---|---|---|---|",
        f"| Markov order 1 by creator | {len(paths):,} | {len(both):,} | {ca_s:.2f} | {rc_s:.2f} | {ca_s / rc_s:.1f}× |",
        "",
        f"Runs: {args.repeat}. Agreement (ChannelAttribution simulates, roicast solves): Pearson r = {r:.6f} over "
        f"{len(both):,} channels; median relative difference on the top 20 channels {med:.2%}.",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
