"""The user's model as the explainers see it: its name, kind, columns and prediction
function, checked once before anything is explained (unfitted, other columns, multiclass,
no ``predict_proba`` ... fail here with one line naming the model and the fix).

Part of the SHAP adapter (:mod:`causalinterp.attribute._shap` re-exports the public names);
this module does not import ``shap``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.attribute.inspection import is_classifier, outcome_predictor
from causalinterp.errors import DataError, ModelError, first_line


@dataclass(frozen=True)
class _ModelSpec:
    """What :func:`explain` needs to know about a checked model."""

    name: str
    classifier: bool
    columns: tuple[str, ...]  # X's columns in the order the model expects them
    predict: Callable[[np.ndarray], np.ndarray]  # (m, p) in `columns` order -> (m,)


def model_name(model: Any) -> str:
    """Name of a model for messages: its class, with a Pipeline's steps in brackets."""
    inner, _ = _user_model(model)
    if inner is not model:
        return model_name(inner)  # never the name of an internal wrapper
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        inner = ", ".join(_step_name(step) for _, step in steps)
        return f"{type(model).__name__}[{inner}]"
    return type(model).__name__


def _step_name(step: Any) -> str:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return "passthrough"
    return type(step).__name__


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
    except (TypeError, AttributeError):
        # Not a scikit-learn estimator (scikit-learn >= 1.6 raises AttributeError for an
        # object without tags): fitted-ness is checked by the prediction probe.
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
    if value is None and attribute == "feature_names_in_" and _is_catboost(model):
        # CatBoost keeps the names as feature_names_ ("0", "1", ... when fitted on arrays).
        names = [str(n) for n in (getattr(model, "feature_names_", None) or [])]
        if names and names != [str(i) for i in range(len(names))]:
            value = np.array(names, dtype=object)
    steps = getattr(model, "steps", None)
    if value is None and isinstance(steps, list):
        for _, step in steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            return _fitted_attribute(step, attribute)
    return value


def _is_lightgbm(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "lightgbm"


def _is_catboost(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "catboost"


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
    """The model's prediction on the outcome scale (:func:`~.inspection.outcome_predictor`),
    as a function of a float matrix whose columns are in the model's order."""
    return outcome_predictor(model, frame_columns, name=model_name(model))


def _predict_checked(spec: _ModelSpec, sample: np.ndarray) -> np.ndarray:
    """Predict on ``sample``, turning any failure into a one-line :class:`ModelError`."""
    try:
        out = spec.predict(sample)
    except ModelError:
        raise
    except Exception as exc:
        first = first_line(exc) if str(exc).strip() else ""
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


def _user_model(
    model: Any, spec: _ModelSpec | None = None
) -> tuple[Any, Callable[[np.ndarray], pd.DataFrame]]:
    """The user's own model, and a function from explainer matrices (columns in the
    model's order) to the frame that model takes: the attribution stage's level decoder
    turns level codes back into the user's text and category values."""
    decode = getattr(model, "_frame", None)
    if type(model).__name__ == "_LevelDecoder" and callable(decode):
        return model.model, decode
    columns = list(spec.columns) if spec is not None else None
    return model, lambda a: pd.DataFrame(a, columns=columns)
