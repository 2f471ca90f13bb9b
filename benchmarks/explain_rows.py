"""Per-row explanations: coverage of the per-row effect intervals and cost per row.

Run from the repository root:

    python benchmarks/explain_rows.py [--datasets 30] [--forest-datasets 8] [--out FILE]

1. Coverage: on ``tests/_explain_worlds.py`` (individual effects ``1 + 0.8 a`` of a
   continuous and ``2 + a`` of a binary feature), the share of 100 rows per data set whose
   95% interval covers the row's true effect, pooled over data sets, for the linear and the
   forest estimators.
2. Levers: in the same explanations the proxy ``p`` and the consequence ``c`` are never
   levers (counted over every explained row of the timing analysis).
3. Cost: after one analysis of the retention simulator (5,000 rows, 7 features), wall-clock
   and CPU seconds of ``prepare`` (model refit, one per-row effect fit per feature: once per
   analysis), then of explaining 20 rows with SHAP and 5 with LIME, one call per row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import _explain_worlds as world

from causalinterp.data import check_data
from causalinterp.explain.cate import row_effects
from causalinterp.graph import CausalGraph


def coverage(datasets: int, method: str) -> dict:
    graph = CausalGraph.parse(world.GRAPH)
    covered = {"t": [], "d": []}
    widths = {"t": [], "d": []}
    per_set = {"t": [], "d": []}
    for seed in range(datasets):
        data = world.sample(2000, seed=1000 + seed)
        checked = check_data(data, graph, "y", features=world.FEATURES)
        a = data["a"].to_numpy()[:100]
        for name, truth in (("t", world.effect_t(a)), ("d", world.effect_d(a))):
            fx = row_effects(
                checked,
                graph,
                name,
                {"strategy": "backdoor", "adjustment_set": ["a"]},
                range(100),
                seed=seed,
                method=method,
            )
            low, high = np.array(fx.ci_low), np.array(fx.ci_high)
            inside = (low <= truth) & (truth <= high)
            covered[name].extend(inside)
            widths[name].extend(high - low)
            per_set[name].append(float(inside.mean()))
        print(f"  {method} data set {seed + 1}/{datasets}", file=sys.stderr, flush=True)
    return {
        name: {
            "coverage": round(float(np.mean(covered[name])), 3),
            "mean_width": round(float(np.mean(widths[name])), 3),
            "data_sets_below_80pct": int(sum(c < 0.8 for c in per_set[name])),
        }
        for name in ("t", "d")
    }


def cost() -> dict:
    import causalinterp
    from causalinterp.simulators import retention_model

    sim = retention_model()
    data = sim.sample(5000, seed=0)
    features = [
        "tenure_years",
        "loyalty_discount",
        "monthly_bill",
        "outage_hours",
        "premium_device",
        "support_calls",
        "cancel_page_visits",
    ]
    report = causalinterp.analyze(
        data,
        sim.graph,
        "churned",
        features=features,
        refute="none",
        test_graph=False,
        progress=False,
    )
    from causalinterp.explain import prepare

    wall, cpu = time.perf_counter(), time.process_time()
    prepared = prepare(report, data)
    results = {
        "prepare": {
            "wall_seconds": round(time.perf_counter() - wall, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2),
        }
    }
    print(f"  prepare: {results['prepare']}", file=sys.stderr, flush=True)
    for explainer, rows in (("shap", list(range(20))), ("lime", list(range(5)))):
        wall, cpu = time.perf_counter(), time.process_time()
        # One call per row: the cost of explaining a row once the analysis is prepared.
        out = [prepared.explain([row], explainer=explainer).rows[0] for row in rows]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        leaks = sum(
            c.lever
            for r in out
            for c in r.contributions
            if c.feature in ("premium_device", "cancel_page_visits")
        )
        results[explainer] = {
            "rows": len(rows),
            "wall_seconds_per_row": round(wall / len(rows), 3),
            "cpu_seconds_per_row": round(cpu / len(rows), 3),
            "proxy_or_consequence_levers": int(leaks),
        }
        print(f"  {explainer}: {results[explainer]}", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=30)
    parser.add_argument("--forest-datasets", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--cost-only", action="store_true", help="skip the coverage runs")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    result = (
        {}
        if args.cost_only
        else {
            "coverage_linear": coverage(args.datasets, "linear"),
            "coverage_forest": coverage(args.forest_datasets, "forest"),
        }
    )
    result["cost"] = cost()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
