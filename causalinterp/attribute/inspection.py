"""A model's prediction on the outcome scale, and its ICE curves and partial dependence.

The one place that decides what "the model's prediction" means: for a classifier, the
probability of the positive class, which is ``classes_[1]`` (the second of the two sorted
classes: 1 for a 0/1 outcome, ``True`` for a boolean one); for anything else, ``predict``.
Only binary classifiers have an outcome scale: a multiclass model is refused with one line.
Every stage that evaluates the model (attributions, the domain check, the curves, ``explain``)
goes through :func:`outcome_predictor`, so they agree on the number they compare.

Imports nothing from scikit-learn at module level, and nothing from the rest of ``attribute``:
the attribution stage's own checks build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.errors import ModelError, first_line

__all__ = ["ice_curves", "is_classifier", "outcome_predictor", "partial_dependence"]


def is_classifier(model: Any) -> bool:
    """Whether ``model`` is a classifier (scikit-learn tags, else duck typing).

    scikit-learn's own ``is_classifier`` raises on some models outside scikit-learn; those are
    classifiers when they say so (``_estimator_type``) or carry a non-empty ``classes_``.
    """
    from sklearn.base import is_classifier as _sk_is_classifier

    try:
        if _sk_is_classifier(model):
            return True
    except Exception:
        # Objects outside scikit-learn have no tags; fall through to duck typing.
        pass
    estimator_type = getattr(model, "_estimator_type", None)
    if estimator_type is not None:
        return estimator_type == "classifier"
    # Some regressors carry an empty classes_ (CatBoostRegressor).
    classes = getattr(model, "classes_", None)
    return classes is not None and len(classes) > 0


def outcome_predictor(
    model: Any,
    columns: Sequence[str] | None = None,
    *,
    checked: bool = False,
    name: str | None = None,
) -> Callable[[Any], np.ndarray]:
    """The model's prediction on the outcome scale, as a function of rows.

    Parameters
    ----------
    model : fitted estimator
        A binary classifier (with ``predict_proba``) or a single-output regressor.
    columns : sequence of str, optional
        With columns, a float matrix passed to the function becomes a DataFrame with these
        column names (models fitted on DataFrames want names); without, rows go to the model
        as given.
    checked : bool, default False
        Turn any failure of the model's own call into a one-line :class:`ModelError` naming
        the model (for stages that call a user's model on rows it has not seen).
    name : str, optional
        The model's name in messages (default: its class).

    Returns
    -------
    callable
        ``rows -> 1-d float array``: for a classifier the probability of ``classes_[1]``
        (``predict_proba(rows)[:, 1]``), else ``predict(rows)``.

    Raises
    ------
    ModelError
        No ``predict``, a classifier without ``predict_proba``, or (when called) a
        ``predict_proba`` that does not return two columns (multiclass).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> predict = outcome_predictor(model)
    >>> bool(np.allclose(predict(X), model.predict_proba(X)[:, 1]))
    True
    """
    name = name or type(model).__name__
    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"model {name}: has no predict method; pass a fitted estimator")
    classifier = is_classifier(model)
    if classifier and not callable(getattr(model, "predict_proba", None)):
        raise ModelError(
            f"model {name}: is a classifier without predict_proba, so it has no probability "
            "scale; refit it with probability estimates"
        )
    names = None if columns is None else list(columns)

    def as_input(rows: Any) -> Any:
        if names is None or isinstance(rows, pd.DataFrame):
            return rows
        return pd.DataFrame(np.asarray(rows, dtype=float), columns=names, copy=False)

    def predict(rows: Any) -> np.ndarray:
        n = len(rows)
        if classifier:
            proba = np.asarray(model.predict_proba(as_input(rows)), dtype=np.float64)
            if proba.ndim != 2 or proba.shape[1] != 2:
                raise ModelError(
                    f"model {name}: predict_proba returned shape {proba.shape}, not ({n}, 2); "
                    "only binary classifiers are supported (multiclass is not); fit the "
                    "model on a binary outcome coded 0/1"
                )
            return proba[:, 1]
        out = np.asarray(model.predict(as_input(rows)), dtype=np.float64)
        return out.reshape(n) if out.ndim == 2 and out.shape[1] == 1 else out

    if not checked:
        return predict

    def predict_checked(rows: Any) -> np.ndarray:
        try:
            return predict(rows)
        except ModelError:
            raise
        except Exception as error:  # the model's own message, on one line
            raise ModelError(
                f"model {name}: prediction failed ({type(error).__name__}: "
                f"{first_line(error)}); pass the model fitted on these feature columns"
            ) from None

    return predict_checked


def ice_curves(
    predict: Callable[[np.ndarray], np.ndarray],
    sample: np.ndarray,
    column: int,
    points: np.ndarray,
) -> np.ndarray:
    """ICE curves: ``out[i, k]`` is the prediction for row ``i`` with ``column`` set to
    ``points[k]`` (one prediction call for all rows and points).

    Examples
    --------
    >>> ice_curves(lambda a: a.sum(axis=1), np.array([[0.0, 1.0]]), 0, np.array([0.0, 2.0]))
    array([[1., 3.]])
    """
    sample = np.asarray(sample, dtype=float)
    points = np.asarray(points, dtype=float)
    stacked = np.repeat(sample, len(points), axis=0)
    stacked[:, column] = np.tile(points, len(sample))
    return np.asarray(predict(stacked), dtype=float).reshape(len(sample), len(points))


def partial_dependence(
    model: Any, rows: pd.DataFrame, feature: str, grid: np.ndarray
) -> np.ndarray:
    """The model's partial dependence on ``feature`` at ``grid``, on the outcome scale: the
    mean over ``rows`` of the ICE curves (:func:`ice_curves`).

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> rows = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [1.0, 0, 1, 0]})
    >>> m = LinearRegression().fit(rows, 2 * rows["a"] + rows["b"])
    >>> partial_dependence(m, rows, "a", np.array([0.0, 1.0])).round(3)
    array([0.5, 2.5])
    """
    # The rows stay a DataFrame with their own dtypes (a model may take text columns); the
    # same stacking as ice_curves: row i repeated once per grid point.
    grid = np.asarray(grid, dtype=float)
    stacked = rows.iloc[np.repeat(np.arange(len(rows)), len(grid))].reset_index(drop=True)
    stacked[feature] = np.tile(grid, len(rows))
    predictions = np.asarray(outcome_predictor(model)(stacked), dtype=float)
    return predictions.reshape(len(rows), len(grid)).mean(axis=0)
