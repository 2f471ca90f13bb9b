"""Fast exact SHAP per model family: 2,000 rows x 8 features, goal <= 10 s each on 2 cores.

Each family is fitted on the same simulated data (6 numeric features, 2 three-level
categorical ones; a binary outcome), then explained on 2,000 rows with a 200-row background
(the defaults of the attribution stage) by the fast explainer for its family:

* LightGBM / XGBoost with native categorical splits: the libraries' own TreeSHAP
  (``causalinterp.attribute._native``);
* CatBoost with text categorical features: its own TreeSHAP (``ShapValues``);
* LightGBM on numeric codes: native TreeSHAP too;
* scikit-learn GradientBoosting / RandomForest / HistGradientBoosting: interventional
  TreeSHAP (``causalinterp.attribute._shap``): the leaf tables of
  ``causalinterp.attribute._interventional_trees`` for the random forest (probability
  trees), SHAP's pairwise algorithm for the boosted classifiers (log-odds trees);
  ``--pairwise`` also times SHAP's pairwise algorithm on the forest and reports the largest
  difference between the two; ``--path-dependent`` also times SHAP's path-dependent
  TreeSHAP on them;
* scikit-learn Pipelines (ColumnTransformer with OneHotEncoder and StandardScaler before
  HistGradientBoosting, or before Ridge): ``causalinterp.attribute._pipelines``;
* a linear regressor: the closed form.

Every result is checked for additivity (base value plus the row's values equals the
model's prediction). ``--stage`` also times each model through the attribution stage as
``analyze()`` runs it (``attribute_model``: column-type checks, the explainer dispatch, a
seeded sample of ``--rows`` of the rows) and records which explainer it chose.
``--compare-agnostic`` also times the model-agnostic exact explainer
on 20 rows of the categorical LightGBM model and extrapolates to 2,000 rows: the slow path
that ran before the native one existed.

    python benchmarks/shap_families.py
    python benchmarks/shap_families.py --rows 2000 --stage --pairwise --path-dependent \
        --compare-agnostic --json benchmarks/results/shap_families.json

Wall time depends on what else runs: the load average is printed, and the CPU time of
each explanation (all threads) is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import pandas as pd

from causalinterp.attribute import _native, _pipelines, _shap

LEVELS = ["low", "mid", "high"]


def simulate(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Six numeric features x0..x5, two categorical c0, c1; binary and continuous outcomes."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{j}": rng.normal(size=n) for j in range(6)})
    for j in range(2):
        X[f"c{j}"] = pd.Categorical(rng.choice(LEVELS, n), categories=LEVELS)
    effect = {"low": -1.0, "mid": 0.0, "high": 1.5}
    signal = (
        X["x0"]
        - 0.5 * X["x1"]
        + 0.8 * X["x2"] * X["x3"]
        + X["c0"].map(effect).astype(float)
        - 0.5 * X["c1"].map(effect).astype(float)
    )
    binary = pd.Series((rng.logistic(size=n) < signal).astype(int))
    return X, binary, signal + rng.normal(scale=0.5, size=n)


def families(X: pd.DataFrame, y: pd.Series, y_cont: pd.Series):
    """(name, fitted model, explainer function, frame the model takes, classifier)."""
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    codes = X.assign(**{c: X[c].cat.codes.astype(float) for c in ("c0", "c1")})
    text = X.assign(**{c: X[c].astype(str) for c in ("c0", "c1")})
    numeric = [f"x{j}" for j in range(6)]

    def pre():
        return make_column_transformer((OneHotEncoder(), ["c0", "c1"]), (StandardScaler(), numeric))

    def tree(model, frame, bg, classifier):
        values, base, _ = _shap._tree_shap(
            model, classifier, frame.to_numpy(float), bg.to_numpy(float)
        )
        return values, base

    def native(model, frame, bg, classifier):
        return _native.native_shap(model, frame, classifier=classifier)

    def pipeline(model, frame, bg, classifier):
        return _shap.pipeline_shap(model, frame, bg, classifier=classifier)

    def linear(model, frame, bg, classifier):
        return _pipelines.linear_shap(model, frame.to_numpy(float), bg.to_numpy(float))

    yield (
        "LightGBM, categorical splits (native)",
        lgb.LGBMClassifier(n_estimators=200, verbose=-1).fit(X, y),
        native,
        X,
        True,
    )
    yield (
        "XGBoost, categorical splits (native)",
        xgb.XGBClassifier(n_estimators=200, enable_categorical=True, max_depth=6).fit(X, y),
        native,
        X,
        True,
    )
    import catboost

    yield (
        "CatBoost, categorical features (native)",
        catboost.CatBoostClassifier(
            iterations=200, depth=6, verbose=0, cat_features=["c0", "c1"], random_seed=0,
            allow_writing_files=False,
        ).fit(text, y),
        native,
        text,
        True,
    )
    yield (
        "LightGBM on numeric codes (native)",
        lgb.LGBMClassifier(n_estimators=200, verbose=-1).fit(codes, y),
        native,
        codes,
        True,
    )
    yield (
        "GradientBoostingClassifier (tree)",
        GradientBoostingClassifier(n_estimators=100, max_depth=3).fit(codes, y),
        tree,
        codes,
        True,
    )
    yield (
        "HistGradientBoostingClassifier (tree)",
        HistGradientBoostingClassifier(max_iter=100).fit(codes, y),
        tree,
        codes,
        True,
    )
    yield (
        "RandomForestClassifier, 100 trees, depth 8 (tree)",
        RandomForestClassifier(n_estimators=100, max_depth=8, n_jobs=1, random_state=0).fit(
            codes, y
        ),
        tree,
        codes,
        True,
    )
    yield (
        "Pipeline: one-hot + scaler + HistGradientBoosting",
        make_pipeline(pre(), HistGradientBoostingClassifier(max_iter=100)).fit(text, y),
        pipeline,
        text,
        True,
    )
    yield (
        "Pipeline: one-hot + scaler + Ridge (closed form)",
        make_pipeline(pre(), Ridge()).fit(text, y_cont),
        pipeline,
        text,
        False,
    )
    yield ("Ridge (closed form)", Ridge().fit(codes, y_cont), linear, codes, False)


def prediction(model, frame: pd.DataFrame, classifier: bool) -> np.ndarray:
    if classifier:
        return np.asarray(model.predict_proba(frame))[:, 1]
    return np.asarray(model.predict(frame), dtype=float)


def through_stage(
    model, frame: pd.DataFrame, outcome: pd.Series, rows: int
) -> tuple[str, float, float]:
    """Explain ``model`` as analyze() does: (explainer chosen, wall s, CPU s)."""
    from causalinterp.attribute import attribute_model
    from causalinterp.data import check_data
    from causalinterp.graph import CausalGraph

    data = frame.assign(y=outcome.to_numpy())
    graph = CausalGraph.parse("; ".join(f"{c} -> y" for c in frame.columns))
    checked = check_data(data, graph, "y", features=list(frame.columns))
    start, cpu = time.perf_counter(), time.process_time()
    att = attribute_model(model, data, checked, model_seed=0, seed=0, max_shap_rows=rows)
    return att.explainer, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows explained (default 2000)")
    parser.add_argument("--background", type=int, default=200, help="background rows")
    parser.add_argument("--compare-agnostic", action="store_true", help="time the slow path")
    parser.add_argument(
        "--path-dependent",
        action="store_true",
        help="also time SHAP's path-dependent TreeSHAP on the scikit-learn tree models",
    )
    parser.add_argument(
        "--pairwise",
        action="store_true",
        help="also time SHAP's pairwise interventional algorithm where the leaf tables ran",
    )
    parser.add_argument(
        "--stage", action="store_true", help="also time each model through attribute_model"
    )
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    X, y, y_cont = simulate(args.rows + 2000)
    rows = slice(0, args.rows)
    background = slice(args.rows, args.rows + args.background)
    results = []
    print(
        f"{args.rows} rows x {X.shape[1]} features, {args.background} background rows, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    fitted = list(families(X, y, y_cont))
    # Imported before timing: the first tree explanation would otherwise pay for it.
    import shap

    for name, model, explain, frame, classifier in fitted:
        start, cpu = time.perf_counter(), time.process_time()
        values, base = explain(model, frame.iloc[rows], frame.iloc[background], classifier)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        error = float(
            np.max(np.abs(base + values.sum(1) - prediction(model, frame.iloc[rows], classifier)))
        )
        results.append(
            {"family": name, "seconds": seconds, "cpu_seconds": cpu, "additivity_error": error}
        )
        print(f"{name:55s} {seconds:6.2f} s (cpu {cpu:6.2f} s)   additivity error {error:.1e}")
        if args.stage:
            outcome = y if classifier else y_cont
            chosen, seconds, cpu = through_stage(model, frame, outcome, args.rows)
            results[-1].update(stage_explainer=chosen, stage_seconds=seconds, stage_cpu=cpu)
            label = "  through attribute_model: " + chosen
            print(f"{label:55s} {seconds:6.2f} s (cpu {cpu:6.2f} s)")

    if args.pairwise:
        # Both algorithms on SHAP's 100-row subsample of the background, so that they
        # compute the same values and the difference measures only their rounding.
        forests = [f for f in fitted if "RandomForest" in f[0]]
        for name, model, _, frame, classifier in forests:
            xm = frame.iloc[rows].to_numpy(float)
            bm = shap.utils.sample(frame.iloc[background].to_numpy(float), 100)
            timings = {}
            for leaf_tables in (True, False):
                start, cpu = time.perf_counter(), time.process_time()
                values, _, used = _shap._tree_shap(
                    model, classifier, xm, bm, use_leaf_tables=leaf_tables
                )
                timings[leaf_tables] = (time.perf_counter() - start, time.process_time() - cpu)
                if leaf_tables:
                    leaf_values = values
            gap = float(np.max(np.abs(leaf_values - values)))
            for leaf_tables, label in ((True, "leaf tables"), (False, "SHAP pairwise")):
                seconds, cpu = timings[leaf_tables]
                family = name.replace("(tree)", f"({label}, {used} background rows)")
                results.append({"family": family, "seconds": seconds, "cpu_seconds": cpu})
                print(f"{family:55s} {seconds:6.2f} s (cpu {cpu:6.2f} s)")
            ratio = timings[False][0] / timings[True][0]
            results[-1].update(largest_difference=gap, pairwise_over_leaf_tables=ratio)
            print(f"{'  pairwise / leaf tables, largest difference':55s} {ratio:6.1f}x   {gap:.1e}")

    if args.path_dependent:
        sklearn_trees = [f for f in fitted if f[2].__name__ == "tree"]
        for name, model, _, frame, _ in sklearn_trees:
            start, cpu = time.perf_counter(), time.process_time()
            explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
            explainer.shap_values(frame.iloc[rows].to_numpy(float), check_additivity=False)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            label = name.replace("(tree)", "(path-dependent)")
            results.append({"family": label, "seconds": seconds, "cpu_seconds": cpu})
            print(f"{label:55s} {seconds:6.2f} s (cpu {cpu:6.2f} s)")

    if args.compare_agnostic:
        import lightgbm as lgb

        model = lgb.LGBMClassifier(n_estimators=200, verbose=-1).fit(X, y)
        levels = {c: X[c].cat.categories for c in ("c0", "c1")}
        codes = X.assign(**{c: X[c].cat.codes.astype(float) for c in levels})

        def predict(a: np.ndarray) -> np.ndarray:
            frame = pd.DataFrame(a, columns=list(X.columns))
            for c, cats in levels.items():
                frame[c] = pd.Categorical.from_codes(frame[c].astype(int), categories=cats)
            return model.predict_proba(frame)[:, 1]

        n = 20
        start = time.perf_counter()
        _shap.exact_shap(predict, codes.iloc[:n].to_numpy(), codes.iloc[background].to_numpy())
        seconds = (time.perf_counter() - start) * args.rows / n
        results.append(
            {
                "family": "LightGBM categorical, model-agnostic exact (extrapolated)",
                "seconds": seconds,
                "additivity_error": None,
            }
        )
        print(f"{'LightGBM categorical, model-agnostic exact (extrapolated)':55s} {seconds:6.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
