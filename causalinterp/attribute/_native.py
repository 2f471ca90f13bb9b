"""LightGBM, XGBoost and CatBoost adapter: their own TreeSHAP, and their model files.

LightGBM (``Booster.predict(..., pred_contrib=True)``), XGBoost
(``Booster.predict(..., pred_contribs=True)``) and CatBoost
(``get_feature_importance(type="ShapValues")``) compute exact TreeSHAP values themselves,
in compiled code, for every split their trees hold — categorical splits included, which
SHAP's own interventional tree code cannot follow. They take the model's own input (pandas
``category`` or text columns and all), so no re-coding is needed. 2,000 rows of 200 trees
take a few CPU seconds (docs/performance.md), with no background-sample factor. (CatBoost
model files are loaded in :mod:`causalinterp.models`, which needs no more of CatBoost than
its loader.)

What the values are
    The libraries compute *path-dependent* TreeSHAP: a feature outside a coalition is
    integrated out over the training rows that reached each node (the trees' stored
    covers), not over a background sample as the interventional explainers in
    :mod:`causalinterp.attribute._shap` do. Both are exact Shapley values of their own
    value function; they agree when features are independent and can differ when they are
    correlated. The explanation therefore carries ``explainer="native"`` and a note.

The outcome's scale
    The contributions add up to the model's *raw score* (log-odds for a binary classifier,
    the log of the mean for Poisson/Gamma/Tweedie objectives). The package explains models
    on the outcome's scale (probability of the positive class for classifiers), so each
    row's raw contributions are multiplied by the row's secant slope of the inverse link
    between the base score and the row's score,
    ``(g(raw) - g(base)) / (raw - base)`` (the derivative ``g'(base)`` when they coincide).
    Signs and each feature's share of the row's total are kept, and the values add up
    exactly to ``prediction - g(base)``: ``base_value = g(base)``. They are not the Shapley
    values of the probability function itself (no exact fast algorithm for those exists
    with categorical splits); the interventional explainer in ``_shap`` remains the
    reference where it applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.errors import ModelError, first_line

NOTE = (
    "native TreeSHAP of the model's library (path-dependent: absent features follow the "
    "training rows' covers, not the background sample)"
)
"""Note attached to explanations computed here."""

# Objectives by inverse link: identity, logistic (binary classifiers and logistic
# regression), exponential (log-link count and positive-valued regressions).
# CatBoost's names are its loss functions without parameters ("Tweedie:variance_power=1.5").
_LOGISTIC = {
    "binary",
    "cross_entropy",
    "xentropy",
    "binary:logistic",
    "reg:logistic",
    "Logloss",
    "CrossEntropy",
}
_EXP = {
    "poisson",
    "gamma",
    "tweedie",
    "count:poisson",
    "reg:gamma",
    "reg:tweedie",
    "Poisson",
    "Tweedie",
}
_IDENTITY = {
    "regression",
    "regression_l2",
    "l2",
    "mean_squared_error",
    "mse",
    "regression_l1",
    "l1",
    "huber",
    "fair",
    "quantile",
    "mape",
    "reg:squarederror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "reg:quantileerror",
    "reg:squaredlogerror",
    "RMSE",
    "MAE",
    "Quantile",
    "MAPE",
    "Huber",
    "Expectile",
}
_LIBRARIES = ("lightgbm", "xgboost", "catboost")


# --------------------------------------------------------------------------- recognising
def library(model: Any) -> str | None:
    """``"lightgbm"``, ``"xgboost"`` or ``"catboost"`` if ``model`` is one of their models
    (scikit-learn wrapper, Booster, or a :class:`BoosterModel` loaded from a file), else
    ``None``."""
    if isinstance(model, BoosterModel):
        return model.library
    package = type(model).__module__.split(".")[0]
    return package if package in _LIBRARIES else None


def _booster(model: Any) -> Any:
    if isinstance(model, BoosterModel):
        return model.booster
    if library(model) == "lightgbm":
        return getattr(model, "booster_", model)
    if library(model) == "xgboost" and callable(getattr(model, "get_booster", None)):
        return model.get_booster()
    return model


def objective(model: Any) -> str:
    """The model's training objective, e.g. ``"binary"`` or ``"reg:squarederror"``."""
    booster = _booster(model)
    if library(model) == "lightgbm":
        return str(booster.dump_model(num_iteration=1).get("objective", "")).split()[0]
    if library(model) == "catboost":
        return str(model.get_all_params().get("loss_function", "")).split(":")[0]
    config = json.loads(booster.save_config())
    return str(config["learner"]["objective"]["name"])


def categorical_features(model: Any) -> dict[str, list[Any] | None]:
    """The model's categorical features and, where the model stored them, their levels.

    LightGBM keeps the categories of pandas ``category`` columns (``pandas_categorical``);
    XGBoost marks categorical features with type ``"c"`` and, from version 3.1, keeps their
    categories too. CatBoost keeps its categorical features' positions, not their levels
    (it hashes them).
    """
    if library(model) == "catboost":
        names = [str(n) for n in model.feature_names_]
        return {names[i]: None for i in model.get_cat_feature_indices()}
    booster = _booster(model)
    if library(model) == "lightgbm":
        infos = booster.dump_model(num_iteration=1).get("feature_infos", {})
        names = [name for name, info in infos.items() if info.get("values")]
        levels = list(getattr(booster, "pandas_categorical", None) or [])
        return {
            name: (list(levels[i]) if i < len(levels) else None) for i, name in enumerate(names)
        }
    types = booster.feature_types or []
    names = booster.feature_names or [f"f{i}" for i in range(len(types))]
    found: dict[str, list[Any] | None] = {
        name: None for name, kind in zip(names, types, strict=False) if kind == "c"
    }
    try:  # XGBoost >= 3.1 stores the categories of pandas columns in the model
        stored = booster.get_categories(export_to_arrow=True).to_arrow()
    except Exception:  # older XGBoost, or a model fitted without pandas categories
        return found
    for name, levels in stored:
        if name in found and levels is not None:
            found[name] = list(levels.to_pylist())
    return found


def inverse_link(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Raw score to prediction for objective ``name``; NotImplementedError if unknown."""
    if name in _LOGISTIC:
        return lambda r: 1.0 / (1.0 + np.exp(-r))
    if name in _EXP:
        return np.exp
    if name in _IDENTITY:
        return lambda r: r
    raise NotImplementedError(f"objective {name!r} has no known link")


# --------------------------------------------------------------------------- explaining
def native_shap(model: Any, X: pd.DataFrame, *, classifier: bool) -> tuple[np.ndarray, float]:
    """Exact TreeSHAP values of a LightGBM, XGBoost or CatBoost model by the library itself.

    Parameters
    ----------
    model : LGBMClassifier, LGBMRegressor, XGBClassifier, XGBRegressor, Booster, BoosterModel,
            CatBoostClassifier or CatBoostRegressor
        A fitted binary classifier or single-output regressor.
    X : pandas.DataFrame
        Rows to explain, with the columns and types the model was fitted on (``category``
        columns stay categorical).
    classifier : bool
        Explain the probability of the positive class (else the prediction).

    Returns
    -------
    values : numpy.ndarray
        ``(n_rows, n_features)`` in ``X``'s column order, on the outcome scale.
    base : float
        The base value: ``base + values.sum(axis=1)`` is the model's prediction.

    Raises
    ------
    NotImplementedError
        Multiclass or multi-output models, or an objective without a known link: the
        caller falls back to a model-agnostic explainer.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np, pandas as pd
    >>> X = pd.DataFrame({"a": np.arange(200.0), "b": np.arange(200.0) % 7})
    >>> m = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, X.a + X.b)
    >>> values, base = native_shap(m, X, classifier=False)
    >>> bool(np.allclose(base + values.sum(1), m.predict(X)))
    True
    """
    lib = library(model)
    booster = _booster(model)
    name = objective(model)
    if classifier and name not in _LOGISTIC:
        raise NotImplementedError(f"classifier with objective {name!r}")
    g = inverse_link(name)
    if lib == "lightgbm":
        if booster.num_model_per_iteration() != 1:
            raise NotImplementedError("multiclass LightGBM model")
        contrib = np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
    elif lib == "xgboost":
        import xgboost

        matrix = xgboost.DMatrix(X, enable_categorical=True)
        contrib = np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float64)
    elif lib == "catboost":
        import catboost

        pool = catboost.Pool(X, cat_features=list(model.get_cat_feature_indices()))
        contrib = np.asarray(
            model.get_feature_importance(data=pool, type="ShapValues"), dtype=np.float64
        )
    else:
        raise NotImplementedError(
            f"{type(model).__name__} is not a LightGBM, XGBoost or CatBoost model"
        )
    if contrib.ndim != 2 or contrib.shape[1] != X.shape[1] + 1:
        raise NotImplementedError(f"contributions of shape {contrib.shape}")
    raw_values, bias = contrib[:, :-1], contrib[:, -1]
    base_raw = float(bias[0])
    raw = base_raw + raw_values.sum(axis=1)
    base = float(g(np.array([base_raw]))[0])
    # Secant slope of the inverse link between base and each row's score: keeps additivity
    # on the outcome scale exactly (see the module docstring).
    step = raw - base_raw
    tiny = np.abs(step) <= 1e-12 * max(1.0, abs(base_raw))
    h = 1e-6 * max(1.0, abs(base_raw))
    derivative = float((g(np.array([base_raw + h])) - g(np.array([base_raw - h])))[0] / (2 * h))
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(tiny, derivative, (g(raw) - base) / np.where(tiny, 1.0, step))
    return raw_values * slope[:, None], base


# --------------------------------------------------------------------------- model files
class BoosterModel:
    """A LightGBM or XGBoost Booster loaded from a file, with a scikit-learn-style face.

    ``predict`` returns the prediction (probability of class 1 for a binary classifier is
    ``predict_proba(X)[:, 1]``); ``classes_`` is ``[0, 1]`` for classifiers, as the file
    stores no labels.
    """

    def __init__(self, booster: Any, library_name: str, path: str) -> None:
        self.booster = booster
        self.library = library_name
        self.path = path
        self.objective = objective(self)
        names = (
            booster.feature_name() if library_name == "lightgbm" else booster.feature_names
        ) or [f"f{i}" for i in range(booster.num_features())]
        self.feature_names_in_ = np.array([str(n) for n in names], dtype=object)
        self.n_features_in_ = len(names)
        if self.objective in _LOGISTIC and self.objective != "reg:logistic":
            self._estimator_type = "classifier"
            self.classes_ = np.array([0, 1])
        else:
            self._estimator_type = "regressor"

    def __repr__(self) -> str:
        return f"BoosterModel({self.library}, {self.objective}, {Path(self.path).name})"

    def _raw_predict(self, X: Any) -> np.ndarray:
        if self.library == "lightgbm":
            return np.asarray(self.booster.predict(X), dtype=np.float64)
        import xgboost

        frame = (
            X
            if isinstance(X, pd.DataFrame)
            else pd.DataFrame(np.asarray(X), columns=list(self.feature_names_in_))
        )
        return np.asarray(
            self.booster.predict(xgboost.DMatrix(frame, enable_categorical=True)),
            dtype=np.float64,
        )

    def predict(self, X: Any) -> np.ndarray:
        out = self._raw_predict(X)
        if self._estimator_type == "classifier":
            return (out >= 0.5).astype(int)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        if self._estimator_type != "classifier":
            raise AttributeError("predict_proba is only defined for binary classifiers")
        p = self._raw_predict(X)
        return np.column_stack([1.0 - p, p])


def load_lightgbm(path: Path) -> BoosterModel:
    """A LightGBM text model file as a :class:`BoosterModel`."""
    import lightgbm

    try:
        booster = lightgbm.Booster(model_file=str(path))
    except Exception as exc:
        raise ModelError(
            f"model file {str(path)!r}: not a readable LightGBM text model ({first_line(exc)});"
            " save it with booster.save_model('model.txt')"
        ) from None
    model = BoosterModel(booster, "lightgbm", str(path))
    _check_single_output(model, path)
    return model


def load_xgboost(path: Path) -> BoosterModel:
    """An XGBoost JSON or UBJSON model file as a :class:`BoosterModel`."""
    import xgboost

    booster = xgboost.Booster()
    try:
        booster.load_model(str(path))
    except Exception as exc:
        raise ModelError(
            f"model file {str(path)!r}: not a readable XGBoost model ({first_line(exc)}); "
            "save it with model.save_model('model.json') or 'model.ubj'"
        ) from None
    model = BoosterModel(booster, "xgboost", str(path))
    _check_single_output(model, path)
    return model


def _check_single_output(model: BoosterModel, path: Path) -> None:
    known = _LOGISTIC | _EXP | _IDENTITY
    if model.objective not in known:
        raise ModelError(
            f"model file {str(path)!r}: objective {model.objective!r} is not supported (binary "
            "classification and single-output regression are); refit with e.g. 'binary' or "
            "'regression'"
        )
    if model.library == "lightgbm" and model.booster.num_model_per_iteration() != 1:
        raise ModelError(
            f"model file {str(path)!r}: is a multiclass model; only binary classifiers and "
            "single-output regressors are supported"
        )
