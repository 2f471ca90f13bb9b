"""Attribution drift: how the model's reliance on its features moved.

Both the reference rows and the window's rows are explained with interventional SHAP against the
same background (a sample of the reference), so a change in mean |SHAP| is a change in how much
of the model's output each feature moves in the new data, not a change of baseline.

* **nDCG** of the window's mean |SHAP| ranking, with the reference's attribution shares as the
  relevances (as SageMaker Clarify does): 1 when the order is unchanged, lower when features
  the reference relied on most fall down the ranking. Alert below ``ndcg_threshold`` (0.9).
* **share change** of each feature (its mean |SHAP| over the total), window minus reference,
  with a percentile bootstrap CI that resamples the explained rows of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causalinterp.attribute import _shap

#: Reference rows drawn as the SHAP background.
BACKGROUND_ROWS = 100


@dataclass(frozen=True)
class ShareChange:
    """One feature's attribution share, reference against window.

    Attributes
    ----------
    feature : str
    reference, current : float
        Mean |SHAP| over its sum across features, in the reference and in the window.
    change : float
        ``current - reference``.
    ci_low, ci_high : float
        95% percentile-bootstrap interval of the change.
    """

    feature: str
    reference: float
    current: float
    change: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class AttributionDrift:
    """The window's attribution drift.

    Attributes
    ----------
    ndcg : float
        nDCG of the window's mean |SHAP| ranking against the reference's shares.
    ndcg_ci : tuple of float
        Its 95% bootstrap interval.
    shares : tuple of ShareChange
        One per feature, in the features' order.
    rows_explained : int
        Window rows explained (a seeded sample when there are more than ``max_shap_rows``).
    """

    ndcg: float
    ndcg_ci: tuple[float, float]
    shares: tuple[ShareChange, ...]
    rows_explained: int


def explain_rows(
    model, rows: pd.DataFrame, background: pd.DataFrame, seed: np.random.SeedSequence
) -> np.ndarray:
    """|SHAP| values of ``model`` on ``rows`` (columns in ``rows``' order)."""
    explanation = _shap.explain(model, rows, background=background, seed=seed)
    return np.abs(explanation.values)


def ndcg(relevance: np.ndarray, scores: np.ndarray) -> float:
    """nDCG of the order of ``scores`` with graded ``relevance`` (both per feature).

    Examples
    --------
    >>> ndcg(np.array([0.5, 0.3, 0.2]), np.array([5.0, 3.0, 2.0]))
    1.0
    >>> round(ndcg(np.array([0.5, 0.3, 0.2]), np.array([1.0, 3.0, 5.0])), 3)
    0.81
    """
    discount = 1.0 / np.log2(np.arange(2, len(relevance) + 2))
    ideal = float(np.sort(relevance)[::-1] @ discount)
    if ideal <= 0:
        return 1.0
    order = np.argsort(-scores, kind="stable")
    return float(relevance[order] @ discount) / ideal


def shares(abs_shap: np.ndarray) -> np.ndarray:
    """Each column's mean over the sum of means (zeros when the model is constant)."""
    mean = abs_shap.mean(axis=0)
    total = mean.sum()
    return mean / total if total > 0 else np.zeros_like(mean)


def bootstrap_means(abs_shap: np.ndarray, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_bootstrap, n_features)`` column means of row-resampled ``abs_shap``."""
    n = len(abs_shap)
    # Multinomial weights instead of index copies: the same resampling, without the copies.
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap) / n
    return weights @ abs_shap


def attribution_drift(
    features: Sequence[str],
    reference_abs: np.ndarray,
    current_abs: np.ndarray,
    reference_boot: np.ndarray,
    current_boot: np.ndarray,
) -> AttributionDrift:
    """Compare the window's |SHAP| with the reference's (bootstrap means given).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = np.abs(rng.normal(size=(300, 2))) * [2.0, 1.0]
    >>> cur = np.abs(rng.normal(size=(300, 2))) * [1.0, 2.0]
    >>> drift = attribution_drift(["a", "b"], ref, cur, bootstrap_means(ref, 100, rng),
    ...                           bootstrap_means(cur, 100, rng))
    >>> round(drift.shares[1].change, 2) > 0.2, drift.ndcg < 0.9
    (True, True)
    """
    ref_share = shares(reference_abs)
    cur_share = shares(current_abs)
    ref_boot = _row_shares(reference_boot)
    cur_boot = _row_shares(current_boot)
    diff = cur_boot - ref_boot
    low, high = np.percentile(diff, [2.5, 97.5], axis=0)
    boot_ndcg = np.array([ndcg(r, c) for r, c in zip(ref_boot, cur_boot, strict=True)])
    changes = tuple(
        ShareChange(
            feature=name,
            reference=float(ref_share[j]),
            current=float(cur_share[j]),
            change=float(cur_share[j] - ref_share[j]),
            ci_low=float(low[j]),
            ci_high=float(high[j]),
        )
        for j, name in enumerate(features)
    )
    ci = np.percentile(boot_ndcg, [2.5, 97.5])
    return AttributionDrift(
        ndcg=ndcg(ref_share, cur_share),
        ndcg_ci=(float(ci[0]), float(ci[1])),
        shares=changes,
        rows_explained=len(current_abs),
    )


def _row_shares(means: np.ndarray) -> np.ndarray:
    total = means.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return means / total
