"""Fast exact attributions for scikit-learn Pipelines and linear models.

The most common production model is a ``Pipeline`` whose first steps encode and scale the
columns (a ``ColumnTransformer`` with ``OneHotEncoder``, ``StandardScaler`` ...) and whose
last step is a tree ensemble or a linear model. Explaining it model-agnostically costs
``2**p x background rows`` predictions of the whole pipeline per row; here instead:

1. The preprocessing steps transform the rows to explain and the background sample once.
2. Each transformed column is traced to the one original column it is computed from, by
   replacing one original column at a time with another row's value and seeing which
   transformed columns change (a ``OneHotEncoder`` group, a scaled column, a passthrough).
   A transformed column computed from two original columns (``PolynomialFeatures``
   interactions) cannot be attributed to one of them: such pipelines are left to the
   model-agnostic explainer.
3. The final estimator is explained on the transformed columns by the fast explainers:
   interventional TreeSHAP for tree ensembles, the closed form below for linear models,
   LightGBM/XGBoost native TreeSHAP when SHAP cannot parse their trees.
4. The values of the transformed columns are summed back to their original column.

Exactness: the values add up exactly to the pipeline's predictions (base value plus the
sum over columns), as every transformed column belongs to exactly one original column.
For a linear final estimator the summed values are exactly the interventional Shapley
values of the original columns. For a tree ensemble they are the sum of the one-hot
columns' Shapley values (the usual "sum of parts" of a grouped feature), which equals the
Shapley value of the original column whenever the model does not make that column interact
with others, and otherwise may differ from it; the model-agnostic ``"exact"`` explainer
computes the latter when it is wanted.

Linear models: for ``f(x) = b + w . x`` the interventional Shapley value of feature ``j``
is ``w_j (x_j - mean of the background's x_j)``, computed here directly.

Steps 1, 2 and 4 and the linear closed form live here; step 3 dispatches to the explainers,
so the composition (``pipeline_shap``, ``explain_pipeline_parts``) lives in the SHAP adapter
(:mod:`causalinterp.attribute._shap`), which imports this module, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PipelineParts:
    """A Pipeline's attributions on its transformed columns, and where each came from.

    Attributes
    ----------
    part_values : numpy.ndarray
        ``(n_rows, n_transformed)``: SHAP values of the final estimator's inputs.
    part_names : tuple of str
        Names of the transformed columns (``get_feature_names_out`` where available).
    owner : numpy.ndarray
        ``(n_transformed,)``: position in ``X``'s columns of each transformed column's
        original column.
    values : numpy.ndarray
        ``(n_rows, n_columns)``: the parts summed per original column, in ``X``'s order.
    base_value : float
        Mean prediction of the final estimator over the transformed background.
    explainer : str
        ``"tree"``, ``"linear"`` or ``"native"``: how the final estimator was explained.
    background_rows : int
        Background rows the values average over (0 for native TreeSHAP, which uses none).
    """

    part_values: np.ndarray
    part_names: tuple[str, ...]
    owner: np.ndarray
    values: np.ndarray
    base_value: float
    explainer: str
    background_rows: int = 0


def is_transforming_pipeline(model: Any) -> bool:
    """Whether ``model`` is a scikit-learn Pipeline with a preprocessing step before its
    final estimator (Pipelines of only passthrough steps are explained as their last step)."""
    steps = getattr(model, "steps", None)
    if not isinstance(steps, list) or len(steps) < 2:
        return False
    return any(
        not (step is None or (isinstance(step, str) and step == "passthrough"))
        for _, step in steps[:-1]
    )


def output_owners(preprocessor: Any, probe: pd.DataFrame) -> np.ndarray:
    """For each column ``preprocessor`` outputs, the position of the input column it is
    computed from.

    Each input column in turn is shifted by one row in ``probe`` (every other column kept);
    the outputs that change belong to it. Outputs that never change are constant over the
    probe (which holds the rows explained and the background), so their SHAP values are
    zero whichever column they are given to (the first).

    Raises
    ------
    NotImplementedError
        An output changes with two input columns.
    """
    probe = probe.reset_index(drop=True)
    reference = dense(preprocessor.transform(probe))
    owner = np.full(reference.shape[1], -1)
    shift = np.roll(np.arange(len(probe)), 1)
    for j, column in enumerate(probe.columns):
        shifted = probe.copy()
        shifted[column] = probe[column].iloc[shift].reset_index(drop=True)
        out = dense(preprocessor.transform(shifted))
        changed = np.any((out != reference) & ~(np.isnan(out) & np.isnan(reference)), axis=0)
        clash = np.flatnonzero(changed & (owner >= 0))
        if clash.size:
            first = probe.columns[owner[clash[0]]]
            raise NotImplementedError(
                f"transformed column {clash[0]} depends on both {first!r} and {column!r}"
            )
        owner[changed] = j
    owner[owner < 0] = 0
    return owner


def linear_shap(estimator: Any, xm: np.ndarray, bm: np.ndarray) -> tuple[np.ndarray, float]:
    """Interventional SHAP values of a linear regressor in closed form.

    ``values[:, j] = coef_[j] * (xm[:, j] - bm[:, j].mean())``; the base value is the mean
    prediction over ``bm``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.arange(20.0).reshape(10, 2) ** [1, 2]
    >>> m = LinearRegression().fit(X, X @ [2.0, -1.0] + 3)
    >>> values, base = linear_shap(m, X, X)
    >>> bool(np.allclose(base + values.sum(1), m.predict(X)))
    True
    """
    coef = np.asarray(getattr(estimator, "coef_", None), dtype=np.float64)
    if coef.ndim == 2 and coef.shape[0] == 1:
        coef = coef[0]
    if coef.ndim != 1 or coef.shape[0] != xm.shape[1]:
        raise NotImplementedError(f"coefficients of shape {coef.shape}")
    intercept = float(np.ravel(np.asarray(getattr(estimator, "intercept_", 0.0)))[0])
    centre = bm.mean(axis=0)
    values = (xm - centre) * coef
    return values, float(intercept + centre @ coef)


def dense(a: Any) -> np.ndarray:
    if hasattr(a, "toarray"):
        a = a.toarray()
    return np.asarray(a, dtype=np.float64)
