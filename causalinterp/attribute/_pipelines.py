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
) -> PipelineParts:
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
    if not is_transforming_pipeline(model):
        raise NotImplementedError("not a Pipeline with preprocessing steps")
    preprocessor, final = model[:-1], model.steps[-1][1]
    if final is None or isinstance(final, str):
        raise NotImplementedError("Pipeline without a final estimator")
    xt = _dense(preprocessor.transform(X))
    bt = _dense(preprocessor.transform(background))
    probe = pd.concat([X, background], ignore_index=True)
    owner = output_owners(preprocessor, probe)
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
    return PipelineParts(
        part_values=part_values,
        part_names=names,
        owner=owner,
        values=part_values @ indicator,
        base_value=base,
        explainer=explainer,
        background_rows=background_rows,
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
    reference = _dense(preprocessor.transform(probe))
    owner = np.full(reference.shape[1], -1)
    shift = np.roll(np.arange(len(probe)), 1)
    for j, column in enumerate(probe.columns):
        shifted = probe.copy()
        shifted[column] = probe[column].iloc[shift].reset_index(drop=True)
        out = _dense(preprocessor.transform(shifted))
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


def _explain_final(
    final: Any, xt: np.ndarray, bt: np.ndarray, *, classifier: bool
) -> tuple[np.ndarray, float, str, int]:
    # Imported here: _shap imports this module to dispatch to it.
    from causalinterp.attribute import _native, _shap

    if _shap._is_tree_model(final):
        try:
            values, base, used = _shap._tree_shap(final, classifier, xt, bt)
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
    if _shap._is_linear_model(final, classifier, xt.shape[1]):
        values, base = linear_shap(final, xt, bt)
        return values, base, "linear", len(bt)
    raise NotImplementedError(f"no fast explainer for {type(final).__name__}")


def _dense(a: Any) -> np.ndarray:
    if hasattr(a, "toarray"):
        a = a.toarray()
    return np.asarray(a, dtype=np.float64)
