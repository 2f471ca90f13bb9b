"""Monitoring benchmarks: ranking of changed mechanisms, false alarms, and speed at scale.

``python benchmarks/monitor_benchmark.py ranking [--shifts 50] [--window-rows N] [--effect SD]``
    One reference from a 10-node structural model; for each seed one node's mechanism is
    changed (its noise shifted by ``effect`` SD, or its strongest coefficient scaled by
    ``1 + 1.6 * effect``) in a window, and as many unshifted windows are drawn. Reports how
    often the changed node is ranked first and the share of unshifted windows that raise any
    alert.
``python benchmarks/monitor_benchmark.py scale [--rows 1000000] [--window 100000]``
    A 1,000,000-row x 20-feature reference summarised once (``--save-reference``), then a
    100,000-row window compared with the saved summary; reports both wall times.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from causalinterp.monitoring import ReferenceSummary, monitor, summarize_reference

# A 10-node DAG: roots a, b, c; a chain and a collider; y the outcome.
EDGES = {
    "a": (),
    "b": (),
    "c": (),
    "d": ("a",),
    "e": ("a", "b"),
    "f": ("d",),
    "g": ("c", "e"),
    "h": ("f", "g"),
    "i": ("b",),
    "y": ("d", "e", "g", "h", "i"),
}
COEF = {
    "d": (0.8,),
    "e": (0.6, -0.7),
    "f": (1.2,),
    "g": (0.5, 0.9),
    "h": (0.7, -0.6),
    "i": (1.0,),
    "y": (1.0, 0.5, -0.8, 0.6, 0.4),
}
FEATURES = ["d", "e", "f", "g", "h", "i", "c"]


def simulate(
    n: int, seed: int, change: tuple[str, str] | None = None, effect: float = 0.5
) -> pd.DataFrame:
    """Rows of the DAG; ``change = (node, "noise"|"coef")`` alters that node's mechanism."""
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    for node, parents in EDGES.items():
        noise = rng.normal(size=n)
        coef = np.array(COEF.get(node, ()), dtype=float)
        if change is not None and change[0] == node:
            if change[1] == "noise" or not len(coef):
                noise = noise + effect
            else:
                coef = coef.copy()
                coef[np.argmax(np.abs(coef))] *= 1.0 + 1.6 * effect
        linear = sum((c * values[p] for c, p in zip(coef, parents, strict=True)), np.zeros(n))
        values[node] = linear + np.tanh(linear) * 0.3 + noise
    return pd.DataFrame(values)


def graph() -> str:
    return "; ".join(f"{p} -> {n}" for n, ps in EDGES.items() for p in ps)


def ranking(shifts: int, window_rows: int = 2000, effect: float = 0.5) -> None:
    started = time.perf_counter()
    reference = simulate(5000, 0)
    model = LinearRegression().fit(reference[FEATURES], reference["y"])
    summary = summarize_reference(reference, graph(), "y", model=model, max_shap_rows=500)
    nodes = list(EDGES)
    rng = np.random.default_rng(12345)
    hits, alarms, labelled_hits = 0, 0, 0
    for k in range(shifts):
        # Labels arrive for every other window: the ranking is then for the outcome. Without
        # labels the ranking is for the prediction, which the outcome's mechanism cannot move,
        # so the outcome is changed only in labelled windows.
        labelled = k % 2 == 0
        candidates = nodes if labelled else [n for n in nodes if n != "y"]
        node = candidates[rng.integers(len(candidates))]
        kind = "noise" if rng.random() < 0.5 else "coef"
        window = simulate(window_rows, 1000 + k, (node, kind), effect)
        if not labelled:
            window = window.drop(columns="y")
        result = monitor(summary, window, seed=k, n_bootstrap=100)
        top = result.windows[0].causal_drift.ranking[0].node
        hit = top == node
        hits += hit
        labelled_hits += hit and labelled
        stable = simulate(window_rows, 5000 + k)
        if k % 2:
            stable = stable.drop(columns="y")
        alarms += bool(monitor(summary, stable, seed=k, n_bootstrap=100).windows[0].alerts)
        print(
            f"shift {k + 1:3d}: {node} ({kind}, {'labelled' if labelled else 'unlabelled'})"
            f" ranked first: {hit}",
            file=sys.stderr,
        )
    print(f"changed mechanism ranked first: {hits}/{shifts} = {hits / shifts:.0%}")
    print(f"unshifted windows with any alert: {alarms}/{shifts} = {alarms / shifts:.0%}")
    print(f"wall time: {time.perf_counter() - started:.0f} s")


def scale(rows: int, window_rows: int) -> None:
    n_features = 20
    rng = np.random.default_rng(0)

    def draw(n: int, seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        z = r.normal(size=n)
        data = {f"x{j}": 0.5 * z + r.normal(size=n) for j in range(n_features)}
        frame = pd.DataFrame(data)
        frame["y"] = frame.to_numpy() @ np.linspace(1, 0.05, n_features) + z + r.normal(size=n)
        return frame

    edges = "; ".join(f"x{j} -> y" for j in range(n_features))
    reference = draw(rows, 1)
    window = draw(window_rows, 2)
    window["x3"] += 0.3
    features = [f"x{j}" for j in range(n_features)]
    from sklearn.ensemble import HistGradientBoostingRegressor

    sample = reference.sample(50_000, random_state=0)
    model = HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(
        sample[features], sample["y"]
    )
    del rng
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.summary"
        started = time.perf_counter()
        summarize_reference(reference, edges, "y", model=model).save(path)
        summarised = time.perf_counter() - started
        started = time.perf_counter()
        # The summary file holds no model: the model comes along, as with --model.
        loaded = ReferenceSummary.load(path, model=model)
        reloaded = time.perf_counter() - started
        result = monitor(loaded, window)
        compared = time.perf_counter() - started
    alerts = [(a.kind, a.subject) for a in result.windows[0].alerts]
    print(f"reference {rows} x {n_features}: summarised and saved in {summarised:.1f} s")
    print(
        f"window {window_rows} rows against the saved summary: {compared:.1f} s "
        f"(of which loading the summary, refitting its trees: {reloaded:.1f} s)"
    )
    print(f"alerts: {alerts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="which", required=True)
    r = sub.add_parser("ranking")
    r.add_argument("--shifts", type=int, default=50)
    r.add_argument("--window-rows", type=int, default=2000)
    r.add_argument("--effect", type=float, default=0.5, help="noise shift in SDs")
    s = sub.add_parser("scale")
    s.add_argument("--rows", type=int, default=1_000_000)
    s.add_argument("--window", type=int, default=100_000)
    args = parser.parse_args()
    if args.which == "ranking":
        ranking(args.shifts, args.window_rows, args.effect)
    else:
        scale(args.rows, args.window)


if __name__ == "__main__":
    main()
