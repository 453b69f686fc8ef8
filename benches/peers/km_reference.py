"""Kaplan-Meier reference for roicast's `stats::kaplan_meier` (tests/km_lifelines.rs).

Draws a seeded set of subscription durations with ties and censoring, fits lifelines'
KaplanMeierFitter on it, and writes:

  tests/fixtures/clv/km_subscriptions.csv   duration_months, observed (the input)
  tests/fixtures/clv/km_reference.csv        time, survival (lifelines' survival_function_
                                              at every distinct time, and at months 1..24)

Run: benches/peers/.venv/bin/python benches/peers/km_reference.py  (needs lifelines, numpy)
"""
import csv
import pathlib

import numpy as np
from lifelines import KaplanMeierFitter

out = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "clv"
rng = np.random.default_rng(20261201)
n = 800
# Monthly churn that declines over time (sBG-like): geometric with a beta-mixed rate,
# rounded to quarter months so that event times tie.
p = rng.beta(0.7, 1.2, size=n)
churn = np.floor(rng.geometric(np.clip(p, 0.02, 0.98)) * 4 - rng.integers(0, 4, size=n)) / 4
churn = np.maximum(churn, 0.25)
# Censoring: subscribers who started at different times before the observation end.
follow = np.round(rng.uniform(0.5, 24.0, size=n) * 4) / 4
duration = np.minimum(churn, follow)
observed = churn <= follow
with open(out / "km_subscriptions.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["duration_months", "observed"])
    for d, o in zip(duration, observed):
        w.writerow([f"{d:.2f}", "true" if o else "false"])

kmf = KaplanMeierFitter().fit(duration, event_observed=observed)
times = sorted(set(float(t) for t in kmf.survival_function_.index) | {float(m) for m in range(1, 25)})
with open(out / "km_reference.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["time", "survival"])
    for t in times:
        w.writerow([f"{t:.2f}", f"{float(kmf.survival_function_at_times(t).iloc[0]):.12f}"])
print(f"wrote {n} subjects ({int(observed.sum())} events) and {len(times)} reference points to {out}")
