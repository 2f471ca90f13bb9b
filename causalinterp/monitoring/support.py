"""Out-of-support rows: per-feature ranges and a multivariate novelty score.

The causal verdicts (and the model) were estimated on the reference's support; a row outside it
is an extrapolation for both. Two checks:

* **range**: the share of rows below the reference's minimum or above its maximum, per
  continuous feature (over every reference row), and the share of rows at a level the reference
  never had, per categorical feature;
* **novelty**: the Mahalanobis distance of each row's numeric features from the reference's
  mean under the reference's covariance (fitted on one half of the reference sample). Its 99th
  percentile on the *other* half is the cut-off, so about 1% of rows from the reference's own
  distribution lie beyond it; the share beyond it in a window is compared with
  ``support_share``. Mahalanobis distance sees rows that break the features' joint pattern (a
  high income with a low-end device) even when each value is within range, and it scores a
  million rows in a second; it does not see holes inside a non-convex support.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causalinterp.monitoring.drift import ColumnReference

#: Percentile of the reference's own novelty scores used as the cut-off.
NOVELTY_PERCENTILE = 99.0
#: Example rows kept per window: the most novel ones.
N_EXAMPLES = 5


@dataclass(frozen=True)
class NoveltyReference:
    """The fitted novelty score: standardisation, inverse covariance and the cut-off."""

    columns: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    precision: np.ndarray
    cutoff: float


@dataclass(frozen=True)
class RangeCheck:
    """One feature's rows outside the reference's range (or at unseen levels).

    Attributes
    ----------
    name : str
        The feature.
    low, high : float or None
        The reference's minimum and maximum (None for categorical features).
    share_outside : float
        Share of the window's rows below ``low`` or above ``high`` (or at unseen levels).
    unseen_levels : tuple of str
        Categorical features: levels absent from the reference (at most 10 shown).
    """

    name: str
    low: float | None
    high: float | None
    share_outside: float
    unseen_levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class SupportCheck:
    """The window's rows against the reference's support.

    Attributes
    ----------
    novelty_share : float
        Share of rows whose novelty score exceeds the reference's 99th percentile (about 0.01
        when nothing changed).
    novelty_cutoff : float
        That percentile (a Mahalanobis distance).
    ranges : tuple of RangeCheck
        One per feature, in the features' order.
    examples : tuple of dict
        The most novel rows: ``row`` (the window's row label), ``score`` and the feature values.
    """

    novelty_share: float
    novelty_cutoff: float
    ranges: tuple[RangeCheck, ...]
    examples: tuple[dict, ...]


def fit_novelty(
    sample: pd.DataFrame, columns: Sequence[str], rng: np.random.Generator
) -> NoveltyReference | None:
    """Fit the novelty score on a reference sample (None without numeric features)."""
    columns = tuple(columns)
    if not columns or len(sample) < 20:
        return None
    matrix = sample[list(columns)].to_numpy(dtype=float)
    order = rng.permutation(len(matrix))
    half = len(matrix) // 2
    fit, hold = matrix[order[:half]], matrix[order[half:]]
    mean = fit.mean(axis=0)
    scale = fit.std(axis=0)
    scale[scale == 0] = 1.0
    z = (fit - mean) / scale
    # pinv: collinear features (a proxy that copies its cause) must not make this singular.
    precision = np.linalg.pinv(np.cov(z, rowvar=False).reshape(len(columns), len(columns)))
    reference = NoveltyReference(columns, mean, scale, precision, float("nan"))
    cutoff = float(np.percentile(novelty_scores(reference, hold), NOVELTY_PERCENTILE))
    return NoveltyReference(columns, mean, scale, precision, cutoff)


def novelty_scores(reference: NoveltyReference, matrix: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each row from the reference's mean."""
    z = (matrix - reference.mean) / reference.scale
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", z, reference.precision, z), 0.0))


def check_support(
    current: pd.DataFrame,
    features: Sequence[str],
    columns: Mapping[str, ColumnReference],
    novelty: NoveltyReference | None,
) -> SupportCheck:
    """Compare the window's rows with the reference's support.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> from causalinterp.monitoring.drift import summarize_column
    >>> ref = pd.DataFrame(rng.normal(size=(2000, 2)), columns=["a", "b"])
    >>> cols = {c: summarize_column(ref[c], c, sample_rows=2000, rng=rng) for c in "ab"}
    >>> novelty = fit_novelty(ref, ["a", "b"], rng)
    >>> far = pd.DataFrame({"a": [9.0] * 50, "b": [0.0] * 50})
    >>> check_support(far, ["a", "b"], cols, novelty).novelty_share
    1.0
    """
    n = len(current)
    ranges = []
    for name in features:
        ref = columns[name]
        if ref.kind == "continuous":
            values = current[name].to_numpy(dtype=float)
            outside = float(np.mean((values < ref.low) | (values > ref.high)))
            ranges.append(RangeCheck(name, ref.low, ref.high, outside))
        else:
            text = current[name].astype(str)
            seen = set(ref.counts or {})
            unseen_mask = ~text.isin(seen)
            unseen = tuple(sorted(set(text[unseen_mask]))[:10])
            ranges.append(RangeCheck(name, None, None, float(unseen_mask.mean()), unseen))
    if novelty is None:
        return SupportCheck(float("nan"), float("nan"), tuple(ranges), ())
    matrix = current[list(novelty.columns)].to_numpy(dtype=float)
    scores = novelty_scores(novelty, matrix)
    beyond = scores > novelty.cutoff
    top = np.argsort(-scores, kind="stable")[: min(N_EXAMPLES, int(beyond.sum()))]
    examples = tuple(
        {
            "row": _label(current.index[i]),
            "score": float(scores[i]),
            **{c: float(matrix[i, j]) for j, c in enumerate(novelty.columns)},
        }
        for i in top
    )
    return SupportCheck(
        float(beyond.mean()) if n else float("nan"), novelty.cutoff, tuple(ranges), examples
    )


def _label(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, int | str):
        return value
    return str(value)
