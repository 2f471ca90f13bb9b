"""SHAP adapter: the only module that imports :mod:`shap`.

Every explanation is *interventional* (features outside a coalition are replaced by rows
of a background sample, independently of the coalition's values) and on the *outcome
scale* — the probability of the positive class for binary classifiers, the prediction
for regressors — so that SHAP values can be set beside causal effects on that scale.

Explainers, fastest exact one first:

``"tree"``
    ``shap.TreeExplainer`` (interventional) for scikit-learn tree ensembles
    (GradientBoosting, RandomForest, ExtraTrees, DecisionTree, HistGradientBoosting),
    XGBoost and LightGBM, also as the last step of a Pipeline whose earlier steps are
    ``"passthrough"``. Cost grows with rows x background rows x trees x leaves: fast for
    boosted ensembles, slow (minutes) for deep random forests.
``"linear"``
    ``shap.LinearExplainer`` for linear regressors (LinearRegression, Ridge, Lasso, ...).
``"exact"``
    Model-agnostic exact interventional Shapley values on ``predict`` / ``predict_proba``,
    for every other model (including LogisticRegression, whose probability scale is not
    linear, and Pipelines) with at most ``MAX_EXACT_FEATURES`` features. Costs
    ``2**p x background rows`` predictions per explained row.
``"permutation"``
    Model-agnostic antithetic permutation sampling for more features: ``N_PERMUTATIONS``
    orderings per row, ``N_PERMUTATIONS x (p - 1) x background rows`` predictions per row.
    Additive by construction; exact for models with at most pairwise interactions.

The two model-agnostic explainers are implemented here, vectorised over rows, because
``shap.PermutationExplainer`` seeds numpy's global random generator (``np.random.seed``)
and ``shap.explainers.Exact`` evaluates the model row by row (about 20 times slower).
Whatever the explainer, ``base_value + values.sum(1)`` is checked against the model's own
predictions; a tree explanation that fails the check is redone model-agnostically.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.errors import DataError, ModelError

MAX_EXACT_FEATURES = 8
"""Largest number of features explained exactly by the model-agnostic explainer."""

N_PERMUTATIONS = 10
"""Orderings per row (5 antithetic pairs) of the model-agnostic permutation explainer."""

# Rows handed to the model in one call by the model-agnostic explainers: large enough to
# amortise per-call overhead, small enough to bound memory (rows x features x 8 bytes).
_BATCH_ROWS = 1 << 18

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
        ``"tree"``, ``"linear"``, ``"exact"`` or ``"permutation"``.
    scale : str
        ``"probability"`` (probability of the positive class) or ``"outcome"``.
    note : str
        Why a slower explainer was used than the model type suggests, else ``""``.
    """

    values: np.ndarray
    base_value: float
    explainer: str
    scale: str
    note: str = field(default="")


@dataclass(frozen=True)
class _ModelSpec:
    """What :func:`explain` needs to know about a checked model."""

    name: str
    classifier: bool
    columns: tuple[str, ...]  # X's columns in the order the model expects them
    predict: Callable[[np.ndarray], np.ndarray]  # (m, p) in `columns` order -> (m,)


def model_name(model: Any) -> str:
    """Name of a model for messages: its class, with a Pipeline's steps in brackets."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        inner = ", ".join(_step_name(step) for _, step in steps)
        return f"{type(model).__name__}[{inner}]"
    return type(model).__name__


def _step_name(step: Any) -> str:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return "passthrough"
    return type(step).__name__


def is_classifier(model: Any) -> bool:
    """Whether ``model`` is a classifier (scikit-learn tags, else a ``classes_`` attribute)."""
    from sklearn.base import is_classifier as _sk_is_classifier

    try:
        if _sk_is_classifier(model):
            return True
    except Exception:
        # Objects outside scikit-learn have no tags; fall through to duck typing.
        pass
    return getattr(model, "_estimator_type", None) == "classifier" or hasattr(model, "classes_")


def check_model(model: Any, columns: Sequence[str]) -> _ModelSpec:
    """Check that ``model`` can be explained on data with ``columns``.

    Parameters
    ----------
    model : estimator
        A fitted scikit-learn-style estimator or Pipeline.
    columns : sequence of str
        The columns of the data the model will be explained on.

    Returns
    -------
    _ModelSpec
        Name, kind, the model's column order and a prediction function on the outcome scale.

    Raises
    ------
    ModelError
        No ``predict``, not fitted, fitted on other columns, a classifier without
        ``predict_proba``, a multiclass classifier, or a multi-output regressor.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    name = model_name(model)
    if not callable(getattr(model, "predict", None)):
        raise ModelError(
            f"model {name}: has no predict method; pass a fitted scikit-learn-style estimator"
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ModelError(
            f"model {name}: is not fitted; call model.fit(X, y) on the feature columns first"
        ) from None
    except TypeError:
        # Not a scikit-learn estimator: fitted-ness is checked by the prediction probe.
        pass

    model_columns = _check_columns(model, name, list(columns))
    classifier = is_classifier(model)
    if classifier:
        if not callable(getattr(model, "predict_proba", None)):
            raise ModelError(
                f"model {name}: is a classifier without predict_proba, so it has no probability "
                "scale to compare with causal effects; refit it with probability estimates "
                "(e.g. SVC(probability=True)) or wrap it in "
                "sklearn.calibration.CalibratedClassifierCV"
            )
        classes = getattr(model, "classes_", None)
        if classes is not None and len(classes) != 2:
            shown = ", ".join(repr(c) for c in list(classes)[:5])
            more = ", ..." if len(classes) > 5 else ""
            raise ModelError(
                f"model {name}: has {len(classes)} classes ({shown}{more}); only binary "
                "classifiers are supported (multiclass is not); fit the model on a binary "
                "outcome coded 0/1"
            )
    fitted = _fitted_attribute(model, "feature_names_in_")
    # Predict on a DataFrame named as at fitting time when the model was fitted on one.
    frame_columns = None if fitted is None else tuple(str(c) for c in fitted)
    return _ModelSpec(
        name=name,
        classifier=classifier,
        columns=tuple(model_columns),
        predict=_prediction_function(model, classifier, frame_columns),
    )


def _check_columns(model: Any, name: str, columns: list[str]) -> list[str]:
    """Return ``columns`` in the model's order; raise if the model saw other columns."""
    fitted = _fitted_attribute(model, "feature_names_in_")
    if fitted is not None:
        fitted = [str(c) for c in fitted]
        if sorted(fitted) == sorted(columns):
            return fitted
        if _is_lightgbm(model):
            # LightGBM stores names with whitespace replaced by "_": match on that form.
            mapped = _match_lightgbm_names(fitted, columns)
            if mapped is not None:
                return mapped
        missing = [c for c in fitted if c not in columns]
        extra = [c for c in columns if c not in fitted]
        parts = []
        if missing:
            parts.append("missing from X: " + ", ".join(repr(c) for c in missing))
        if extra:
            parts.append("not seen by the model: " + ", ".join(repr(c) for c in extra))
        if not parts:  # same names, different multiplicity
            parts.append(f"model columns {fitted!r}, X columns {columns!r}")
        raise ModelError(
            f"model {name}: was fitted on other columns ({'; '.join(parts)}); pass X with "
            "exactly the model's feature columns, or refit the model on them"
        )
    n_in = _fitted_attribute(model, "n_features_in_")
    if n_in is not None and int(n_in) != len(columns):
        raise ModelError(
            f"model {name}: was fitted on {int(n_in)} features but X has {len(columns)} "
            f"columns ({', '.join(repr(c) for c in columns)}); pass X with exactly the "
            "model's feature columns in the fitting order, or refit the model on them"
        )
    return list(columns)


def _fitted_attribute(model: Any, attribute: str) -> Any:
    """``feature_names_in_`` / ``n_features_in_`` of what first sees X: the model, or for a
    Pipeline starting with passthrough steps (which hide them) its first real step."""
    try:
        value = getattr(model, attribute, None)
    except Exception:  # a Pipeline delegates to its first step, which may raise
        value = None
    steps = getattr(model, "steps", None)
    if value is None and isinstance(steps, list):
        for _, step in steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            return _fitted_attribute(step, attribute)
    return value


def _is_lightgbm(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "lightgbm"


def _match_lightgbm_names(fitted: list[str], columns: list[str]) -> list[str] | None:
    def clean(s: str) -> str:
        return "".join("_" if ch.isspace() else ch for ch in s)

    by_clean: dict[str, str] = {}
    for c in columns:
        if clean(c) in by_clean:
            return None  # ambiguous after cleaning
        by_clean[clean(c)] = c
    if sorted(by_clean) != sorted(fitted):
        return None
    return [by_clean[f] for f in fitted]


def _prediction_function(
    model: Any, classifier: bool, frame_columns: tuple[str, ...] | None
) -> Callable[[np.ndarray], np.ndarray]:
    """The model's prediction on the outcome scale, as a function of a float matrix whose
    columns are in the model's order."""

    def as_input(a: np.ndarray) -> Any:
        if frame_columns is None:
            return a
        return pd.DataFrame(a, columns=list(frame_columns), copy=False)

    if classifier:

        def predict(a: np.ndarray) -> np.ndarray:
            proba = np.asarray(model.predict_proba(as_input(a)), dtype=np.float64)
            if proba.ndim != 2 or proba.shape[1] != 2:
                raise ModelError(
                    f"model {model_name(model)}: predict_proba returned shape {proba.shape}, "
                    f"not ({len(a)}, 2); only binary classifiers are supported (multiclass is "
                    "not); fit the model on a binary outcome coded 0/1"
                )
            return proba[:, 1]

    else:

        def predict(a: np.ndarray) -> np.ndarray:
            out = np.asarray(model.predict(as_input(a)), dtype=np.float64)
            return out.reshape(len(a)) if out.ndim == 2 and out.shape[1] == 1 else out

    return predict


def _predict_checked(spec: _ModelSpec, sample: np.ndarray) -> np.ndarray:
    """Predict on ``sample``, turning any failure into a one-line :class:`ModelError`."""
    try:
        out = spec.predict(sample)
    except ModelError:
        raise
    except Exception as exc:
        text = str(exc).strip()
        first = text.splitlines()[0][:200] if text else ""
        raise ModelError(
            f"model {spec.name}: prediction on X failed ({type(exc).__name__}: {first}); "
            "check that the model was fitted on X's feature columns and their types"
        ) from None
    if out.ndim != 1 or out.shape[0] != len(sample):
        raise ModelError(
            f"model {spec.name}: prediction has shape {out.shape}, not ({len(sample)},); only "
            "single-output regressors and binary classifiers are supported; fit the model "
            "on the outcome alone"
        )
    if not np.all(np.isfinite(out)):
        raise ModelError(
            f"model {spec.name}: predicts non-finite values on X; check the model and its inputs"
        )
    return out


def _numeric_matrix(frame: pd.DataFrame, what: str) -> np.ndarray:
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if bad:
        raise DataError(
            f"{what}: column(s) {', '.join(repr(str(c)) for c in bad)} are not numeric; "
            "encode them as numbers (binary as 0/1) before explaining the model"
        )
    a = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.all(np.isfinite(a)):
        cols = [
            str(c)
            for c, ok in zip(frame.columns, np.isfinite(a).all(axis=0), strict=True)
            if not ok
        ]
        raise DataError(
            f"{what}: column(s) {', '.join(repr(c) for c in cols)} hold missing or infinite "
            "values; drop or impute those rows first"
        )
    return a


def explain(
    model: Any,
    X: pd.DataFrame,
    *,
    background: pd.DataFrame,
    seed: int | np.random.SeedSequence,
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
        Seed of the permutation explainer (the others are deterministic).

    Returns
    -------
    ShapExplanation
        Values in ``X``'s column order, base value, explainer name and scale.

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
        values, base, explainer, note = _dispatch(model, spec, xm, bm, pred, seed)

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
    )


def _additivity_tolerance(pred: np.ndarray) -> float:
    # Tree libraries keep leaf values in float32: allow that rounding, relative to the scale.
    return 1e-5 * max(1.0, float(np.max(np.abs(pred))))


def _dispatch(
    model: Any, spec: _ModelSpec, xm: np.ndarray, bm: np.ndarray, pred: np.ndarray, seed: Any
) -> tuple[np.ndarray, float, str, str]:
    estimator = _final_estimator_on_raw_input(model)
    note = ""
    if estimator is not None and _is_tree_model(estimator):
        try:
            values, base = _tree_shap(estimator, spec.classifier, xm, bm)
        except Exception as exc:  # unsupported structure inside SHAP: fall back below
            note = f"tree explainer unavailable ({type(exc).__name__}); used model-agnostic"
        else:
            if np.max(np.abs(base + values.sum(axis=1) - pred)) <= _additivity_tolerance(pred):
                return values, base, "tree", ""
            note = "tree explainer did not match the model's predictions; used model-agnostic"
    elif estimator is not None and _is_linear_model(estimator, spec.classifier, xm.shape[1]):
        try:
            values, base = _linear_shap(estimator, xm, bm)
        except Exception as exc:
            note = f"linear explainer unavailable ({type(exc).__name__}); used model-agnostic"
        else:
            if np.max(np.abs(base + values.sum(axis=1) - pred)) <= _additivity_tolerance(pred):
                return values, base, "linear", ""
            note = "linear explainer did not match the model's predictions; used model-agnostic"
    if xm.shape[1] <= MAX_EXACT_FEATURES:
        values, base = exact_shap(spec.predict, xm, bm)
        return values, base, "exact", note
    values, base = permutation_shap(spec.predict, xm, bm, seed=seed)
    return values, base, "permutation", note


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
    estimator: Any, classifier: bool, xm: np.ndarray, bm: np.ndarray
) -> tuple[np.ndarray, float]:
    """Interventional TreeSHAP on the outcome scale.

    SHAP's interventional C code compares inputs with thresholds rounded to float32 while
    the models compare in float64 (HistGradientBoosting and LightGBM put thresholds exactly
    on data values), so rows on a threshold go the wrong way and additivity breaks. We
    therefore rebuild the ensemble with each threshold replaced by its rank among the
    feature's thresholds and each input by the number of thresholds below it: integers,
    exact in float32, with the same routing as the model.
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
    rebuilt = {
        "trees": dict_trees,
        "base_offset": float(offset),
        "tree_output": tree_output,
        "objective": parsed.objective,
        "input_dtype": np.float64,
        "internal_dtype": np.float64,
    }
    explainer = shap.TreeExplainer(
        rebuilt,
        data=code(bm),
        feature_perturbation="interventional",
        model_output=model_output,
    )
    values = np.asarray(explainer.shap_values(code(xm), check_additivity=False), dtype=np.float64)
    base = float(np.ravel(explainer.expected_value)[0])
    return values.reshape(xm.shape), base


def _linear_shap(estimator: Any, xm: np.ndarray, bm: np.ndarray) -> tuple[np.ndarray, float]:
    import shap

    masker = shap.maskers.Independent(bm, max_samples=len(bm))
    explainer = shap.LinearExplainer(estimator, masker)
    values = np.asarray(explainer.shap_values(xm), dtype=np.float64).reshape(xm.shape)
    return values, float(np.ravel(explainer.expected_value)[0])


def _mean_over_background(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, masks: np.ndarray, bm: np.ndarray
) -> np.ndarray:
    """v(S) = mean over background rows b of f(x_S, b_-S), for rows ``x`` (n, p) and
    coalitions ``masks`` (n, k, p) boolean; returns (n, k)."""
    n, k, p = masks.shape
    nb = len(bm)
    out = np.empty(n * k, dtype=np.float64)
    flat_masks = masks.reshape(n * k, p)
    per_chunk = max(1, _BATCH_ROWS // nb)
    for start in range(0, n * k, per_chunk):
        stop = min(n * k, start + per_chunk)
        xs = x[np.arange(start, stop) // k][:, None, :]
        ms = flat_masks[start:stop][:, None, :]
        z = np.where(ms, xs, bm[None, :, :]).reshape(-1, p)
        out[start:stop] = f(z).reshape(stop - start, nb).mean(axis=1)
    return out.reshape(n, k)


def exact_shap(
    f: Callable[[np.ndarray], np.ndarray], xm: np.ndarray, bm: np.ndarray
) -> tuple[np.ndarray, float]:
    """Exact interventional Shapley values of ``f`` by enumerating all coalitions.

    Parameters
    ----------
    f : callable
        Maps an ``(m, p)`` float matrix to ``m`` predictions.
    xm, bm : numpy.ndarray
        Rows to explain ``(n, p)`` and background rows ``(nb, p)``.

    Returns
    -------
    values : numpy.ndarray
        ``(n, p)``.
    base : float
        Mean of ``f`` over the background.
    """
    n, p = xm.shape
    base = float(np.mean(f(bm)))
    full = f(xm)
    n_sets = 1 << p
    bits = ((np.arange(n_sets)[:, None] >> np.arange(p)[None, :]) & 1).astype(bool)
    inner = np.arange(1, n_sets - 1)  # proper non-empty coalitions need the background
    v = np.empty((n, n_sets), dtype=np.float64)
    v[:, 0], v[:, -1] = base, full
    if len(inner):
        v[:, inner] = _mean_over_background(
            f, xm, np.broadcast_to(bits[inner], (n, len(inner), p)), bm
        )
    size = bits.sum(axis=1)
    weight = np.array(
        [
            math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) if s < p else 0.0
            for s in size
        ]
    )
    values = np.empty((n, p), dtype=np.float64)
    for i in range(p):
        without = np.flatnonzero(~bits[:, i])
        values[:, i] = (v[:, without | (1 << i)] - v[:, without]) @ weight[without]
    return values, base


def permutation_shap(
    f: Callable[[np.ndarray], np.ndarray],
    xm: np.ndarray,
    bm: np.ndarray,
    *,
    seed: int | np.random.SeedSequence,
    n_permutations: int = N_PERMUTATIONS,
) -> tuple[np.ndarray, float]:
    """Interventional Shapley values of ``f`` by antithetic permutation sampling.

    Each row gets ``n_permutations // 2`` random feature orderings and their reverses; the
    marginal contributions along each ordering telescope, so values add up exactly to
    ``f(x) - base``. The orderings come from a generator seeded by ``seed`` and drawn for
    all rows at once, so the result does not depend on batching.
    """
    n, p = xm.shape
    half = max(1, n_permutations // 2)
    rng = np.random.default_rng(seed)
    forward = rng.permuted(np.tile(np.arange(p), (n * half, 1)), axis=1).reshape(n, half, p)
    perms = np.concatenate([forward, forward[:, :, ::-1]], axis=1)  # (n, 2h, p)
    k = perms.shape[1]
    base = float(np.mean(f(bm)))
    full = f(xm)
    # masks[r, q, s, :] = the first s+1 features of ordering q are taken from x (s < p-1).
    rank = np.argsort(perms, axis=2)  # position of each feature in each ordering
    steps = np.arange(p - 1)
    masks = rank[:, :, None, :] <= steps[None, None, :, None]  # (n, k, p-1, p)
    v = np.empty((n, k, p + 1), dtype=np.float64)
    v[:, :, 0], v[:, :, -1] = base, full[:, None]
    if p > 1:
        v[:, :, 1:-1] = _mean_over_background(f, xm, masks.reshape(n, k * (p - 1), p), bm).reshape(
            n, k, p - 1
        )
    gains = np.diff(v, axis=2)  # gain of the feature added at each step, in ordering order
    values = np.take_along_axis(gains, rank, axis=2).mean(axis=1)
    return values, base
