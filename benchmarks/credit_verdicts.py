"""The credit goal figure: how many of the seven verdicts are right, per simulated data set.

For each seed, draw 5,000 borrowers from :func:`causalinterp.simulators.credit_risk_model`
(logistic default; the model is not given ``income``), run ``analyze`` with the default model
on the seven features of ``case_studies/credit``, and count

- right verdicts: the verdict each feature's structure dictates (the table in
  docs/case-studies.md);
- covered truths: identified effects (and region's level effects) whose 95% interval holds
  the true effect of ``case_studies/credit/truth.json``;
- shape findings on the smooth logistic curves (there is no threshold or plateau to find).

    python benchmarks/credit_verdicts.py --seeds 1,2,3,4,5
    python benchmarks/credit_verdicts.py --seeds 1 --refute quick --json /tmp/credit.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from causalinterp import analyze
from causalinterp.simulators import credit_risk_model

CASE = Path(__file__).parent.parent / "case_studies" / "credit"
ROWS = 5_000
FEATURES = ["utilization", "interest_rate", "region", "late_payments", "loan_term", "age",
            "collection_calls"]  # fmt: skip
#: The verdict the structure dictates (tests/test_case_credit.py holds the same table).
EXPECTED = {
    "utilization": "supported",
    "interest_rate": "over_attributed",
    "region": "under_attributed",
    "late_payments": "not_identifiable",
    "loan_term": "no_detectable_effect",
    "age": "no_causal_path",
    "collection_calls": "no_causal_path",
}


def run(seed: int, refute: str, truth: dict) -> dict:
    """One simulated data set: its verdicts, coverage and shape findings."""
    model = credit_risk_model()
    data = model.sample(ROWS, seed=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze(
            data, CASE / "graph.dot", "defaulted", features=FEATURES, seed=seed,
            refute=refute, test_graph=False, n_jobs=2,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    verdicts = {f: str(v.verdict) for f, v in report.verdicts.items()}
    wrong = {f: (verdicts[f], EXPECTED[f], report.verdicts[f].reasons[0])
             for f in EXPECTED if verdicts[f] != EXPECTED[f]}  # fmt: skip
    intervals = {
        f: (report.effects.by_feature[f].estimate, truth[f])
        for f in ("utilization", "interest_rate", "loan_term")
    }
    for level in report.effects.by_feature["region"].levels:
        intervals[f"region={level.level}"] = (level.estimate, truth["region"][level.level])
    missed = {
        name: [round(e.ci_low, 5), round(e.ci_high, 5), true]
        for name, (e, true) in intervals.items()
        if not e.ci_low < true < e.ci_high
    }
    document = report.to_dict()
    shapes = {
        f["name"]: [f["curve"]["shape"]["kind"], f["curve"]["shape"]["sentence"]]
        for f in document["features"]
        if f.get("curve") and f["curve"].get("shape")
    }
    return {
        "seed": seed,
        "right": sum(verdicts[f] == EXPECTED[f] for f in EXPECTED),
        "of": len(EXPECTED),
        "wrong": wrong,
        "covered": len(intervals) - len(missed),
        "identified": len(intervals),
        "missed": missed,
        "shape_findings": shapes,
        "slopes_over_effects": {
            f: round(
                report.attributions.by_feature[f].slope
                / report.effects.by_feature[f].estimate.estimate,
                2,
            )
            for f in ("utilization", "interest_rate")
        },
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated data seeds")
    parser.add_argument("--refute", default="none", help="refutation depth of each run")
    parser.add_argument("--json", type=Path, help="write the per-seed results here")
    args = parser.parse_args()
    truth = json.loads((CASE / "truth.json").read_text())
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        results.append(run(seed, args.refute, truth))
        print(json.dumps(results[-1]), flush=True)
    kinds = [kind for r in results for kind, _ in r["shape_findings"].values()]
    flat = sum(kind in ("threshold", "saturation") for kind in kinds)
    right = sum(r["right"] for r in results)
    total = sum(r["of"] for r in results)
    print(f"right verdicts: {right}/{total}; seeds with 7/7: "
          f"{sum(r['right'] == r['of'] for r in results)}/{len(results)}; covered truths: "
          f"{sum(r['covered'] for r in results)}/{sum(r['identified'] for r in results)}; "
          f"shape findings: {len(kinds)} (threshold or saturation: {flat})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
