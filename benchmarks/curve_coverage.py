"""Coverage of the causal dose-response curve, and how often shape findings are right.

For each known truth f (a smooth sine, a threshold, a saturating tanh, a straight line) and
each number of rows, simulate data sets with confounding (x and y both depend on w1, w2;
with ``--confounding nonlinear`` y also depends on w2 squared, which a linear nuisance misses),
fit :func:`causalinterp.estimate.curves.fit_curve`, and record

- pointwise coverage of the 95% intervals (mean over the grid and data sets) and uniform
  coverage of the 95% band (share of data sets whose band holds the whole true curve);
- the false finding rate: a shape finding against a "model" whose partial dependence is the
  true curve (it must be about zero);
- the detection rate: a finding of the right kind against a linear model (threshold truth)
  or against a model saturating at 0.5 (linear truth).

    python benchmarks/curve_coverage.py --reps 100 --rows 1000,4000 --nuisance linear
    python benchmarks/curve_coverage.py --reps 20 --rows 2000 --nuisance auto \
        --confounding nonlinear
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from causalinterp.estimate.curves import _fit, _Task
from causalinterp.estimate.shapes import compare_shapes

TRUTHS = {
    "sine": lambda x: np.sin(1.5 * x),
    "threshold": lambda x: 2 * np.maximum(x - 0.5, 0.0),
    "tanh": lambda x: np.tanh(2 * x),
    "linear": lambda x: x,
}


def simulate(n: int, seed: int, f, nonlinear: bool):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    x = 0.7 * w[:, 0] - 0.4 * w[:, 1] + rng.normal(size=n)
    y = f(x) + w[:, 0] + 0.5 * w[:, 1] + rng.normal(size=n)
    if nonlinear:
        y += 0.5 * w[:, 1] ** 2  # E[0.5 w2^2] = 0.5 shifts the level of the true curve
    return x, y, w


def one(truth: str, n: int, seed: int, nuisance: str, nonlinear: bool) -> dict:
    f = TRUTHS[truth]
    x, y, w = simulate(n, seed, f, nonlinear)
    fit = _fit(_Task("x", x, y, w, 20, 0.95, 3, nuisance, seed))
    true_curve = f(fit.grid) + (0.5 if nonlinear else 0.0)
    z = 1.959964
    inside = np.abs(fit.theta - true_curve) <= z * fit.se
    in_band = np.all(np.abs(fit.theta - true_curve) <= fit.crit * fit.se)
    false = compare_shapes("x", fit, true_curve) is not None
    detected = None
    if truth == "threshold":
        slope = np.polyfit(x, f(x), 1)[0]  # the linear model's best slope
        found = compare_shapes("x", fit, slope * fit.grid)
        detected = found is not None and found.kind == "threshold"
    elif truth == "linear":
        found = compare_shapes("x", fit, np.minimum(fit.grid, 0.5))
        detected = found is not None and found.kind == "saturation" and found.flat == "model"
    return {
        "pointwise": float(inside.mean()),
        "uniform": bool(in_band),
        "false": false,
        "detected": detected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--rows", default="1000,4000")
    parser.add_argument("--nuisance", default="linear", choices=("linear", "auto"))
    parser.add_argument("--confounding", default="linear", choices=("linear", "nonlinear"))
    parser.add_argument("--truths", default=",".join(TRUTHS))
    args = parser.parse_args()
    results = []
    for truth in args.truths.split(","):
        for n in map(int, args.rows.split(",")):
            started = time.perf_counter()
            runs = [
                one(truth, n, seed, args.nuisance, args.confounding == "nonlinear")
                for seed in range(args.reps)
            ]
            detected = [r["detected"] for r in runs if r["detected"] is not None]
            row = {
                "truth": truth,
                "rows": n,
                "reps": args.reps,
                "nuisance": args.nuisance,
                "confounding": args.confounding,
                "pointwise_coverage": round(float(np.mean([r["pointwise"] for r in runs])), 3),
                "uniform_coverage": round(float(np.mean([r["uniform"] for r in runs])), 3),
                "false_finding_rate": round(float(np.mean([r["false"] for r in runs])), 3),
                "detection_rate": round(float(np.mean(detected)), 3) if detected else None,
                "seconds_per_fit": round((time.perf_counter() - started) / args.reps, 3),
            }
            results.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
