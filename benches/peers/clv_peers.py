"""Side-by-side fits of roicast and the Python `lifetimes` package on the same RFM data:
CDNOW (2,357 customers, from the project's fixtures) and 1 million customers drawn from the
BG/NBD process with CDNOW's parameters (seeded). Reports median wall time and peak memory of
each fit, each run in its own process, and the fitted parameters side by side.

Run through benches/peers/clv.sh.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

LIFETIMES_FIT = r"""
import json, sys, time, resource, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter, GammaGammaFitter
model, path = sys.argv[1], sys.argv[2]
df = pd.read_csv(path)
t0 = time.perf_counter()
if model == "bgnbd":
    f = BetaGeoFitter(penalizer_coef=0.0).fit(df["frequency"], df["recency"], df["T"])
    params = {k: float(f.params_[k]) for k in ["r", "alpha", "a", "b"]}
elif model == "pareto-nbd":
    f = ParetoNBDFitter(penalizer_coef=0.0).fit(df["frequency"], df["recency"], df["T"])
    params = {k: float(f.params_[k]) for k in ["r", "alpha", "s", "beta"]}
else:
    d = df[df["frequency"] > 0]
    f = GammaGammaFitter(penalizer_coef=0.0).fit(d["frequency"], d["monetary_value"])
    params = {"p": float(f.params_["p"]), "q": float(f.params_["q"]), "gamma": float(f.params_["v"])}
dt = time.perf_counter() - t0
print(json.dumps({"seconds_fit": dt, "params": params, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def draw_bgnbd(n, r, alpha, a, b, horizon, seed):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    t_age = rng.uniform(0.5 * horizon, horizon, n)
    freq = np.zeros(n)
    rec = np.zeros(n)
    for i in range(n):
        t = 0.0
        x = 0
        while True:
            t += rng.exponential(1.0 / lam[i]) if lam[i] > 0 else np.inf
            if t > t_age[i]:
                break
            x += 1
            rec[i] = t
            if rng.random() < p[i]:
                break
        freq[i] = x
    # Gamma-Gamma spend with CDNOW's parameters: ν ~ Gamma(q, rate γ); mean of x values ~ Gamma(p x, rate ν x).
    nu = rng.gamma(3.74, 1.0 / 15.44, n)
    spend = np.where(freq > 0, rng.gamma(6.25 * np.maximum(freq, 1), 1.0, n) / (nu * np.maximum(freq, 1)), 0.0)
    return freq, np.round(rec, 4), np.round(t_age, 4), np.round(spend, 2)


def run(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, out.stdout


def child_maxrss_kb(cmd):
    # Peak RSS of the command itself, from GNU time (a forked child's own rusage would
    # include the Python parent's pages copied before exec).
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True, capture_output=True, text=True)
    return int(out.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roicast", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    big = work / f"rfm_{args.customers}.csv"
    if not big.exists():
        f, r, t, m = draw_bgnbd(args.customers, 0.243, 4.414, 0.793, 2.426, 78.0, 7)
        import pandas as pd
        pd.DataFrame({"frequency": f, "recency": r, "T": t, "monetary_value": m}).to_csv(big, index=False)
    datasets = [
        ("CDNOW (2,357)", ROOT / "tests/fixtures/clv/cdnow_rfm_monetary.csv"),
        (f"BG/NBD draws ({args.customers:,})", big),
    ]
    lines = [
        "| data | model | lifetimes fit median s | lifetimes peak MB | roicast end-to-end median s | roicast peak MB | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    params_lines = ["", "| data | model | lifetimes params | roicast params |", "|---|---|---|---|"]
    for name, path in datasets:
        for model in ["bgnbd", "pareto-nbd", "gamma-gamma"]:
            if model == "pareto-nbd" and "draws" in name:
                continue  # lifetimes' Pareto/NBD takes many minutes at this size
            lt_cmd = [sys.executable, "-c", LIFETIMES_FIT, model, str(path)]
            lt_runs = [json.loads(run(lt_cmd)[1]) for _ in range(args.repeat)]
            lt_t = statistics.median(x["seconds_fit"] for x in lt_runs)
            lt_mb = max(x["maxrss_kb"] for x in lt_runs) / 1024
            rc_cmd = [args.roicast, "clv", "fit", "--model", model, "--rfm", str(path)]
            rc = [run(rc_cmd) for _ in range(args.repeat)]
            rc_t = statistics.median(x[0] for x in rc)
            rc_params = json.loads(rc[0][1])["params"]
            rc_mb = child_maxrss_kb(rc_cmd) / 1024
            lines.append(f"| {name} | {model} | {lt_t:.3f} | {lt_mb:.0f} | {rc_t:.3f} | {rc_mb:.0f} | {lt_t / rc_t:.0f}× |")
            fmt = lambda d: ", ".join(f"{k}={v:.4f}" for k, v in d.items())
            params_lines.append(f"| {name} | {model} | {fmt(lt_runs[0]['params'])} | {fmt(rc_params)} |")
    lines.append("")
    lines.append("lifetimes is timed on its fit alone (data already in a DataFrame); roicast end to end "
                 "(process start, reading the CSV, fitting, printing JSON).")
    text = "\n".join(lines + params_lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
