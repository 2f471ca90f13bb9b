"""Performance when the window has labels: one primary error metric, reference against window.

The primary metric is an error, so that "worse" is always "larger": the root mean squared error
for a regressor, the root Brier score (the RMSE of the predicted probability) for a classifier.
The reference's figure is computed on the reference rows; pass held-out rows as the reference
(not the model's training rows), or its figure will be optimistic and every window will look
worse. AUC (classifiers) and MAE (regressors) are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Performance:
    """The model's error on the window against the reference.

    Attributes
    ----------
    metric : str
        ``"rmse"`` or ``"root_brier"``.
    reference, current : float
        The metric on the reference rows and on the window's labelled rows.
    relative_change : float
        ``current / reference - 1``: 0.1 means 10% worse.
    secondary : dict
        ``auc`` (classifiers) or ``mae`` (regressors), reference and current.
    n_labelled : int
        Labelled rows in the window.
    """

    metric: str
    reference: float
    current: float
    relative_change: float
    secondary: dict
    n_labelled: int


def error_figures(y: np.ndarray, prediction: np.ndarray, classifier: bool) -> dict[str, float]:
    """The primary metric and the secondary one for labels ``y`` and predictions."""
    rmse = float(np.sqrt(np.mean((y - prediction) ** 2)))
    if classifier:
        auc = float("nan")
        if len(np.unique(y)) == 2:
            from sklearn.metrics import roc_auc_score

            auc = float(roc_auc_score(y, prediction))
        return {"root_brier": rmse, "auc": auc}
    return {"rmse": rmse, "mae": float(np.mean(np.abs(y - prediction)))}


def compare(reference: dict[str, float], current: dict[str, float], n: int) -> Performance:
    """Assemble a :class:`Performance` from two :func:`error_figures` results.

    Examples
    --------
    >>> ref = error_figures(np.array([0.0, 1.0]), np.array([0.1, 0.9]), False)
    >>> cur = error_figures(np.array([0.0, 1.0]), np.array([0.2, 0.8]), False)
    >>> round(compare(ref, cur, 2).relative_change, 3)
    1.0
    """
    metric = "root_brier" if "root_brier" in reference else "rmse"
    other = "auc" if metric == "root_brier" else "mae"
    base = reference[metric]
    relative = current[metric] / base - 1.0 if base > 0 else float("inf")
    return Performance(
        metric=metric,
        reference=base,
        current=current[metric],
        relative_change=float(relative),
        secondary={other: {"reference": reference[other], "current": current[other]}},
        n_labelled=n,
    )
