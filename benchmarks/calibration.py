"""Refuter calibration under sound effects: the table in docs/refutation.md.

Each data set is simulated with a true effect and estimated under the correct DAG, then
refuted; a calibrated refuter's raw p-values are uniform, so about 5% fall below 0.05 and
their mean is about 0.5. Per scenario it prints, for each refuter, the share of raw p-values
below 0.05 and their mean, and how many features failed any refuter after the report-wide
Benjamini-Hochberg step (about 5% expected).

Usage::

    python benchmarks/calibration.py                       # every scenario, 20 data sets
    python benchmarks/calibration.py --scenarios A,B --datasets 40 --depth standard
    python benchmarks/calibration.py --scenarios A,B2 --rows 20000 --nuisance-rows 2000

``--nuisance-rows`` sets the effects' ``nuisance_rows``: with it small against ``--rows``,
the subsample rule engages and the refutation stage's fits follow it (``capped_folds``).

Not part of the test suite (tests/test_performance_calibration.py is its quick version).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from causalinterp.data import check_data
from causalinterp.estimate.effects import estimate_effects
from causalinterp.graph import CausalGraph
from causalinterp.refute import REFUTERS, refute_effects


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _a(rng: np.random.Generator, n: int) -> pd.DataFrame:
    w = rng.normal(size=n)
    t = w + rng.normal(size=n)
    return pd.DataFrame({"w": w, "t": t, "y": t + 2 * w + rng.normal(size=n)})


def _b(rng: np.random.Generator, n: int) -> pd.DataFrame:
    w1, w2 = rng.normal(size=n), rng.normal(size=n)
    t = (rng.random(n) < _sigmoid(0.8 * w1 - 0.5 * w2)).astype(float)
    y = (rng.random(n) < _sigmoid(-0.8 + 0.8 * t + 0.7 * w1 + 0.5 * w2**2)).astype(float)
    return pd.DataFrame({"w1": w1, "w2": w2, "t": t, "y": y})


def _b2(rng: np.random.Generator, n: int) -> pd.DataFrame:
    w = rng.normal(size=n)
    t = (rng.random(n) < _sigmoid(0.8 * w)).astype(float)
    return pd.DataFrame({"w": w, "t": t, "y": t + 1.5 * w + np.sin(2 * w) + rng.normal(size=n)})


def _c(rng: np.random.Generator, n: int) -> pd.DataFrame:
    t = rng.normal(size=n)
    return pd.DataFrame({"t": t, "y": 0.5 * t + rng.normal(size=n)})


def _d(rng: np.random.Generator, n: int) -> pd.DataFrame:
    u = rng.normal(size=n)
    t = u + rng.normal(size=n)
    m = 0.8 * t + rng.normal(size=n)
    return pd.DataFrame({"t": t, "m": m, "y": 0.7 * m + u + rng.normal(size=n)})


def _e(rng: np.random.Generator, n: int) -> pd.DataFrame:
    u, z = rng.normal(size=n), rng.normal(size=n)
    t = z + u + rng.normal(size=n)
    return pd.DataFrame({"z": z, "t": t, "y": 0.6 * t + u + rng.normal(size=n)})


#: name: (description, DAG, simulator)
SCENARIOS: dict[str, tuple[str, str, Callable[[np.random.Generator, int], pd.DataFrame]]] = {
    "A": ("back-door, continuous T and Y, 1 control", "w -> t; w -> y; t -> y", _a),
    "B": (
        "back-door, binary T and Y, 2 controls (logistic)",
        "w1 -> t; w2 -> t; w1 -> y; w2 -> y; t -> y",
        _b,
    ),
    "B2": ("back-door, binary T, continuous Y, non-linear in w", "w -> t; w -> y; t -> y", _b2),
    "C": ("back-door, no controls", "t -> y", _c),
    "D": ("front-door (latent confounder)", "u -> t; u -> y; t -> m; m -> y", _d),
    "E": ("IV (latent confounder)", "z -> t; u -> t; u -> y; t -> y", _e),
}


def run(
    name: str,
    *,
    datasets: int,
    rows: int,
    depth: str,
    nuisance: str,
    n_jobs: int,
    nuisance_rows: int | None = 200_000,
) -> str:
    description, dag, simulate = SCENARIOS[name]
    graph = CausalGraph.parse(dag)
    p_values: dict[str, list[float]] = {r: [] for r in REFUTERS}
    failed = 0
    for index in range(datasets):
        frame = simulate(np.random.default_rng(10_000 + index), rows)
        checked = check_data(frame, graph, "y", features=["t"])
        effects = estimate_effects(
            checked, graph, seed=index, n_jobs=1, nuisance=nuisance, nuisance_rows=nuisance_rows
        )
        # The refuters re-fit with the nuisances recorded on the effects.
        refuted = refute_effects(checked, effects, refute=depth, seed=index, n_jobs=n_jobs)
        results = refuted.by_feature["t"]
        failed += any(not r.passed for r in results)
        for result in results:
            p_values[result.name].append(result.p_value)
    cells = []
    for refuter in REFUTERS:
        p = np.array(p_values[refuter])
        cells.append(f"{np.mean(p < 0.05):.2f} / {np.nanmean(p):.2f}")
    return (
        f"| {name}: {description} | {nuisance} | {depth} | {datasets} | "
        + " | ".join(cells)
        + f" | {failed} of {datasets} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--depth", default="standard", choices=["quick", "standard", "thorough"])
    parser.add_argument("--nuisance", default="auto", choices=["auto", "linear"])
    parser.add_argument("--n-jobs", type=int, default=-1, dest="n_jobs")
    parser.add_argument("--nuisance-rows", type=int, default=200_000, dest="nuisance_rows")
    args = parser.parse_args(argv)
    header = " | ".join(REFUTERS)
    print(f"| data (n = {args.rows}) | nuisance | depth | data sets | {header} | features failed |")
    for name in args.scenarios.split(","):
        if name not in SCENARIOS:
            parser.error(f"--scenarios: unknown scenario {name!r}; use {', '.join(SCENARIOS)}")
        start = time.perf_counter()
        row = run(
            name,
            datasets=args.datasets,
            rows=args.rows,
            depth=args.depth,
            nuisance=args.nuisance,
            n_jobs=args.n_jobs,
            nuisance_rows=args.nuisance_rows,
        )
        print(row + f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
