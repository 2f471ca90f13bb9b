"""Side-by-side benchmark: the hand-written DoWhy + EconML + SHAP loop against causalinterp.

Both sides run in their own subprocess on the same simulated data (same seed) and the same
fitted model, and do the same statistical work: per feature, back-door identification,
LinearDML with the same gradient-boosting nuisance learners and folds, the placebo-treatment
(permute), random-common-cause and data-subset (80%) refuters with the same number of
simulations each, and SHAP TreeExplainer attributions of a gradient-boosting model.
causalinterp additionally runs its bootstrap and dummy-outcome refuters and the sensitivity
analysis (more work, not less). The parent prints the wall-time ratio causalinterp / loop,
each side's peak memory (resident set of the process and its workers, sampled every 250 ms)
and whether the estimates agree within their 95% intervals.

Usage (see docs/performance.md for the measured numbers)::

    python benchmarks/compare_dowhy.py --rows 10000 --features 8 --simulations 20
    python benchmarks/compare_dowhy.py --rows 10000,100000 --features 8 --sides causalinterp
    python benchmarks/compare_dowhy.py --rows 10000 --features 8 --nuisance gb,auto  # both runs
    python benchmarks/compare_dowhy.py --rows 1000000 --features 20 --sides causalinterp \\
        --nuisance auto

Not part of the test suite: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
# The checkout this script is in is the one measured (not an installed copy); the children
# inherit it through PYTHONPATH.
sys.path.insert(0, str(HERE.parent))
OUTCOME = "Y"
CONFOUNDERS = ("W1", "W2")


# ----------------------------------------------------------------------------- the data


def simulate(rows: int, features: int, seed: int = 0) -> tuple[pd.DataFrame, list, dict]:
    """A DAG where every feature has observed confounders (so DoWhy's placebo can run).

    W1, W2 (observed, not model features) cause every feature X_j and the outcome; X_j also
    depends on X_{j-1} (a chain, so back-door sets differ between features); Y depends on
    every X_j linearly and on W non-linearly. True total effects are computed exactly.
    """
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=rows)
    w2 = rng.uniform(-2, 2, size=rows)
    names = [f"X{j}" for j in range(features)]
    direct = np.round(np.linspace(-1.0, 1.5, features), 3)
    chain = 0.3
    columns: dict[str, np.ndarray] = {"W1": w1, "W2": w2}
    previous = np.zeros(rows)
    for j, name in enumerate(names):
        a1, a2 = 0.8 - 0.1 * (j % 5), 0.5 * ((-1) ** j)
        x = a1 * w1 + a2 * np.tanh(w2) + (chain * previous if j else 0.0)
        x = x + rng.normal(size=rows)
        columns[name] = x
        previous = x
    y = sum(direct[j] * columns[name] for j, name in enumerate(names))
    y = y + 0.8 * w1 + np.sin(2 * w2) + 0.5 * w2**2 + rng.normal(size=rows)
    columns[OUTCOME] = y
    edges = [(w, x) for w in CONFOUNDERS for x in names] + [(w, OUTCOME) for w in CONFOUNDERS]
    edges += [(names[j - 1], names[j]) for j in range(1, features)]
    edges += [(x, OUTCOME) for x in names]
    # Total effect of X_j: its direct effect plus the chain X_j -> X_{j+1} -> ... -> Y.
    truth: dict[str, float] = {}
    total = 0.0
    for j in reversed(range(features)):
        total = direct[j] + chain * total if j < features - 1 else direct[j]
        truth[names[j]] = float(total)
    return pd.DataFrame(columns), edges, truth


def fitted_model(frame: pd.DataFrame, features: list[str], seed: int = 0):
    """The analyst's model: scikit-learn gradient boosting on the features.

    Histogram gradient boosting beyond 200,000 rows, where exact-split boosting would take
    longer to fit than the whole analysis (the model is an input to both sides, not timed).
    """
    from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor

    if len(frame) > 200_000:
        model = HistGradientBoostingRegressor(random_state=seed)
    else:
        model = GradientBoostingRegressor(random_state=seed)
    return model.fit(frame[features], frame[OUTCOME])


def learners(kind: str, seed: int = 0):
    """The nuisance learners both sides use."""
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    if kind == "gb":
        return GradientBoostingRegressor(random_state=seed), GradientBoostingClassifier(
            random_state=seed
        )
    return kind  # "auto" / "linear": causalinterp's own


# ----------------------------------------------------------------------------- memory


class PeakMemory:
    """Peak resident memory of this process plus its descendants (sampled)."""

    def __init__(self, interval: float = 0.25, refresh: int = 8) -> None:
        # Finding the descendants walks the whole process table (psutil): at every 50 ms
        # sample that took 20 CPU-seconds of a 2-core machine in an 8-minute run, competing
        # with what it measures. They are looked up every ``refresh`` samples (joblib's
        # workers live for the whole run); their memory is read at every sample.
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._refresh = refresh
        self._processes: list = []
        self._samples = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, refresh: bool = False) -> int:
        total = 0
        if refresh or self._samples % self._refresh == 0:
            try:
                self._processes = [self._process, *self._process.children(recursive=True)]
            except Exception:
                return 0
        self._samples += 1
        for proc in self._processes:
            try:
                total += proc.memory_info().rss
            except Exception:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.peak = max(self.peak, self._sample(refresh=True))
        self._stop.set()
        self._thread.join()


# ----------------------------------------------------------------------------- side (a)


def run_dowhy_loop(frame, edges, features, model, simulations, nuisance, seed, n_jobs) -> dict:
    """The loop an analyst writes from the DoWhy, EconML and SHAP documentation.

    ``n_jobs`` goes to DoWhy's refuters (their documented joblib option), so with -1 the
    loop's simulations use every core, as causalinterp's do.
    """
    import warnings

    import networkx as nx
    import shap
    from dowhy import CausalModel

    warnings.filterwarnings("ignore")
    graph = nx.DiGraph(edges)
    regressor, _ = learners("gb", seed)  # the learners the documentation shows, always
    out: dict = {"estimates": {}, "refutations": {}, "failures": []}
    for feature in features:
        causal_model = CausalModel(data=frame, treatment=feature, outcome=OUTCOME, graph=graph)
        estimand = causal_model.identify_effect(proceed_when_unidentifiable=True)
        estimate = causal_model.estimate_effect(
            estimand,
            method_name="backdoor.econml.dml.LinearDML",
            method_params={
                "init_params": {
                    "model_y": regressor,
                    "model_t": regressor,
                    "cv": 3,
                    "random_state": seed,
                },
                "fit_params": {},
            },
        )
        # With EconML estimators DoWhy's get_confidence_intervals() returns None here;
        # the interval comes from the fitted EconML object, as EconML documents it.
        low, high = (np.ravel(v)[0] for v in estimate.estimator.estimator.effect_interval())
        out["estimates"][feature] = {
            "estimate": float(estimate.value),
            "ci_low": float(low),
            "ci_high": float(high),
        }
        refuted = {}
        for method, options in (
            ("placebo_treatment_refuter", {"placebo_type": "permute"}),
            ("random_common_cause", {}),
            ("data_subset_refuter", {"subset_fraction": 0.8}),
        ):
            try:
                result = causal_model.refute_estimate(
                    estimand,
                    estimate,
                    method_name=method,
                    num_simulations=simulations,
                    n_jobs=n_jobs,
                    **options,
                )
                refuted[method] = float(np.ravel(result.new_effect)[0])
            except Exception as error:  # e.g. "Singular matrix" without controls
                out["failures"].append(f"{feature} {method}: {type(error).__name__}: {error}")
        out["refutations"][feature] = refuted
    explainer = shap.TreeExplainer(model)
    values = explainer.shap_values(frame[features])
    out["mean_abs_shap"] = dict(
        zip(features, np.abs(values).mean(axis=0).astype(float).tolist(), strict=True)
    )
    return out


# ----------------------------------------------------------------------------- side (b)


def run_causalinterp(
    frame, edges, features, model, simulations, nuisance, seed, n_jobs, graph_test
) -> dict:
    """causalinterp doing the same work (plus bootstrap, dummy outcome, sensitivity)."""
    from causalinterp import analyze
    from causalinterp.refute import DEPTHS

    depth = next((name for name, sims in DEPTHS.items() if sims == simulations), None)
    if depth is None:
        raise SystemExit(f"--simulations must be one of {sorted(set(DEPTHS.values()) - {0})}")
    report = analyze(
        frame,
        edges,
        OUTCOME,
        model=model,
        features=features,
        seed=seed,
        n_jobs=n_jobs,
        refute=depth,
        test_graph=graph_test,
        nuisance=learners(nuisance, seed),
        progress=False,
    )
    # The analyst's run ends with the report on disk (JSON, Markdown, HTML), as the command
    # line writes it: timed too.
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        written = report.write(out)
        report_bytes = sum(Path(p).stat().st_size for p in written.values())
    write_seconds = time.perf_counter() - started
    data = json.loads(report.to_json())
    out: dict = {
        "estimates": {},
        "refutations": {},
        "failures": [],
        "mean_abs_shap": {},
        "mean_abs_shap_se": {},
    }
    for row in data["features"]:
        effect = row["effect"] or {}
        out["estimates"][row["name"]] = {
            "estimate": effect.get("estimate"),
            "ci_low": effect.get("ci_low"),
            "ci_high": effect.get("ci_high"),
        }
        out["refutations"][row["name"]] = {
            r["name"]: r["distribution"]["mean"] for r in row["refutations"]
        }
        out["mean_abs_shap"][row["name"]] = row["attribution"]["mean_abs_shap"]
        # The report's own sampling error (finite-population corrected).
        out["mean_abs_shap_se"][row["name"]] = row["attribution"]["mean_abs_shap_se"]
        if row["error"]:
            out["failures"].append(f"{row['name']}: {row['error']}")
    out["stage_seconds"] = {**data["run"]["seconds"], "report_written": round(write_seconds, 3)}
    out["report_bytes"] = report_bytes
    out["rows_explained"] = data["settings"].get("rows_explained")
    return out


# ----------------------------------------------------------------------------- driver


def run_side(args: argparse.Namespace) -> None:
    """Child process: simulate, fit the model (untimed), run one side (timed), print JSON."""
    frame, edges, truth = simulate(args.rows, args.features, seed=args.seed)
    features = [f"X{j}" for j in range(args.features)]
    model = fitted_model(frame, features, seed=args.seed)
    with PeakMemory() as memory:
        start = time.perf_counter()
        shared = (frame, edges, features, model, args.simulations, args.nuisance, args.seed)
        if args.side == "dowhy":
            result = run_dowhy_loop(*shared, args.loop_n_jobs)
        else:
            result = run_causalinterp(*shared, args.n_jobs, args.graph_test)
        seconds = time.perf_counter() - start
    result.update(
        {"seconds": seconds, "peak_bytes": memory.peak, "truth": truth, "rows": args.rows}
    )
    print("RESULT " + json.dumps(result))


def spawn(side: str, rows: int, args: argparse.Namespace, nuisance: str) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        side,
        "--rows",
        str(rows),
        "--features",
        str(args.features),
        "--simulations",
        str(args.simulations),
        "--nuisance",
        nuisance,
        "--seed",
        str(args.seed),
        "--n-jobs",
        str(args.n_jobs),
        "--loop-n-jobs",
        str(args.loop_n_jobs),
    ]
    if args.graph_test:
        command.append("--graph-test")
    path = os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": path}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{side} side failed at {rows} rows (exit {done.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def shap_error(result: dict) -> str:
    """The sampling error of mean|SHAP|: per feature, and as a share of the total."""
    means, errors = result["mean_abs_shap"], result["mean_abs_shap_se"]
    total = sum(means.values())
    worst = max(means, key=lambda f: errors[f] / max(means[f], 1e-12))
    return (
        f"s.e. of mean|SHAP| at most {max(errors.values()) / total:.2%} of the total "
        f"mean|SHAP|; relative to a feature's own, at most "
        f"{errors[worst] / max(means[worst], 1e-12):.1%} ({worst}, whose mean|SHAP| is "
        f"{means[worst] / total:.2%} of the total)"
    )


def agreement(a: dict, b: dict) -> tuple[bool, list[str]]:
    """Each side's estimate inside the other's 95% interval, per feature."""
    lines, ok = [], True
    for feature, ea in a["estimates"].items():
        eb = b["estimates"].get(feature) or {}
        if eb.get("estimate") is None:
            lines.append(f"  {feature}: causalinterp has no estimate")
            ok = False
            continue
        inside = (
            ea["ci_low"] <= eb["estimate"] <= ea["ci_high"]
            and eb["ci_low"] <= ea["estimate"] <= eb["ci_high"]
        )
        ok &= inside
        lines.append(
            f"  {feature}: truth {a['truth'][feature]:+.3f}  loop {ea['estimate']:+.4f} "
            f"[{ea['ci_low']:+.3f}, {ea['ci_high']:+.3f}]  causalinterp {eb['estimate']:+.4f} "
            f"[{eb['ci_low']:+.3f}, {eb['ci_high']:+.3f}]  {'agree' if inside else 'DISAGREE'}"
        )
    return ok, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="10000", help="rows, or a comma-separated list")
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--simulations", type=int, default=20, help="per refuter (10/20/100)")
    parser.add_argument(
        "--sides",
        choices=("both", "causalinterp", "dowhy"),
        default="both",
        help="which sides to run (the loop is impractical beyond 100k rows)",
    )
    parser.add_argument(
        "--nuisance",
        default="gb",
        help="causalinterp's nuisance learners, or a comma-separated list run one after the "
        "other against the same loop: gb (scikit-learn GradientBoosting, the loop's learners: "
        "the same statistical work), auto (causalinterp's default, chosen per nuisance: the "
        "everyday run), linear. The loop always uses GradientBoosting, as documented",
    )
    parser.add_argument("--n-jobs", type=int, default=-1, dest="n_jobs")
    parser.add_argument(
        "--loop-n-jobs",
        type=int,
        default=-1,
        dest="loop_n_jobs",
        help="n_jobs of the loop's DoWhy refuters (-1: every core, as causalinterp; "
        "1: DoWhy's default, serial)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--graph-test", action="store_true", help="also test the DAG (extra)")
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    parser.add_argument("--child", choices=("dowhy", "causalinterp"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        args.side = args.child
        args.rows = int(args.rows)
        run_side(args)
        return 0

    nuisances = [n.strip() for n in args.nuisance.split(",") if n.strip()]
    if not nuisances or not set(nuisances) <= {"gb", "auto", "linear"}:
        parser.error("--nuisance: a comma-separated list of gb, auto, linear")
    rows_list = [int(r) for r in str(args.rows).split(",")]
    print(
        f"# {args.features} features, {args.simulations} simulations per refuter, "
        f"nuisance {args.nuisance}, causalinterp n_jobs {args.n_jobs}, "
        f"loop refuters n_jobs {args.loop_n_jobs}, "
        f"{os.cpu_count()} cores"
    )
    everything = []
    status = 0
    for rows in rows_list:
        results = {}
        sides = [("dowhy", "gb")] if args.sides in ("both", "dowhy") else []
        if args.sides in ("both", "causalinterp"):
            sides += [("causalinterp", n) for n in nuisances]
        for side, nuisance in sides:
            label = side if side == "dowhy" else f"causalinterp/{nuisance}"
            results[label] = spawn(side, rows, args, nuisance)
            r = results[label]
            print(
                f"{rows:>9} rows  {label:<18} {r['seconds']:9.1f} s   "
                f"peak memory {r['peak_bytes'] / 2**20:8.0f} MiB"
                + (f"   stages {r['stage_seconds']}" if "stage_seconds" in r else ""),
                flush=True,
            )
            if "mean_abs_shap_se" in r:
                print(f"    SHAP on {r['rows_explained']} of {rows} rows: {shap_error(r)}")
            for failure in r["failures"]:
                print(f"    failure: {failure}")
        a = results.get("dowhy")
        for label, b in results.items():
            if a is None or label == "dowhy":
                continue
            ratio = b["seconds"] / a["seconds"]
            ok, lines = agreement(a, b)
            print(
                f"{rows:>9} rows  ratio {label} / loop = {ratio:.3f} "
                f"({a['seconds'] / b['seconds']:.1f}x faster); estimates agree within "
                f"their 95% intervals: {'yes' if ok else 'NO'}"
            )
            print("\n".join(lines))
            shap_gap = max(
                abs(b["mean_abs_shap"][f] - a["mean_abs_shap"][f]) / a["mean_abs_shap"][f]
                for f in a["mean_abs_shap"]
            )
            print(
                f"  mean|SHAP|: causalinterp explains {b['rows_explained']} sampled rows "
                f"(interventional), the loop all {rows} (path-dependent); largest relative "
                f"difference {shap_gap:.1%}"
            )
            status |= 0 if ok else 1
        everything.append({"rows": rows, **results})
    first = f"causalinterp/{nuisances[0]}"
    if len(rows_list) > 1 and all(first in e for e in everything):
        base = everything[0][first]["seconds"]
        for e in everything[1:]:
            print(
                f"{first} wall time at {e['rows']} rows / at {everything[0]['rows']} rows "
                f"= {e[first]['seconds'] / base:.2f} "
                f"(rows x{e['rows'] / everything[0]['rows']:.0f})"
            )
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
