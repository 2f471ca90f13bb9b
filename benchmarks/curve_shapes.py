"""How often the curves' shape findings invent a threshold or a saturation, and how often
they find the planted ones.

Data as in ``benchmarks/curve_coverage.py``: x and y confounded by w1, w2, y = f(x) + w1 +
0.5 w2 + noise, so E[y | do(x)] = f(x); the causal curve is fitted with
:func:`causalinterp.estimate.curves.fit_curve`'s estimator (linear nuisances) and compared
with a "model" curve by :func:`causalinterp.estimate.shapes.compare_shapes`.

Smooth truths (no flat stretch: a logistic, a quadratic and a line over x's 1st to 99th
percentile, about -3 to 3, with slopes below any break at least 0.35 of those above it) are
compared with smooth models that get them wrong in scale or shape (the truth itself, the
best straight line through the truth, the truth at half its size): any ``threshold`` or
``saturation`` finding there is invented (``false_shape_rate``, target at most 5%);
``contradicted_rate`` counts those whose flat stretch the truth itself contradicts (the flat
curve's true change over it at least 0.3 of the other's). Planted shapes are compared with a
straight line (or a linear truth with a saturating model): the finding must name the planted
kind and which curve is flat (``detection_rate``), with a flat stretch whose true change is
under 0.3 of the other curve's (``flat_true_ok``).

    python benchmarks/curve_shapes.py --reps 100 --rows 2000

Run with the package of another checkout first on ``PYTHONPATH`` to compare versions.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from causalinterp.estimate.curves import _fit, _Task
from causalinterp.estimate.shapes import compare_shapes

SMOOTH = {
    "logistic": lambda x: 3.0 / (1.0 + np.exp(-x)),
    "quadratic": lambda x: x + 0.1 * x**2,
    "linear": lambda x: x,
}
PLANTED = {
    # truth, model, expected (kind, flat)
    "threshold": (lambda x: 2 * np.maximum(x - 0.5, 0.0), "line", ("threshold", "causal")),
    "saturation": (lambda x: 2 * np.minimum(x, 0.5), "line", ("saturation", "causal")),
    "model_saturates": (lambda x: x, "saturating", ("saturation", "model")),
}


def simulate(n: int, seed: int, f):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    x = 0.7 * w[:, 0] - 0.4 * w[:, 1] + rng.normal(size=n)
    y = f(x) + w[:, 0] + 0.5 * w[:, 1] + rng.normal(size=n)
    return x, y, w


def curve(name: str, f, grid: np.ndarray, x: np.ndarray) -> np.ndarray:
    if name == "truth":
        return f(grid)
    if name == "half":
        return 0.5 * f(grid)
    if name == "line":  # the best straight line through the truth over the data
        slope, intercept = np.polyfit(x, f(x), 1)
        return intercept + slope * grid
    if name == "saturating":
        return np.minimum(grid, 0.5)
    raise ValueError(name)


def one(f, models: tuple[str, ...], n: int, seed: int) -> dict[str, dict]:
    """One data set and one causal fit, compared with each model's curve."""
    x, y, w = simulate(n, seed, f)
    fit = _fit(_Task("x", x, y, w, 20, 0.95, 3, "linear", seed))
    return {
        model: judge_finding(f, model, x, compare_shapes("x", fit, curve(model, f, fit.grid, x)))
        for model in models
    }


def judge_finding(f, model: str, x: np.ndarray, found) -> dict:
    if found is None:
        return {"finding": False, "kind": None, "flat": None, "flat_true_ok": None}
    flat_ok = None
    if found.kind in ("threshold", "saturation"):
        ends = np.array([found.x_low, found.x_high])
        true_change = float(np.diff(f(ends))[0])
        model_change = float(np.diff(curve(model, f, ends, x))[0])
        flat, other = (
            (true_change, model_change) if found.flat == "causal" else (model_change, true_change)
        )
        flat_ok = bool(abs(flat) <= 0.3 * abs(other))
    return {"finding": True, "kind": found.kind, "flat": found.flat, "flat_true_ok": flat_ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--rows", default="2000")
    parser.add_argument("--truths", default=",".join([*SMOOTH, *PLANTED]))
    args = parser.parse_args()
    chosen = set(args.truths.split(","))
    cases = [(t, f, ("truth", "line", "half"), None) for t, f in SMOOTH.items()]
    cases += [(t, f, (m,), want) for t, (f, m, want) in PLANTED.items()]
    for truth, f, models, want in (case for case in cases if case[0] in chosen):
        for n in map(int, args.rows.split(",")):
            started = time.perf_counter()
            runs = [one(f, models, n, seed) for seed in range(args.reps)]
            seconds = round((time.perf_counter() - started) / args.reps, 3)
            for model in models:
                print(json.dumps(summary(truth, model, n, [r[model] for r in runs], want,
                                         seconds)), flush=True)  # fmt: skip


def summary(truth: str, model: str, n: int, runs: list[dict], want, seconds: float) -> dict:
    shaped = [r for r in runs if r["kind"] in ("threshold", "saturation")]
    row = {
        "truth": truth,
        "model": model,
        "rows": n,
        "reps": len(runs),
        "finding_rate": round(float(np.mean([r["finding"] for r in runs])), 3),
    }
    if want is None:
        row["false_shape_rate"] = round(len(shaped) / len(runs), 3)
        wrong = [r for r in shaped if not r["flat_true_ok"]]
        row["contradicted_rate"] = round(len(wrong) / len(runs), 3)
    else:
        row["detection_rate"] = round(
            float(np.mean([(r["kind"], r["flat"]) == want for r in runs])), 3
        )
        ok = [r["flat_true_ok"] for r in shaped]
        row["flat_true_ok"] = round(float(np.mean(ok)), 3) if ok else None
    row["seconds_per_fit"] = seconds
    return row


if __name__ == "__main__":
    main()
