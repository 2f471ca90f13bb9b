"""Cost and accuracy of monitoring's ``outcome_change`` (the outcome's change split over
mechanisms) by the number of nodes.

World: a chain of k-1 causes v0 -> v1 -> ... -> v{k-2}, each with noise, and y = 0.5 * (sum of
the causes) + noise. Each window shifts one cause's mechanism by +1 (chosen in turn), which
moves y's mean by 0.5 * (1 + 0.5 + 0.25 + ...) over the shifted node and its descendants;
the shifted node should carry all of it. Reported per k: seconds per window (wall, one
process), how often the shifted node has the largest contribution, and its mean absolute
error against the true change.

    python benchmarks/outcome_change.py --nodes 4,6,8 --windows 3
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from causalinterp import monitor
from causalinterp.monitoring.reference import summarize_reference


def draw(n: int, k: int, seed: int, shifted: str | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for i in range(k - 1):
        value = rng.normal(size=n) + (0.5 * cols[f"v{i - 1}"] if i else 0.0)
        if shifted == f"v{i}":
            value = value + 1.0
        cols[f"v{i}"] = value
    cols["y"] = 0.5 * sum(cols.values()) + rng.normal(size=n)
    return pd.DataFrame(cols)


def true_change(k: int, shifted: str) -> float:
    i = int(shifted[1:])
    return 0.5 * sum(0.5**j for j in range(k - 1 - i))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="4,6,8", help="node counts k (with y), comma-separated")
    parser.add_argument("--windows", type=int, default=3, help="windows per node count")
    parser.add_argument("--rows", type=int, default=2000, help="rows per window")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("nodes | s per window | shifted node largest | mean abs error")
    for k in (int(v) for v in args.nodes.split(",")):
        graph = "; ".join(
            [f"v{i - 1} -> v{i}" for i in range(1, k - 1)] + [f"v{i} -> y" for i in range(k - 1)]
        )
        features = [f"v{i}" for i in range(k - 1)]
        summary = summarize_reference(draw(5000, k, 0), graph, "y", features=features, seed=0)
        shifted = [f"v{i % (k - 1)}" for i in range(args.windows)]
        windows = {s: draw(args.rows, k, 10 + j, s) for j, s in enumerate(shifted)}
        start = time.perf_counter()
        result = monitor(summary, windows, outcome_change=True, progress=False)
        seconds = (time.perf_counter() - start) / len(windows)
        hits, errors = 0, []
        for window in result.windows:
            split = dict(window.outcome_change.contributions)
            hits += max(split, key=lambda n: abs(split[n])) == window.name
            errors.append(abs(split[window.name] - true_change(k, window.name)))
        print(f"{k} | {seconds:.1f} | {hits}/{len(windows)} | {np.mean(errors):.3f}")


if __name__ == "__main__":
    main()
