"""Performance when the window has labels: one primary error metric, reference against window.

The primary metric is an error, so that "worse" is always "larger": the root mean squared error
for a regressor, the root Brier score (the RMSE of the predicted probability) for a classifier.
The reference's figure is computed on the reference rows; pass held-out rows as the reference
(not the model's training rows), or its figure will be optimistic and every window will look
worse. AUC (classifiers) and MAE (regressors) are reported beside it.

Whether the window is *significantly* worse is decided with an interval, not by the size of
the change alone: the relative change of the metric, ``sqrt(mean squared error of the window /
mean squared error of the reference) - 1``, gets a delta-method confidence interval on the log
scale from the per-row squared errors' variances in both samples (independent rows). An alert
needs the interval's lower end above 0 *and* the change above ``performance_drop``: with 100
labelled rows a 15% rise is noise, with 100,000 a 1% rise is not news.
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
    ci_low, ci_high : float
        Interval of ``relative_change`` at level ``1 - performance_alpha`` (delta method on
        the log of the ratio of mean squared errors).
    p_value : float
        One-sided p-value of "the window's error is no larger than the reference's".
    """

    metric: str
    reference: float
    current: float
    relative_change: float
    secondary: dict
    n_labelled: int
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    p_value: float = float("nan")


def error_figures(y: np.ndarray, prediction: np.ndarray, classifier: bool) -> dict[str, float]:
    """The primary metric, the secondary one, and the squared errors' mean, variance and
    count (for the interval) for labels ``y`` and predictions."""
    squared = (y - prediction) ** 2
    rmse = float(np.sqrt(np.mean(squared)))
    spread = {
        "squared_error_mean": float(np.mean(squared)),
        "squared_error_var": float(np.var(squared, ddof=1)) if len(squared) > 1 else 0.0,
        "n": len(squared),
    }
    if classifier:
        auc = float("nan")
        if len(np.unique(y)) == 2:
            from sklearn.metrics import roc_auc_score

            auc = float(roc_auc_score(y, prediction))
        return {"root_brier": rmse, "auc": auc, **spread}
    return {"rmse": rmse, "mae": float(np.mean(np.abs(y - prediction))), **spread}


def compare(
    reference: dict[str, float], current: dict[str, float], n: int, *, alpha: float = 0.05
) -> Performance:
    """Assemble a :class:`Performance` from two :func:`error_figures` results.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=4000)
    >>> ref = error_figures(y[:2000], y[:2000] + rng.normal(0, 1.0, 2000), False)
    >>> cur = error_figures(y[2000:], y[2000:] + rng.normal(0, 1.5, 2000), False)
    >>> result = compare(ref, cur, 2000)
    >>> round(result.relative_change, 2), bool(result.ci_low < 0.5 < result.ci_high)
    (0.55, True)
    >>> result.p_value < 1e-6  # the error grew by half (RMSE 1.0 -> 1.5): covered, and an alert
    True
    """
    from scipy.stats import norm

    metric = "root_brier" if "root_brier" in reference else "rmse"
    other = "auc" if metric == "root_brier" else "mae"
    base = reference[metric]
    relative = current[metric] / base - 1.0 if base > 0 else float("inf")
    low = high = p_value = float("nan")
    if base > 0 and current[metric] > 0 and "squared_error_var" in reference:
        # log(RMSE ratio) = (log m_w - log m_r) / 2; var(log m) ~ var(squared error) / (n m^2)
        se = 0.5 * np.sqrt(
            reference["squared_error_var"]
            / (reference["n"] * reference["squared_error_mean"] ** 2)
            + current["squared_error_var"] / (current["n"] * current["squared_error_mean"] ** 2)
        )
        log_ratio = float(np.log1p(relative))
        z = float(norm.ppf(1 - alpha / 2))
        if se > 0:
            low, high = float(np.expm1(log_ratio - z * se)), float(np.expm1(log_ratio + z * se))
            p_value = float(norm.sf(log_ratio / se))
    return Performance(
        metric=metric,
        reference=base,
        current=current[metric],
        relative_change=float(relative),
        secondary={other: {"reference": reference[other], "current": current[other]}},
        n_labelled=n,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
    )
