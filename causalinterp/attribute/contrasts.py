"""The model's own per-level contrasts of a categorical feature, on the outcome scale.

A categorical feature has no attribution slope (its level codes have no unit), so its
attribution is judged level by level: the model's *contrast* of level ``k`` is its mean
prediction with the feature set to ``k`` minus its mean prediction with the feature set to the
reference level, every other column as observed, on the outcome scale (probability of the
positive class for a classifier). It is averaged over the rows the causal level effect is
estimated on (the rows at ``k`` or at the reference), so the two numbers describe the same
population, as the back-door estimand does for binary treatments.

Its interval is a sampling interval over those rows (the delta method for a mean of per-row
differences: standard deviation over the square root of the row count), the model held fixed.
See ``docs/verdicts.md`` ("Categorical features").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.data import CheckedData

__all__ = ["MAX_CONTRAST_ROWS", "LevelContrast", "level_contrasts", "model_level_contrasts"]

#: Rows per level pair at most (a seeded sample beyond): the interval is then already narrow.
MAX_CONTRAST_ROWS = 5000
_Z975 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class LevelContrast:
    """The model's contrast of one level against the reference level.

    Attributes
    ----------
    level, reference : str
        The level and the reference level (labels as in the data).
    estimate : float
        Mean over ``n_rows`` rows of the prediction at ``level`` minus that at ``reference``.
    stderr : float
        Its sampling standard error over the rows (the model held fixed).
    ci_low, ci_high : float
        The 95% interval ``estimate ± 1.96 stderr``.
    n_rows : int
        Rows averaged over: those at ``level`` or ``reference`` (a seeded sample of at most
        :data:`MAX_CONTRAST_ROWS`).
    """

    level: str
    reference: str
    estimate: float
    stderr: float
    ci_low: float
    ci_high: float
    n_rows: int


def _predict(model: Any, rows: pd.DataFrame) -> np.ndarray:
    """The model's predictions on the outcome scale (the positive class's probability)."""
    from causalinterp.attribute._shap import is_classifier

    if hasattr(model, "predict_proba") and is_classifier(model):
        return np.asarray(model.predict_proba(rows), dtype=float)[:, -1]
    return np.asarray(model.predict(rows), dtype=float).ravel()


def level_contrasts(
    model: Any,
    rows: pd.DataFrame,
    feature: str,
    labels: tuple[str, ...],
    reference: int,
    *,
    seed: int = 0,
) -> tuple[LevelContrast, ...]:
    """The model's contrast of every level of ``feature`` against ``reference``.

    Parameters
    ----------
    model : fitted estimator
        Takes ``rows`` (level codes in ``feature``'s column) and predicts on the outcome scale.
    rows : pandas.DataFrame
        The model's input rows, ``feature`` holding level codes 0, 1, ...
    feature : str
        The categorical column.
    labels : tuple of str
        Level labels in code order.
    reference : int
        The reference level's code.
    seed : int, default 0
        Seeds the row sample when a level pair has more than :data:`MAX_CONTRAST_ROWS` rows.

    Returns
    -------
    tuple of LevelContrast
        One per level other than the reference, in code order.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> rows = pd.DataFrame({"g": [0.0, 1, 2] * 20, "x": np.arange(60.0)})
    >>> y = np.where(rows["g"] == 1, 2.0, 0.0) + 0.1 * rows["x"]
    >>> from sklearn.preprocessing import OneHotEncoder
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.pipeline import make_pipeline
    >>> m = make_pipeline(make_column_transformer((OneHotEncoder(), ["g"]),
    ...     remainder="passthrough"), LinearRegression()).fit(rows, y)
    >>> [round(c.estimate, 3) + 0.0 for c in level_contrasts(m, rows, "g", ("a", "b", "c"), 0)]
    [2.0, 0.0]
    """
    codes = rows[feature].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    found = []
    for code in range(len(labels)):
        if code == reference:
            continue
        chosen = np.flatnonzero((codes == code) | (codes == reference))
        if len(chosen) > MAX_CONTRAST_ROWS:
            chosen = np.sort(rng.choice(chosen, size=MAX_CONTRAST_ROWS, replace=False))
        if len(chosen) < 2:
            continue
        subset = rows.iloc[chosen]
        at_level = subset.assign(**{feature: float(code)})
        at_reference = subset.assign(**{feature: float(reference)})
        both = _predict(model, pd.concat([at_level, at_reference], ignore_index=True))
        diff = both[: len(chosen)] - both[len(chosen) :]
        mean = float(diff.mean())
        se = float(diff.std(ddof=1) / math.sqrt(len(diff)))
        found.append(
            LevelContrast(
                level=labels[code],
                reference=labels[reference],
                estimate=mean,
                stderr=se,
                ci_low=mean - _Z975 * se,
                ci_high=mean + _Z975 * se,
                n_rows=len(chosen),
            )
        )
    return tuple(found)


def model_level_contrasts(
    model: Any, rows: pd.DataFrame, checked: CheckedData, *, seed: int = 0
) -> tuple[dict[str, tuple[LevelContrast, ...]], dict[str, str]]:
    """Every categorical feature's level contrasts, and why a feature has none.

    A feature whose contrasts fail (the model refuses a level, ...) gets a one-line note
    instead; the others are unaffected.
    """
    from causalinterp.errors import first_line

    contrasts: dict[str, tuple[LevelContrast, ...]] = {}
    notes: dict[str, str] = {}
    for name in checked.features:
        if checked.kinds.get(name) != "categorical":
            continue
        try:
            labels, reference = checked.level_codes(name)
            contrasts[name] = level_contrasts(model, rows, name, labels, reference, seed=seed)
        except Exception as error:  # one feature's failure must not cost the others
            notes[name] = (
                f"the model's level contrasts could not be computed "
                f"({type(error).__name__}: {first_line(error)})"
            )
    return contrasts, notes
