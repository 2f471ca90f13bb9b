"""A binary treatment its controls (almost) decide: the deterministic-treatment rule.

Before the overlap check of :mod:`causalinterp.estimate.overlap` looks at the propensity's
spread, it asks whether the treatment is (almost) a function of its controls. A cut-off on one
control (a score) that sorts at least :data:`DETERMINED` of the treated rows to one side and of
the untreated rows to the other (:func:`threshold_rule`) is a sharp regression-discontinuity
design, not a back-door one; so is, jointly, a cross-fitted propensity at the bounds for at
least :data:`DETERMINED` of the rows. The :class:`Determination` says which, and
:func:`_determined_problem` words the reason the overlap check then gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BOUNDS",
    "DETERMINED",
    "MIN_SCORE_VALUES",
    "Determination",
    "threshold_rule",
]

#: Positivity bounds on the propensity: the doubly robust fit clips to them, so a row at a
#: bound had a propensity at or beyond it.
BOUNDS = (0.01, 0.99)
#: A binary treatment is (almost) determined by its controls when a rule sorts at least this
#: share of the treated rows and of the untreated rows (each) to their side.
DETERMINED = 0.99
#: A score with at least this many distinct values is a running variable (regression
#: discontinuity); with fewer (years of schooling, a rating) the treatment is a coarsening
#: of it, such as "no degree" = fewer than 12 years of school.
MIN_SCORE_VALUES = 20
_AT = 1e-9  # a clipped propensity equals its bound up to rounding


@dataclass(frozen=True)
class Determination:
    """A binary treatment (almost) decided by its controls.

    Attributes
    ----------
    method : {"threshold", "propensity"}
        ``"threshold"``: a cut-off on one control sorts the arms (:func:`threshold_rule`);
        ``"propensity"``: no single cut-off does, but the cross-fitted propensity is at the
        positivity bounds for almost every row (the controls decide it jointly).
    by : tuple of str
        The control with the cut-off (one name), or the whole adjustment set.
    rule : str
        The rule in words, e.g. ``"score < 0"`` (the treated side); ``""`` for ``propensity``.
    cutoff : float
        The cut-off (NaN for ``propensity``): a round number between the two sides' values.
    treated_below : bool
        Whether the treated rows lie below the cut-off.
    agreement : float
        Share of all rows on their rule's side (``propensity``: share at the bounds).
    rows_against : int
        Rows on the other arm's side of the cut-off (a fuzzy discontinuity when positive).
    distinct : int
        Distinct values of the score (a running variable when many).
    design : {"regression_discontinuity", "none"}
        The design the data support: the effect at the cut-off (a score with at least
        :data:`MIN_SCORE_VALUES` values), or none on these data (the treatment coarsens a
        score with few values, or the controls decide it jointly).
    """

    method: str
    by: tuple[str, ...]
    rule: str = ""
    cutoff: float = math.nan
    treated_below: bool = True
    agreement: float = math.nan
    rows_against: int = 0
    distinct: int = 0
    design: str = "none"

    @property
    def in_words(self) -> str:
        """The rule and how often it holds, e.g. ``"score < 0 in 100% of rows"``."""
        return f"{self.rule} in {_pct_exact(self.agreement)} of rows"

    def to_dict(self) -> dict[str, Any]:
        """``features[].overlap.determined`` of ``report.json``."""
        return {
            "method": self.method,
            "by": list(self.by),
            "rule": self.rule or None,
            "cutoff": None if math.isnan(self.cutoff) else self.cutoff,
            "treated": "below" if self.treated_below else "at_or_above",
            "agreement": self.agreement,
            "rows_against_rule": self.rows_against,
            "min_agreement": DETERMINED,
            "design": self.design,
        }


def _pct_exact(share: float) -> str:
    """A share near 1 without rounding 99.96% up to "100%"."""
    if share >= 1.0:
        return "100%"
    return f"{min(100 * share, 99.9):.1f}%"


def _determined_problem(feature: str, d: Determination) -> str:
    if d.method == "propensity":
        return (
            f"treatment {feature!r} is determined by its controls jointly: "
            f"{_pct_exact(d.agreement)} of the rows have a cross-fitted propensity at or beyond "
            f"[{BOUNDS[0]:g}, {BOUNDS[1]:g}], though no single control's cut-off decides it; "
            "no row has a comparable counterpart in the other arm, so no back-door estimate "
            "(trimmed, or for the treated) is supported; find the rule that assigns the "
            "treatment (a cut-off on a score is a regression-discontinuity design) or data "
            "where the treatment varies given its controls"
        )
    score = d.by[0]
    against = f" ({d.rows_against} rows against the rule)" if d.rows_against else ""
    head = f"treatment {feature!r} is determined by {d.in_words}"
    if d.design != "regression_discontinuity":
        return (
            f"{head}{against}: it is a coarsening of {score!r} ({d.distinct} distinct values, "
            f"too few for a regression discontinuity), so the data cannot separate its effect "
            f"from that of {score!r} and no back-door estimate is supported; data where "
            f"{feature!r} varies at a given {score!r} are needed"
        )
    fuzzy = (
        "; with rows against the rule it is a fuzzy one: the jump in the outcome divided by "
        "the jump in the treatment"
        if d.rows_against
        else ""
    )
    return (
        f"{head}{against}: {'almost no' if d.rows_against else 'no'} row has a counterpart "
        f"with the same {score!r} in the other arm, "
        "so the adjusted average effect is the nuisance models' extrapolation and trimming "
        "would keep only the rows they blur near the cut-off; this is a regression-"
        f"discontinuity design: estimate the effect at the cut-off {score} = {d.cutoff:.6g} "
        f"(local linear regressions of the outcome on {score!r} on each side, e.g. "
        f"rdrobust{fuzzy}), the effect these data support, with {score!r} as the running "
        "variable"
    )


def threshold_rule(t: np.ndarray, score: np.ndarray) -> tuple[float, float, bool, int]:
    """The cut-off on ``score`` that best sorts a binary treatment into its two arms.

    Every cut between two distinct values of ``score``, with the treated rows below it or at
    or above it, is scored by the smaller of two shares: treated rows on the treated side and
    untreated rows on the other (so a rare treatment is not "decided" by sending every row
    to the untreated side).

    Parameters
    ----------
    t : numpy.ndarray
        The 0/1 treatment.
    score : numpy.ndarray
        One numeric control, aligned with ``t``.

    Returns
    -------
    tuple of (float, float, bool, int)
        ``(sorted, cutoff, treated_below, rows_against)``: the smaller share at the best cut
        (NaN when there is no cut: a constant score or a single arm), the cut-off (the
        roundest number between the two sides' values), whether the treated rows lie below
        it, and the rows on the wrong side.

    Examples
    --------
    >>> import numpy as np
    >>> score = np.linspace(-1, 1, 201)
    >>> threshold_rule((score < 0).astype(float), score)
    (1.0, 0.0, True, 0)
    """
    t = np.asarray(t, dtype=float)
    c = np.asarray(score, dtype=float)
    finite = np.isfinite(c)
    t, c = t[finite], c[finite]
    n1 = float(t.sum())
    n0 = float(len(t) - n1)
    if n1 == 0 or n0 == 0 or len(c) < 2:
        return math.nan, math.nan, True, 0
    order = np.argsort(c, kind="mergesort")
    c, t = c[order], t[order]
    ones = np.cumsum(t)[:-1]  # treated rows at or below position i
    zeros = np.arange(1, len(t)) - ones
    valid = c[:-1] < c[1:]
    if not valid.any():
        return math.nan, math.nan, True, 0
    below = np.minimum(ones / n1, (n0 - zeros) / n0)
    above = np.minimum((n1 - ones) / n1, zeros / n0)
    below[~valid] = -1.0
    above[~valid] = -1.0
    i_below, i_above = int(np.argmax(below)), int(np.argmax(above))
    if below[i_below] >= above[i_above]:
        i, treated_below, best = i_below, True, float(below[i_below])
        against = int((n1 - ones[i]) + zeros[i])
    else:
        i, treated_below, best = i_above, False, float(above[i_above])
        against = int(ones[i] + (n0 - zeros[i]))
    return best, _round_between(float(c[i]), float(c[i + 1])), treated_below, against


def _round_between(low: float, high: float) -> float:
    """The roundest number in (low, high]: the cut-off a person would have written."""
    top = max(abs(low), abs(high), 1e-300)
    step = 10.0 ** (math.ceil(math.log10(top)) + 1)
    while step > 1e-12 * top:
        candidate = round(math.floor(high / step) * step, 12)
        if low < candidate <= high:
            return candidate + 0.0  # no "-0"
        step /= 10.0
    return high


def _determination(
    t: np.ndarray, p: np.ndarray, controls: pd.DataFrame | None
) -> Determination | None:
    """The rule that (almost) decides a binary treatment, or None (module docstring)."""
    names = () if controls is None else tuple(str(c) for c in controls.columns)
    best: tuple[float, str] | None = None
    if controls is not None and len(controls) == len(t):
        for name in controls.columns:
            sorted_share, *_ = threshold_rule(t, controls[name].to_numpy(dtype=float))
            if math.isfinite(sorted_share) and (best is None or sorted_share > best[0]):
                best = (sorted_share, name)
    if best is not None and best[0] >= DETERMINED:
        score = controls[best[1]].to_numpy(dtype=float)
        _, cutoff, below, against = threshold_rule(t, score)
        distinct = int(np.unique(score[np.isfinite(score)]).size)
        rule = f"{best[1]} {'<' if below else '>='} {cutoff:.6g}"
        return Determination(
            method="threshold",
            by=(str(best[1]),),
            rule=rule,
            cutoff=cutoff,
            treated_below=below,
            agreement=1.0 - against / len(t),
            rows_against=against,
            distinct=distinct,
            design="regression_discontinuity" if distinct >= MIN_SCORE_VALUES else "none",
        )
    # Jointly: each arm's rows at its own bound (treated at >= 0.99, untreated at <= 0.01);
    # by arm, so a rare treatment whose every propensity is small is not "decided".
    treated, control = t == 1, t == 0
    if not names or not treated.any() or not control.any():
        return None
    hi, lo = p >= BOUNDS[1] - _AT, p <= BOUNDS[0] + _AT
    if min(float(hi[treated].mean()), float(lo[control].mean())) >= DETERMINED:
        agreement = float(np.mean(np.where(treated, hi, lo)))
        return Determination(method="propensity", by=names, agreement=agreement)
    return None
