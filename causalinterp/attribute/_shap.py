"""SHAP adapter: the only module that imports :mod:`shap`.

Every explanation is *interventional* (features outside a coalition are replaced by rows
of a background sample, independently of the coalition's values) and on the *outcome
scale* — the probability of the positive class for binary classifiers, the prediction
for regressors — so that SHAP values can be set beside causal effects on that scale.

Explainers, fastest exact one first:

``"tree"``
    Interventional TreeSHAP for scikit-learn tree ensembles (GradientBoosting,
    RandomForest, ExtraTrees, DecisionTree, HistGradientBoosting), also as the last step
    of a Pipeline whose earlier steps are ``"passthrough"``. Trees whose outputs add up on
    the outcome scale (regressors, probability trees) are explained by per-leaf background
    tables (:mod:`causalinterp.attribute._interventional_trees`: whole background, cost
    rows x leaves x depth); log-odds trees on the probability scale by
    ``shap.TreeExplainer``'s pairwise algorithm (cost rows x 100 background rows x nodes).
``"linear"``
    ``shap.LinearExplainer`` for linear regressors (LinearRegression, Ridge, Lasso, ...).
``"exact"``
    Model-agnostic exact interventional Shapley values on ``predict`` / ``predict_proba``,
    for every other model (including LogisticRegression, whose probability scale is not
    linear, and Pipelines) with at most ``MAX_EXACT_FEATURES`` features. Costs
    ``2**p x background rows`` predictions per explained row.
``"native"``
    LightGBM's / XGBoost's own (path-dependent) TreeSHAP, categorical splits included, for
    every LightGBM and XGBoost model (see :mod:`causalinterp.attribute._native`).
``"pipeline-tree"``, ``"pipeline-linear"``, ``"pipeline-native"``
    A Pipeline's final estimator explained on the transformed columns, summed back to the
    original columns (see :mod:`causalinterp.attribute._pipelines`).
``"permutation"``
    Model-agnostic antithetic permutation sampling for more features: ``N_PERMUTATIONS``
    orderings per row, ``N_PERMUTATIONS x (p - 1) x background rows`` predictions per row.
    Additive by construction; exact for models with at most pairwise interactions.

The two model-agnostic explainers are our own (in :mod:`causalinterp.attribute._budget`,
beside their cost plan and time budget), vectorised over rows, because
``shap.PermutationExplainer`` seeds numpy's global random generator (``np.random.seed``)
and ``shap.explainers.Exact`` evaluates the model row by row (about 20 times slower).
Whatever the explainer, ``base_value + values.sum(1)`` is checked against the model's own
predictions; a tree explanation that fails the check is redone model-agnostically.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import effective_n_jobs, parallel_config

from causalinterp._progress import resolve_progress, run_parallel
from causalinterp.attribute import _budget, _interventional_trees, _native, _pipelines
from causalinterp.attribute._checks import (
    _ModelSpec,
    _numeric_matrix,
    _predict_checked,
    _user_model,
    check_model,
    is_classifier,
    model_name,
)
from causalinterp.errors import DataError, ModelError

__all__ = [
    "MAX_EXACT_FEATURES",
    "N_PERMUTATIONS",
    "ShapExplanation",
    "check_model",
    "exact_shap",
    "explain",
    "is_classifier",
    "model_name",
    "permutation_shap",
]

MAX_EXACT_FEATURES = 8
"""Largest number of features explained exactly by the model-agnostic explainer."""

PAIRWISE_BACKGROUND_ROWS = 100
"""Background rows of SHAP's pairwise interventional tree algorithm (SHAP's own default
subsample, made explicit): its cost grows with them. The leaf-table algorithm of
:mod:`causalinterp.attribute._interventional_trees` uses the whole background."""

PAIRWISE_SECONDS_PER_UNIT = 7.6e-9
"""Seconds of SHAP's pairwise algorithm per row x background row x tree node on one core
(measured: 2,000 rows, 100 background rows, 100 trees of 61 nodes, 9.3 s). Above
:data:`PARALLEL_SECONDS` of it, the rows are explained in chunks on the parallel workers."""

PARALLEL_SECONDS = 2.0
"""Expected seconds of the pairwise algorithm above which its rows are split over the
workers (below, starting the workers would cost more than it saves)."""

N_PERMUTATIONS = _budget.N_PERMUTATIONS
"""Orderings per row (5 antithetic pairs) of the model-agnostic permutation explainer."""

# The model-agnostic explainers live beside their cost plan and time budget.
exact_shap = _budget.exact_shap
permutation_shap = _budget.permutation_shap

_TREE_CLASSES = {
    "sklearn": {
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "ExtraTreeClassifier",
        "ExtraTreeRegressor",
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
    },
    "xgboost": {"XGBClassifier", "XGBRegressor"},
    "lightgbm": {"LGBMClassifier", "LGBMRegressor"},
}

# Regressors whose prediction is exactly X @ coef_ + intercept_ (GLMs with a log link, such
# as PoissonRegressor, are not in this list).
_LINEAR_CLASSES = {
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
    "Lars",
    "LarsCV",
    "LassoLars",
    "LassoLarsCV",
    "LassoLarsIC",
    "OrthogonalMatchingPursuit",
    "OrthogonalMatchingPursuitCV",
    "BayesianRidge",
    "ARDRegression",
    "HuberRegressor",
    "QuantileRegressor",
    "SGDRegressor",
    "TheilSenRegressor",
}


@dataclass(frozen=True)
class ShapExplanation:
    """SHAP values of the explained rows on the outcome scale.

    Attributes
    ----------
    values : numpy.ndarray
        Shape ``(n_rows, n_features)``, columns in the order of the ``X`` passed to
        :func:`explain`. ``base_value + values.sum(axis=1)`` equals the model's prediction.
    base_value : float
        Mean prediction over the background sample.
    explainer : str
        ``"native"``, ``"tree"``, ``"linear"``, ``"pipeline-native"``, ``"pipeline-tree"``,
        ``"pipeline-linear"``, ``"exact"`` or ``"permutation"``.
    scale : str
        ``"probability"`` (probability of the positive class) or ``"outcome"``.
    note : str
        What a fast explainer computed beyond plain interventional SHAP values (native
        TreeSHAP is path-dependent), or why no fast explainer applied and what the
        model-agnostic one cost; else ``""``.
    rows : numpy.ndarray or None
        Positions in ``X`` of the rows explained, when ``max_seconds`` left time for only
        some of them (``values`` has one row per position); None when all were explained.
    background_rows : int
        Background rows the values average over: all of ``background``, except SHAP's
        pairwise tree algorithm (:data:`PAIRWISE_BACKGROUND_ROWS`) and native TreeSHAP,
        which uses none (0).
    """

    values: np.ndarray
    base_value: float
    explainer: str
    scale: str
    note: str = field(default="")
    rows: np.ndarray | None = field(default=None)
    background_rows: int = field(default=0)


def explain(
    model: Any,
    X: pd.DataFrame,
    *,
    background: pd.DataFrame,
    seed: int | np.random.SeedSequence,
    max_seconds: float | None = None,
    progress: bool | None = None,
    n_jobs: int | None = None,
    backend: str | None = None,
) -> ShapExplanation:
    """Interventional SHAP values of ``model`` on the rows of ``X``, on the outcome scale.

    Parameters
    ----------
    model : estimator
        A fitted binary classifier with ``predict_proba`` (explained on the probability of
        ``classes_[1]``) or a single-output regressor (explained on its prediction), or a
        Pipeline ending in one.
    X : pandas.DataFrame
        Rows to explain; numeric columns, exactly the model's features (any order).
    background : pandas.DataFrame
        Background sample with the same columns: absent features are drawn from it.
    seed : int or numpy.random.SeedSequence
        Seed of the permutation explainer and of the row subsample under ``max_seconds``
        (the others are deterministic).
    max_seconds : float, optional
        Time budget of a model-agnostic explanation: when it would take longer, a seeded
        random subset of the rows that fits is explained (``rows`` says which). Fast
        explainers ignore it.
    progress : bool, optional
        For a model-agnostic explanation: True announces it on standard error (explainer,
        reason, expected cost, rows the budget leaves) and shows a progress bar; None
        announces it and shows the bar only on a terminal; False is silent (the
        announcement is still in ``note``).
    n_jobs, backend : optional
        joblib's, for SHAP's pairwise tree algorithm when it is slow enough to split over
        row chunks (the same values, row for row); None keeps the active
        ``joblib.parallel_config``.

    Returns
    -------
    ShapExplanation
        Values in ``X``'s column order, base value, explainer name and scale.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    >>> model = LinearRegression().fit(X, 2 * X.a - X.b)
    >>> result = explain(model, X, background=X, seed=0)
    >>> result.explainer, bool(np.allclose(result.values[:, 0], 2 * (X.a - X.a.mean())))
    ('linear', True)

    Raises
    ------
    ModelError
        The model cannot be explained (see :func:`check_model`).
    DataError
        ``X`` or ``background`` is not a numeric DataFrame without missing values.
    """
    for what, frame in (("X", X), ("background", background)):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"{what}: expected a pandas DataFrame, got {type(frame).__name__}; "
                "pass the feature columns as a DataFrame"
            )
        if len(frame) == 0 or frame.shape[1] == 0:
            raise DataError(f"{what}: has no rows or no columns; pass the feature columns")
    x_cols = [str(c) for c in X.columns]
    if len(set(x_cols)) != len(x_cols):
        raise DataError("X: duplicate column names; give each feature column a unique name")
    if sorted(str(c) for c in background.columns) != sorted(x_cols):
        raise DataError("background: columns differ from X's; draw the background from X")

    spec = check_model(model, x_cols)
    order = list(spec.columns)
    # Columns in the model's order (X's names): the explainers work on plain matrices.
    xm = _numeric_matrix(X.set_axis(x_cols, axis=1)[order], "X")
    bm = _numeric_matrix(
        background.set_axis([str(c) for c in background.columns], axis=1)[order], "background"
    )
    # A few rows first, so that a model that cannot predict on X fails fast.
    _predict_checked(spec, xm[: min(len(xm), 5)])
    pred = _predict_checked(spec, xm)
    scale = "probability" if spec.classifier else "outcome"

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        # SHAP and the model libraries warn about background size, feature names and
        # versions; none of it is actionable for the user, and the tree C code writes a
        # progress bar to stderr on long runs.
        warnings.simplefilter("ignore")
        fast, note = _dispatch(model, spec, xm, bm, pred, seed, n_jobs=n_jobs, backend=backend)
    rows = None
    background_rows = len(bm)
    if fast is not None:
        values, base, explainer, background_rows = fast
    else:
        # No fast explainer: say which one runs, why and what it costs, before starting
        # (outside the stderr redirect), and keep to the time budget.
        row_seed, explain_seed = _children(seed, 2)
        plan = _budget.plan_model_agnostic(
            spec.predict,
            bm,
            rows_requested=len(xm),
            reason=note or f"no fast explainer for {type(_user_model(model)[0]).__name__}",
            max_seconds=max_seconds,
            max_exact_features=MAX_EXACT_FEATURES,
            n_permutations=N_PERMUTATIONS,
        )
        if progress is not False:
            print(plan.message(spec.name), file=sys.stderr, flush=True)
        note = plan.message(spec.name).removeprefix("SHAP: ")
        if plan.rows < len(xm):
            rng = np.random.default_rng(row_seed)
            rows = np.sort(rng.choice(len(xm), size=plan.rows, replace=False))
            xm, pred = xm[rows], pred[rows]

        def explain_rows(chunk: np.ndarray, child: np.random.SeedSequence):
            if plan.explainer == "exact":
                return exact_shap(spec.predict, chunk, bm)
            return permutation_shap(spec.predict, chunk, bm, seed=child)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values, base = _budget.explain_in_chunks(
                explain_rows, xm, seed=explain_seed, progress=resolve_progress(progress),
                desc="SHAP",
            )
        explainer = plan.explainer

    err = float(np.max(np.abs(base + values.sum(axis=1) - pred)))
    if not err <= _additivity_tolerance(pred):
        raise ModelError(
            f"model {spec.name}: SHAP values do not add up to its predictions (largest error "
            f"{err:.3g}); the model's predictions must be deterministic functions of X"
        )
    # Back to X's column order.
    position = {c: i for i, c in enumerate(order)}
    values = values[:, [position[c] for c in x_cols]]
    return ShapExplanation(
        values=np.ascontiguousarray(values, dtype=np.float64),
        base_value=float(base),
        explainer=explainer,
        scale=scale,
        note=note,
        rows=rows,
        background_rows=background_rows,
    )


def _children(seed: int | np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    # Children by spawn key, not .spawn(): spawning counts calls on the object, and a
    # spawned seed's entropy alone is its parent's.
    if isinstance(seed, np.random.SeedSequence):
        entropy, key = seed.entropy, tuple(seed.spawn_key)
    else:
        entropy, key = int(seed), ()
    return [np.random.SeedSequence(entropy, spawn_key=(*key, i)) for i in range(n)]


def _additivity_tolerance(pred: np.ndarray) -> float:
    # Tree libraries keep leaf values in float32: allow that rounding, relative to the scale.
    return 1e-5 * max(1.0, float(np.max(np.abs(pred))))


def _dispatch(
    model: Any,
    spec: _ModelSpec,
    xm: np.ndarray,
    bm: np.ndarray,
    pred: np.ndarray,
    seed: Any,
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
) -> tuple[tuple[np.ndarray, float, str, int] | None, str]:
    """The fastest exact explainer that applies: ``((values, base, explainer, background
    rows used), note)``, or ``(None, why none applied)`` for the caller's model-agnostic
    explainer. ``n_jobs`` and ``backend`` go to the tree explainer."""
    user, as_frame = _user_model(model, spec)
    estimator = _final_estimator_on_raw_input(user)
    tolerance = _additivity_tolerance(pred)

    def adds_up(values: np.ndarray, base: float) -> bool:
        return bool(np.max(np.abs(base + values.sum(axis=1) - pred)) <= tolerance)

    notes = []
    if estimator is not None and _native.library(estimator) is not None:
        # LightGBM/XGBoost compute exact TreeSHAP themselves, in seconds for 2,000 rows,
        # categorical splits included; the interventional tree explainer below costs rows
        # x background rows x leaves and cannot follow categorical splits.
        try:
            values, base = _native.native_shap(estimator, as_frame(xm), classifier=spec.classifier)
        except NotImplementedError as exc:
            notes.append(f"native TreeSHAP unavailable ({exc})")
        else:
            if adds_up(values, base):
                return (values, base, "native", 0), _native.NOTE
            notes.append("native TreeSHAP did not match the model's predictions")
    raw = user is model  # xm holds the model's own inputs (no level codes to decode)
    if raw and estimator is not None and _is_tree_model(estimator):
        try:
            values, base, used = _tree_shap(
                estimator, spec.classifier, xm, bm, n_jobs=n_jobs, backend=backend
            )
        except Exception as exc:  # unsupported structure inside SHAP: try the next paths
            notes.append(f"tree explainer unavailable ({type(exc).__name__}: {exc})")
        else:
            if adds_up(values, base):
                note = "; ".join(filter(None, [*notes, _subsample_note(used, bm)]))
                return (values, base, "tree", used), note
            notes.append("tree explainer did not match the model's predictions")
    elif (
        raw and estimator is not None and _is_linear_model(estimator, spec.classifier, xm.shape[1])
    ):
        values, base = _pipelines.linear_shap(estimator, xm, bm)
        if adds_up(values, base):
            return (values, base, "linear", len(bm)), ""
        notes.append("linear explainer did not match the model's predictions")
    if _pipelines.is_transforming_pipeline(user):
        try:
            parts = explain_pipeline_parts(
                user, as_frame(xm), as_frame(bm), classifier=spec.classifier
            )
        except NotImplementedError as exc:
            notes.append(f"no fast path for this Pipeline ({exc})")
        else:
            if adds_up(parts.values, parts.base_value):
                note = "explained on the transformed columns, summed back to each column"
                if parts.explainer == "native":
                    note += "; " + _native.NOTE
                note = "; ".join(filter(None, [note, _subsample_note(parts.background_rows, bm)]))
                explainer = "pipeline-" + parts.explainer
                return (parts.values, parts.base_value, explainer, parts.background_rows), note
            notes.append("the Pipeline's fast path did not match its predictions")
    return None, "; ".join(notes)


def _subsample_note(used: int, bm: np.ndarray) -> str:
    if 0 < used < len(bm):
        return (
            f"SHAP's pairwise tree algorithm averaged over {used} of the {len(bm)} background "
            "rows (its cost grows with them)"
        )
    return ""


def _final_estimator_on_raw_input(model: Any) -> Any:
    """The estimator that sees X unchanged: the model, or a Pipeline's last step if every
    earlier step is a passthrough; ``None`` if a Pipeline transforms X first."""
    steps = getattr(model, "steps", None)
    if not isinstance(steps, list):
        return model
    for _, step in steps[:-1]:
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        if type(step).__name__ == "FunctionTransformer" and getattr(step, "func", 0) is None:
            continue
        return None
    last = steps[-1][1]
    return None if last is None or isinstance(last, str) else last


def _is_tree_model(estimator: Any) -> bool:
    package = type(estimator).__module__.split(".")[0]
    return type(estimator).__name__ in _TREE_CLASSES.get(package, set())


def _is_linear_model(estimator: Any, classifier: bool, n_features: int) -> bool:
    if classifier or type(estimator).__module__.split(".")[0] != "sklearn":
        return False
    coef = getattr(estimator, "coef_", None)
    return (
        type(estimator).__name__ in _LINEAR_CLASSES
        and coef is not None
        and np.ndim(coef) == 1
        and np.shape(coef)[0] == n_features
    )


def _tree_shap(
    estimator: Any,
    classifier: bool,
    xm: np.ndarray,
    bm: np.ndarray,
    *,
    use_leaf_tables: bool = True,
    n_jobs: int | None = None,
    backend: str | None = None,
) -> tuple[np.ndarray, float, int]:
    """Interventional TreeSHAP on the outcome scale: values, base value and the number of
    background rows averaged over.

    Trees whose outputs add up on the outcome scale (regressors, probability trees) go to
    the leaf-table algorithm of :mod:`causalinterp.attribute._interventional_trees`, which
    uses the whole background at a cost independent of its size; log-odds trees explained
    on the probability scale go to SHAP's pairwise algorithm on
    :data:`PAIRWISE_BACKGROUND_ROWS` background rows (``use_leaf_tables=False`` forces it).

    SHAP's interventional C code compares inputs with thresholds rounded to float32 while
    the models compare in float64 (HistGradientBoosting and LightGBM put thresholds exactly
    on data values), so rows on a threshold go the wrong way and additivity breaks. We
    therefore rebuild the ensemble with each threshold replaced by its rank among the
    feature's thresholds and each input by the number of thresholds below it: integers,
    exact in float32, with the same routing as the model.

    The pairwise algorithm costs rows x background rows x nodes; when that is more than
    :data:`PARALLEL_SECONDS`, its rows are split over the workers (``n_jobs``, ``backend``).
    """
    import shap

    parsed = shap.TreeExplainer(estimator).model
    trees = list(parsed.trees)
    if parsed.tree_limit is not None and 0 < parsed.tree_limit < len(trees):
        trees = trees[: parsed.tree_limit]
    n_outputs = trees[0].values.shape[1]
    if classifier and parsed.tree_output == "log_odds" and n_outputs == 1:
        column, model_output, tree_output = 0, "probability", "log_odds"
    elif classifier and parsed.tree_output == "probability" and n_outputs == 2:
        column, model_output, tree_output = 1, "raw", "raw_value"
    elif not classifier and n_outputs == 1:
        column, model_output, tree_output = 0, "raw", "raw_value"
    else:
        raise NotImplementedError(f"tree output {parsed.tree_output!r} x {n_outputs}")

    p = xm.shape[1]
    internal = [t.children_left >= 0 for t in trees]
    if any(np.any(t.threshold_types[m] != 0) for t, m in zip(trees, internal, strict=True)):
        raise NotImplementedError("categorical splits")
    cuts = []
    for j in range(p):
        used = [t.thresholds[m & (t.features == j)] for t, m in zip(trees, internal, strict=True)]
        cuts.append(np.unique(np.concatenate(used)).astype(np.float64))

    def code(a: np.ndarray) -> np.ndarray:
        # Cast as SHAP would (float32 for scikit-learn trees and XGBoost), then rank:
        # x <= cuts[i]  <=>  (number of cuts below x) <= i.
        a = a.astype(parsed.input_dtype).astype(np.float64)
        out = np.empty_like(a)
        for j in range(p):
            out[:, j] = np.searchsorted(cuts[j], a[:, j], side="left")
        out[np.isnan(a)] = np.nan
        return out

    dict_trees = []
    for t, m in zip(trees, internal, strict=True):
        thresholds = np.zeros(len(t.thresholds), dtype=np.float64)
        feats = t.features[m]
        for j in np.unique(feats):
            sel = np.flatnonzero(m)[feats == j]
            thresholds[sel] = np.searchsorted(cuts[j], t.thresholds[sel])
        dict_trees.append(
            {
                "children_left": t.children_left,
                "children_right": t.children_right,
                "children_default": t.children_default,
                "features": t.features,
                "thresholds": thresholds,
                "values": np.ascontiguousarray(t.values[:, column : column + 1], dtype=np.float64),
                "node_sample_weight": np.asarray(t.node_sample_weight, dtype=np.float64),
            }
        )
    base_offset = np.atleast_1d(np.asarray(parsed.base_offset, dtype=np.float64))
    offset = base_offset[column] if base_offset.size > 1 else base_offset[0]
    if use_leaf_tables and model_output == "raw":
        # Trees that add up on the outcome scale: the same values with the whole
        # background and without its factor in the cost.
        try:
            values, base = _interventional_trees.interventional_values(
                dict_trees, code(xm), code(bm)
            )
        except NotImplementedError:
            pass  # paths too deep for the leaf tables: SHAP's pairwise algorithm below
        else:
            return values, float(offset) + base, len(bm)
    background = shap.utils.sample(code(bm), PAIRWISE_BACKGROUND_ROWS)  # SHAP's own subsample
    rebuilt = {
        "trees": dict_trees,
        "base_offset": float(offset),
        "tree_output": tree_output,
        "objective": parsed.objective,
        "input_dtype": np.float64,
        "internal_dtype": np.float64,
    }
    rows = code(xm)
    nodes = sum(len(tree["features"]) for tree in dict_trees)
    seconds = PAIRWISE_SECONDS_PER_UNIT * len(rows) * len(background) * nodes
    chunks = 1
    if seconds > PARALLEL_SECONDS:
        with parallel_config(backend=backend) if backend else contextlib.nullcontext():
            chunks = min(effective_n_jobs(n_jobs), len(rows))
    if chunks <= 1:
        values, base = _pairwise_values((rows, rebuilt, background, model_output))
    else:  # each row's values are its own: the same numbers, from every worker at once
        parts = run_parallel(
            _pairwise_values,
            [(chunk, rebuilt, background, model_output) for chunk in np.array_split(rows, chunks)],
            n_jobs=n_jobs,
            backend=backend,
        )
        values, base = np.concatenate([v for v, _ in parts]), parts[0][1]
    return values.reshape(xm.shape), base, len(background)


def _pairwise_values(task: tuple) -> tuple[np.ndarray, float]:
    """SHAP's pairwise interventional values and base value of ``task = (rows coded as in
    :func:`_tree_shap`, rebuilt trees, background, model output)``."""
    import shap

    rows, rebuilt, background, model_output = task
    # A worker has its own standard error: SHAP's C code writes a progress bar to it.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(
            rebuilt,
            data=background,
            feature_perturbation="interventional",
            model_output=model_output,
        )
        values = explainer.shap_values(rows, check_additivity=False)
    return np.asarray(values, dtype=np.float64), float(np.ravel(explainer.expected_value)[0])


def _linear_shap(estimator: Any, xm: np.ndarray, bm: np.ndarray) -> tuple[np.ndarray, float]:
    import shap

    masker = shap.maskers.Independent(bm, max_samples=len(bm))
    explainer = shap.LinearExplainer(estimator, masker)
    values = np.asarray(explainer.shap_values(xm), dtype=np.float64).reshape(xm.shape)
    return values, float(np.ravel(explainer.expected_value)[0])


# --------------------------------------------------------------- Pipelines' fast path
def pipeline_shap(
    model: Any, X: pd.DataFrame, background: pd.DataFrame, *, classifier: bool
) -> tuple[np.ndarray, float]:
    """SHAP values of a Pipeline's original columns, from its final estimator's.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        Fitted; preprocessing steps, then a tree ensemble (scikit-learn, LightGBM, XGBoost)
        or a linear regressor.
    X, background : pandas.DataFrame
        Rows to explain and background rows, in the user's own column types (text and
        ``category`` columns as the encoders expect them).
    classifier : bool
        Explain the probability of the positive class (else the prediction).

    Returns
    -------
    values : numpy.ndarray
        ``(n_rows, n_columns)`` in ``X``'s column order, on the outcome scale.
    base : float
        ``base + values.sum(axis=1)`` is the pipeline's prediction.

    Raises
    ------
    NotImplementedError
        The pipeline has no fast path (another final estimator, a transformed column that
        mixes original columns): the caller falls back to a model-agnostic explainer.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> X = pd.DataFrame({"c": ["a", "b", "c", "a"] * 25, "x": np.arange(100.0)})
    >>> y = X.x + X.c.map({"a": 0, "b": 1, "c": 5})
    >>> pre = make_column_transformer((OneHotEncoder(), ["c"]), (StandardScaler(), ["x"]))
    >>> model = make_pipeline(pre, Ridge()).fit(X, y)
    >>> values, base = pipeline_shap(model, X, X, classifier=False)
    >>> bool(np.allclose(base + values.sum(axis=1), model.predict(X)))
    True
    """
    parts = explain_pipeline_parts(model, X, background, classifier=classifier)
    return parts.values, parts.base_value


def explain_pipeline_parts(
    model: Any, X: pd.DataFrame, background: pd.DataFrame, *, classifier: bool
) -> _pipelines.PipelineParts:
    """Like :func:`pipeline_shap`, keeping the transformed columns' values and owners.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) % 3})
    >>> model = make_pipeline(StandardScaler(), LinearRegression()).fit(X, X.a - X.b)
    >>> parts = explain_pipeline_parts(model, X, X, classifier=False)
    >>> parts.owner.tolist(), parts.explainer
    ([0, 1], 'linear')
    """
    if not _pipelines.is_transforming_pipeline(model):
        raise NotImplementedError("not a Pipeline with preprocessing steps")
    preprocessor, final = model[:-1], model.steps[-1][1]
    if final is None or isinstance(final, str):
        raise NotImplementedError("Pipeline without a final estimator")
    xt = _pipelines.dense(preprocessor.transform(X))
    bt = _pipelines.dense(preprocessor.transform(background))
    probe = pd.concat([X, background], ignore_index=True)
    owner = _pipelines.output_owners(preprocessor, probe)
    part_values, base, explainer, background_rows = _explain_final(
        final, xt, bt, classifier=classifier
    )
    p = X.shape[1]
    indicator = np.zeros((len(owner), p))
    indicator[np.arange(len(owner)), owner] = 1.0
    try:
        names = tuple(str(n) for n in preprocessor.get_feature_names_out())
    except Exception:  # some transformers cannot name their outputs
        names = tuple(f"x{k}" for k in range(len(owner)))
    if len(names) != len(owner):
        names = tuple(f"x{k}" for k in range(len(owner)))
    return _pipelines.PipelineParts(
        part_values=part_values,
        part_names=names,
        owner=owner,
        values=part_values @ indicator,
        base_value=base,
        explainer=explainer,
        background_rows=background_rows,
    )


def _explain_final(
    final: Any, xt: np.ndarray, bt: np.ndarray, *, classifier: bool
) -> tuple[np.ndarray, float, str, int]:
    if _is_tree_model(final):
        try:
            values, base, used = _tree_shap(final, classifier, xt, bt)
        except Exception:
            if _native.library(final) is None:
                raise NotImplementedError("tree explainer unavailable") from None
        else:
            return values, base, "tree", used
    if _native.library(final) is not None:
        names = getattr(final, "feature_names_in_", None)
        frame = pd.DataFrame(xt, columns=None if names is None else [str(n) for n in names])
        values, base = _native.native_shap(final, frame, classifier=classifier)
        return values, base, "native", 0
    if _is_linear_model(final, classifier, xt.shape[1]):
        values, base = _pipelines.linear_shap(final, xt, bt)
        return values, base, "linear", len(bt)
    raise NotImplementedError(f"no fast explainer for {type(final).__name__}")
