"""Domain logic at scale: verify and constrain on simulated data with a planted artefact.

A churn-like world with six features: ``price`` raises the outcome, ``income`` lowers it and
raises ``price`` (a confounder the model holds), ``tenure`` lowers it through ``discount``
(a mediator the model also holds, so ``tenure``'s own direction is its direct edge's), and
two features without effect (``noise1``, ``noise2``; unsigned, so not checked). The planted
artefact: among the highest prices (the sparse top tail) the outcome drops, so unconstrained
models learn a curve that falls there.

For each model family the script times the check of the fitted model (ICE grid alone and
with the exact tree check), then :func:`causalinterp.domain.constrain` end to end, and
prints violation shares before/after and the score difference with its interval.

    python benchmarks/domain_logic.py --rows 20000 --families hgb,lightgbm,xgboost,random_forest
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from causalinterp.domain import constrain, derive_directions, verify
from causalinterp.simulators import Mechanism, StructuralModel

GRAPH = ("income -> price; income -> y; price -> y; tenure -> discount; discount -> y; "
         "tenure -> y; noise1 -> y; noise2 -> y")
SIGNS = {("income", "price"): "+", ("income", "y"): "-", ("price", "y"): "+",
         ("tenure", "discount"): "+", ("discount", "y"): "-", ("tenure", "y"): "-"}
FEATURES = ["price", "income", "tenure", "discount", "noise1", "noise2"]
#: Prices above this (about the top 2.5%) carry the planted drop.
ARTEFACT_FROM = 13.0


def world(kind: str) -> StructuralModel:
    def signal(p):
        return (0.5 * (p["price"] - 10) - 0.6 * p["income"] - 0.3 * p["tenure"]
                - 0.5 * p["discount"]
                - 2.5 * (p["price"] > ARTEFACT_FROM))

    parents = ("price", "income", "tenure", "discount", "noise1", "noise2")
    outcome = (Mechanism(parents, lambda p, e: signal(p) + e, noise_scale=0.5)
               if kind == "continuous" else
               Mechanism(parents, lambda p, e: 1 / (1 + np.exp(-signal(p))), kind="binary"))
    return StructuralModel({
        "income": Mechanism((), lambda p, e: e),
        "tenure": Mechanism((), lambda p, e: e),
        "noise1": Mechanism((), lambda p, e: e),
        "noise2": Mechanism((), lambda p, e: e),
        "price": Mechanism(("income",), lambda p, e: 10 + 1.0 * p["income"] + 1.2 * e),
        "discount": Mechanism(("tenure",), lambda p, e: 0.8 * p["tenure"] + e),
        "y": outcome,
    })


def make_model(family: str, binary: bool, seed: int):
    if family == "hgb":
        return None
    if family == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier if binary else lightgbm.LGBMRegressor
        return cls(n_estimators=200, random_state=seed, verbose=-1, n_jobs=1)
    if family == "xgboost":
        import xgboost

        cls = xgboost.XGBClassifier if binary else xgboost.XGBRegressor
        return cls(n_estimators=200, random_state=seed, n_jobs=1)
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if binary else RandomForestRegressor
    return cls(n_estimators=100, min_samples_leaf=20, random_state=seed, n_jobs=1)


def run(rows: int, kind: str, family: str, seed: int) -> dict:
    data = world(kind).sample(rows, seed=seed)
    out: dict = {"rows": rows, "outcome": kind, "family": family,
                 "artefact_rows": float((data["price"] > ARTEFACT_FROM).mean())}
    t = time.perf_counter()
    directions = derive_directions(GRAPH, "y", FEATURES, signs=SIGNS)
    out["seconds_directions"] = time.perf_counter() - t
    out["directions"] = directions.expected()
    t = time.perf_counter()
    result = constrain(make_model(family, kind == "binary", seed), data, GRAPH, "y",
                       features=FEATURES, signs=SIGNS, seed=seed, progress=False)
    out["seconds_constrain"] = time.perf_counter() - t
    # The check alone, on the unconstrained refit: grid only, then with the exact check.
    for exact in (False, True):
        t = time.perf_counter()
        verify(result.unconstrained, data, directions, exact=exact, seed=seed)
        out[f"seconds_verify_{'exact' if exact else 'grid'}"] = time.perf_counter() - t
    out["model"] = result.model
    out["violations"] = {
        name: {"before": check.violation_share,
               "after": result.after.by_feature[name].violation_share,
               "at_before": check.max_violation_at,
               "exact_before": check.exact.status if check.exact else None,
               "exact_after": (result.after.by_feature[name].exact.status
                               if result.after.by_feature[name].exact else None)}
        for name, check in result.before.by_feature.items()
    }
    out["scores"] = {s.metric: {"before": s.before, "after": s.after, "difference": s.difference,
                                "ci": [s.ci_low, s.ci_high]} for s in result.scores}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--outcomes", default="continuous,binary")
    parser.add_argument("--families", default="hgb,lightgbm,xgboost,random_forest")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP/BLAS threads (1: no oversubscription on a shared machine)")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=args.threads)
    results = []
    for kind in args.outcomes.split(","):
        for family in args.families.split(","):
            r = run(args.rows, kind, family, args.seed)
            results.append(r)
            v = r["violations"]["price"]
            scores = "; ".join(f"{m} {s['before']:.4f}->{s['after']:.4f} "
                               f"[{s['ci'][0]:+.4f}, {s['ci'][1]:+.4f}]"
                               for m, s in r["scores"].items())
            print(f"{kind:10s} {r['model']:32s} constrain {r['seconds_constrain']:6.1f}s  "
                  f"verify grid {r['seconds_verify_grid']:5.2f}s exact "
                  f"{r['seconds_verify_exact']:5.2f}s  price violations "
                  f"{v['before']:.0%} -> {v['after']:.0%} (exact {v['exact_before']} -> "
                  f"{v['exact_after']}, worst at {v['at_before']})  {scores}", flush=True)
            others = {n: (round(x["before"], 3), x["after"]) for n, x in r["violations"].items()
                      if n != "price"}
            print(f"{'':10s} other features (before, after): {others}", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2, default=str)


if __name__ == "__main__":
    main()
