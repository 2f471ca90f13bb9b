"""Coverage of the ATE, ATT and ATC intervals with estimated nuisances.

    python benchmarks/estimand_coverage.py [--reps 200] [--rows 1000]

Each replication draws a data set with selection on a confounder and an effect that grows
with it (ATT about 1.35, ATE 1.0, ATC about 0.65: the estimands differ), fits the doubly robust
back-door estimate once (``nuisance="linear"``) and reads the three estimands from its
nuisances, as ``estimate_effects(estimand=...)`` does. The truths are the population values
(E[1 + x] and E[1 + x | t], by quadrature), which the influence-function standard errors
target; against each sample's own mean unit effect the intervals are conservative (the
effect's heterogeneity across units is part of their variance). Result in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from causalinterp.estimate._econml import fit_backdoor
from causalinterp.estimate.estimands import ESTIMANDS, population_estimate


def _population_truths() -> dict[str, float]:
    grid = np.linspace(-9, 9, 40001)
    density = np.exp(-(grid**2) / 2)
    p = 1.0 / (1.0 + np.exp(-0.8 * grid))
    mean = {
        "ate": np.sum(grid * density) / np.sum(density),
        "att": np.sum(grid * density * p) / np.sum(density * p),
        "atc": np.sum(grid * density * (1 - p)) / np.sum(density * (1 - p)),
    }
    return {k: 1.0 + float(v) for k, v in mean.items()}


TRUTH = _population_truths()


def one(seed: int, n: int) -> dict[str, bool]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (rng.random(n) < 1.0 / (1.0 + np.exp(-0.8 * x))).astype(float)
    y = 0.5 * x + t * (1.0 + x) + rng.normal(size=n)
    truth = TRUTH
    _, k = fit_backdoor(
        y,
        t,
        x[:, None],
        treatment_kind="binary",
        outcome_kind="continuous",
        seed=seed,
        nuisance="linear",
    )
    hits = {}
    for estimand in ESTIMANDS:
        e = population_estimate(k.y, k.t, k.y0, k.y1, k.propensity, estimand=estimand)
        hits[estimand] = bool(e.ci_low <= truth[estimand] <= e.ci_high)
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    counts = dict.fromkeys(ESTIMANDS, 0)
    for seed in range(args.reps):
        for estimand, hit in one(seed, args.rows).items():
            counts[estimand] += hit
        if (seed + 1) % 20 == 0:
            print(f"{seed + 1}/{args.reps} replications", file=sys.stderr, flush=True)
    half = 1.96 * np.sqrt(0.95 * 0.05 / args.reps)
    print(f"{args.reps} replications of {args.rows} rows, {time.perf_counter() - start:.0f} s")
    for estimand, count in counts.items():
        print(f"{estimand}: coverage {count / args.reps:.3f} (nominal 0.95 +/- {half:.3f})")


if __name__ == "__main__":
    main()
