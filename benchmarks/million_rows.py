"""The million-row audit: 1,000,000 rows x 20 features, the full default ``analyze()``.

Runs the analysis in a child process (so its peak memory, workers included, is its own),
on the simulated data of ``compare_dowhy.py`` (every feature confounded by two observed
covariates, a chain between features, known true effects), with the analyst's model a
histogram gradient boosting fitted before the clock starts. Prints the wall time, the time
per stage, the peak resident memory of the process and its workers, the load average
before and after (the machine may be shared), and per feature the estimate against the truth.

``--check-subsample`` also estimates every effect with the nuisances fitted on every row
(``nuisance_rows=None``) and prints, per feature, how far the subsampled estimate is from
that full fit in standard errors: the empirical check of the rule in docs/performance.md.

Usage::

    python benchmarks/million_rows.py                       # 1,000,000 x 20, n_jobs -1
    python benchmarks/million_rows.py --rows 100000 --check-subsample --nuisance-rows 20000
    /usr/bin/time -v python benchmarks/million_rows.py      # the kernel's peak, for comparison
    python benchmarks/million_rows.py --rows 200000 --nuisance-rows 50000 --effects-only

Not part of the test suite: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The checkout this script is in is the one measured (not an installed copy).
sys.path[:0] = [str(HERE), str(HERE.parent)]

from compare_dowhy import OUTCOME, PeakMemory, simulate  # noqa: E402


def _nuisance_rows(text: str) -> int | None:
    return None if text.lower() == "none" else int(text)


def effects_only(args: argparse.Namespace) -> None:
    """The effects stage alone, with the subsample rule and with every row (same seeds)."""
    from causalinterp import stage_seeds
    from causalinterp.data import check_data
    from causalinterp.estimate import estimate_effects
    from causalinterp.graph import CausalGraph

    frame, edges, truth = simulate(args.rows, args.features, seed=args.seed)
    features = [f"X{j}" for j in range(args.features)]
    graph = CausalGraph.parse(edges)
    checked = check_data(frame, graph, OUTCOME, features=features)
    # Imports and first-call costs are paid on a small copy before either clock starts.
    small = check_data(frame.head(2000), graph, OUTCOME, features=features[:2])
    estimate_effects(small, graph, seed=0, n_jobs=args.n_jobs)
    fits, seconds = {}, {}
    for label, rows in (("subsample", args.nuisance_rows), ("every row", None)):
        start = time.perf_counter()
        with PeakMemory() as memory:
            fits[label] = estimate_effects(
                checked, graph, seed=stage_seeds(args.seed).effects, nuisance_rows=rows,
                n_jobs=args.n_jobs,
            ).by_feature  # fmt: skip
        seconds[label] = (time.perf_counter() - start, memory.peak)
        print(f"effects, {label}: {seconds[label][0]:.1f} s wall, peak memory "
              f"{memory.peak / 2**30:.2f} GiB", flush=True)  # fmt: skip
    gaps = [
        (fits["subsample"][f].estimate.estimate - fits["every row"][f].estimate.estimate)
        / fits["every row"][f].estimate.stderr
        for f in features
    ]
    covered = {
        label: sum(fit[f].estimate.ci_low <= truth[f] <= fit[f].estimate.ci_high
                   for f in features)
        for label, fit in fits.items()
    }  # fmt: skip
    print(
        f"{args.rows:,} rows x {args.features} features, nuisance_rows {args.nuisance_rows}: "
        f"effects stage {seconds['subsample'][0]:.1f} s with the rule against "
        f"{seconds['every row'][0]:.1f} s on every row (ratio "
        f"{seconds['subsample'][0] / seconds['every row'][0]:.2f}); subsampled - full fit: "
        f"largest |gap| {max(map(abs, gaps)):.2f} s.e., root mean square "
        f"{(sum(g * g for g in gaps) / len(gaps)) ** 0.5:.2f} s.e.; intervals covering the "
        f"truth: {covered['subsample']} (rule) and {covered['every row']} (every row) of "
        f"{len(features)}; load average {os.getloadavg()[0]:.1f}"
    )


def child(args: argparse.Namespace) -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    from causalinterp import analyze, stage_seeds
    from causalinterp.data import check_data
    from causalinterp.estimate import estimate_effects
    from causalinterp.graph import CausalGraph

    frame, edges, truth = simulate(args.rows, args.features, seed=args.seed)
    features = [f"X{j}" for j in range(args.features)]
    model = HistGradientBoostingRegressor(random_state=args.seed).fit(
        frame[features], frame[OUTCOME]
    )
    result: dict = {"rows": args.rows, "features": args.features, "truth": truth}
    with PeakMemory() as memory:
        start = time.perf_counter()
        report = analyze(
            frame, edges, OUTCOME, model=model, features=features, seed=args.seed,
            n_jobs=args.n_jobs, refute=args.refute, nuisance_rows=args.nuisance_rows,
            progress=False,
        )  # fmt: skip
        result["seconds"] = time.perf_counter() - start
    result["peak_bytes"] = memory.peak
    data = json.loads(report.to_json())
    result["stage_seconds"] = data["run"]["seconds"]
    result["estimates"] = {
        row["name"]: {k: (row["effect"] or {}).get(k) for k in ("estimate", "stderr", "ci_low",
                                                                "ci_high")}
        for row in data["features"]
    }  # fmt: skip
    result["refit"] = data["settings"].get("refit_reason")
    if args.check_subsample:
        graph = CausalGraph.parse(edges)
        checked = check_data(frame, graph, OUTCOME, features=features)
        start = time.perf_counter()
        # The same seeds as analyze()'s effects stage: only nuisance_rows differs.
        full = estimate_effects(
            checked, graph, seed=stage_seeds(args.seed).effects, nuisance_rows=None,
            n_jobs=args.n_jobs,
        )  # fmt: skip
        result["full_fit_seconds"] = time.perf_counter() - start
        sub = report.effects.by_feature
        gaps = {}
        for f in features:
            a, b = full.by_feature[f].estimate, sub[f].estimate
            if a is not None and b is not None:
                gaps[f] = float((b.estimate - a.estimate) / a.stderr)
        result["subsample_gap_se"] = gaps
        result["full_estimates"] = {
            f: full.by_feature[f].estimate.estimate for f in features
            if full.by_feature[f].estimate is not None
        }  # fmt: skip
    print("RESULT " + json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=-1, dest="n_jobs")
    parser.add_argument("--refute", default="standard")
    parser.add_argument(
        "--nuisance-rows", type=_nuisance_rows, default=200_000, dest="nuisance_rows",
        help="the nuisance_rows option ('none': every row)",
    )  # fmt: skip
    parser.add_argument("--check-subsample", action="store_true", dest="check_subsample")
    parser.add_argument(
        "--effects-only", action="store_true", dest="effects_only",
        help="time the effects stage alone, with the rule and on every row, and compare them",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.effects_only:
        effects_only(args)
        return 0
    if args.child:
        child(args)
        return 0
    load_before = os.getloadavg()
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *(argv or sys.argv[1:])]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the analysis failed (exit {done.returncode})")
    r = json.loads(lines[-1][len("RESULT "):])
    r["load_before"], r["load_after"] = load_before, os.getloadavg()
    print(
        f"{r['rows']:,} rows x {r['features']} features, nuisance_rows {args.nuisance_rows}: "
        f"analyze() {r['seconds']:.1f} s ({r['seconds'] / 60:.1f} min), child process "
        f"{wall:.1f} s with data and model; peak memory {r['peak_bytes'] / 2**30:.2f} GiB "
        f"(process and workers); load average {load_before[0]:.1f} before, "
        f"{r['load_after'][0]:.1f} after, on {os.cpu_count()} cores"
    )
    print(f"stages {r['stage_seconds']}")
    print(f"refit: {r['refit']}")
    covered = 0
    for f, e in r["estimates"].items():
        truth = r["truth"][f]
        inside = e["ci_low"] is not None and e["ci_low"] <= truth <= e["ci_high"]
        covered += inside
        gap = r.get("subsample_gap_se", {}).get(f)
        print(
            f"  {f}: truth {truth:+.4f}  estimate {e['estimate']:+.4f} "
            f"[{e['ci_low']:+.4f}, {e['ci_high']:+.4f}] {'covers' if inside else 'MISSES'}"
            + (f"  subsampled - full fit = {gap:+.2f} s.e." if gap is not None else "")
        )
    print(f"{covered} of {len(r['estimates'])} intervals cover the true effects")
    if "subsample_gap_se" in r:
        gaps = list(r["subsample_gap_se"].values())
        print(
            f"subsample vs full fit: largest |gap| {max(map(abs, gaps)):.2f} s.e., root mean "
            f"square {(sum(g * g for g in gaps) / len(gaps)) ** 0.5:.2f} s.e.; full-fit "
            f"effects stage {r['full_fit_seconds']:.1f} s"
        )
    if args.json:
        args.json.write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
