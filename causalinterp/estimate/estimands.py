"""Estimands of a binary treatment: the population an average effect is taken over.

``ate`` averages the effect over every row, ``att`` over the treated rows and ``atc`` over
the untreated (control) rows. All three come from the same cross-fitted nuisances of the
doubly robust back-door fit (:class:`~causalinterp.estimate._econml.DoublyRobustNuisances`:
outcome predictions ``y0``, ``y1`` and the propensity ``p``), with the efficient influence
functions of Hahn (1998) and Moodie, Saarela & Stephens (2018):

* ATE: the mean of ``y1 - y0 + t (y - y1) / p - (1 - t) (y - y0) / (1 - p)``;
* ATT: ``sum[t (y - y0) - (1 - t) p / (1 - p) (y - y0)] / n1`` -- the treated rows' outcomes
  against their predicted untreated outcomes, the controls reweighted by the odds
  ``p / (1 - p)`` to look like the treated;
* ATC: ``sum[(1 - t) (y1 - y) + t (1 - p) / p (y - y1)] / n0``, the mirror image.

The ATT needs only controls comparable to every treated row (no treated row with a
propensity near 1), which is why it is the estimand the data support when a small treated
group is compared with a large, mostly dissimilar control group (e.g. an experiment's
treated units against a survey sample); see ``docs/real-data.md``.

Continuous and categorical treatments, and effects identified by instruments or a front
door, have only the estimand their estimator targets; the report states that population
(:func:`population_of`). :func:`population_slope` takes the model's attribution slope on the
same population as the effect (controls reweighted by the propensity odds for the ATT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from causalinterp.errors import OptionError

__all__ = [
    "ESTIMANDS",
    "PopulationEstimate",
    "describe_population",
    "estimand_scores",
    "population_estimate",
    "population_of",
    "population_slope",
    "population_weights",
]

#: The estimands of a binary treatment, the ``estimand`` option's choices.
ESTIMANDS = ("ate", "att", "atc")
_WORDS = {
    "ate": "all {n} rows",
    "att": "the {n1} treated rows (effect on the treated)",
    "atc": "the {n0} untreated rows (effect on the controls)",
}
_Z975 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class PopulationEstimate:
    """An average effect over one population, with its standard error and 95% interval.

    Attributes
    ----------
    estimand : str
        ``"ate"``, ``"att"`` or ``"atc"``.
    estimate, stderr, ci_low, ci_high, p_value : float
        The effect and its normal-theory inference (influence-function standard error).
    n_rows : int
        Rows in the population the effect is averaged over.
    population : str
        That population in words, e.g. ``"the 185 treated rows (effect on the treated)"``.
    """

    estimand: str
    estimate: float
    stderr: float
    ci_low: float
    ci_high: float
    p_value: float
    n_rows: int
    population: str


def _check(estimand: str) -> str:
    if estimand not in ESTIMANDS:
        raise OptionError(
            f"estimand: {estimand!r} is not one of {', '.join(map(repr, ESTIMANDS))}; "
            "pass e.g. estimand='att'"
        )
    return estimand


def describe_population(estimand: str, t: np.ndarray | None, n: int) -> str:
    """The population of an estimand in words.

    Parameters
    ----------
    estimand : {"ate", "att", "atc"}
    t : numpy.ndarray or None
        The 0/1 treatment (None: not a binary treatment; the population is every row).
    n : int
        Rows analysed.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> describe_population("att", np.array([1, 0, 0, 1]), 4)
    'the 2 treated rows (effect on the treated)'
    >>> describe_population("ate", None, 10)
    'all 10 rows'
    """
    _check(estimand)
    if t is None:
        return _WORDS["ate"].format(n=n)
    n1 = int(np.sum(np.asarray(t) == 1))
    return _WORDS[estimand].format(n=n, n1=n1, n0=n - n1)


def estimand_scores(
    y: np.ndarray,
    t: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    propensity: np.ndarray,
    *,
    estimand: str,
) -> np.ndarray:
    """Per-row influence scores whose mean is the estimand (before dividing by the share).

    For ``"ate"`` the doubly robust scores; for ``"att"`` and ``"atc"`` the numerators of the
    module docstring's formulas, scaled by ``n / n1`` (``n / n0``) so their mean is the
    estimate and their standard deviation over ``sqrt(n)`` its standard error (the
    uncertainty of the share treated enters through the centring in
    :func:`population_estimate`).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1.0, 0.0]); y = np.array([3.0, 1.0])
    >>> y0, y1 = np.array([1.0, 1.0]), np.array([3.0, 3.0])
    >>> estimand_scores(y, t, y0, y1, np.array([0.5, 0.5]), estimand="ate")
    array([2., 2.])
    """
    _check(estimand)
    y, t, y0, y1, p = (np.asarray(a, dtype=float) for a in (y, t, y0, y1, propensity))
    if estimand == "ate":
        return y1 - y0 + t * (y - y1) / p - (1.0 - t) * (y - y0) / (1.0 - p)
    # An empty arm has no population: zero scores (population_estimate refuses it).
    if estimand == "att":
        share = t.mean()
        num = t * (y - y0) - (1.0 - t) * p / (1.0 - p) * (y - y0)
    else:
        share = 1.0 - t.mean()
        num = (1.0 - t) * (y1 - y) + t * (1.0 - p) / p * (y - y1)
    return num / share if share > 0 else np.zeros_like(t)


def population_estimate(
    y: np.ndarray,
    t: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    propensity: np.ndarray,
    *,
    estimand: str,
) -> PopulationEstimate:
    """The ATE, ATT or ATC from a doubly robust fit's cross-fitted nuisances.

    Parameters
    ----------
    y, t : numpy.ndarray
        Outcome and 0/1 treatment.
    y0, y1, propensity : numpy.ndarray
        Out-of-fold predictions of the outcome at t = 0 and t = 1 and of P(t = 1 | controls)
        (clipped away from 0 and 1, as the fit used them).
    estimand : {"ate", "att", "atc"}

    Returns
    -------
    PopulationEstimate
        With the influence-function standard error: for the ATT, the sample variance of
        ``(t (y - y0 - tau) - (1 - t) p / (1 - p) (y - y0)) / P(t = 1)`` over ``n`` (and the
        mirror image for the ATC), which includes the uncertainty of the share treated.

    Raises
    ------
    OptionError
        For an unknown estimand.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> x = rng.normal(size=n); p = 1 / (1 + np.exp(-x)); t = (rng.random(n) < p) * 1.0
    >>> y = x + t * (1 + x) + rng.normal(size=n)   # effect 1 + x: larger for the treated
    >>> att = population_estimate(y, t, x, 1 + 2 * x, p, estimand="att")
    >>> bool(att.ci_low < np.mean(1 + x[t == 1]) < att.ci_high)
    True
    """
    _check(estimand)
    y, t, y0, y1, p = (np.asarray(a, dtype=float) for a in (y, t, y0, y1, propensity))
    n = len(t)
    population = describe_population(estimand, t, n)
    if estimand == "ate":
        scores = estimand_scores(y, t, y0, y1, p, estimand="ate")
        tau = float(scores.mean())
        influence = scores - tau
        rows = n
    else:
        arm = t if estimand == "att" else 1.0 - t
        share = float(arm.mean())
        if share == 0.0:
            raise OptionError(
                f"estimand: {estimand!r} needs {'treated' if estimand == 'att' else 'untreated'} "
                "rows and there are none; pass estimand='ate'"
            )
        scores = estimand_scores(y, t, y0, y1, p, estimand=estimand)
        tau = float(scores.mean())
        # Centring each arm row at tau accounts for estimating the share of that arm.
        influence = scores - arm * tau / share
        rows = int(arm.sum())
    stderr = float(np.std(influence, ddof=1) / math.sqrt(n)) if n > 2 else math.nan
    if stderr > 0 and math.isfinite(stderr):
        p_value = float(2.0 * stats.norm.sf(abs(tau) / stderr))
    else:
        p_value = 0.0 if tau != 0 else 1.0
    return PopulationEstimate(
        estimand=estimand,
        estimate=tau,
        stderr=stderr,
        ci_low=tau - _Z975 * stderr,
        ci_high=tau + _Z975 * stderr,
        p_value=p_value,
        n_rows=rows,
        population=population,
    )


def population_weights(t: np.ndarray, propensity: np.ndarray, *, estimand: str) -> np.ndarray:
    """Row weights that make treated and control rows stand for the estimand's population.

    ``ate``: 1 for every row (the attribution slope over all rows); ``att``: 1 for treated
    rows and the odds ``p / (1 - p)`` for controls (controls reweighted to the treated's
    covariates); ``atc``: 1 for controls and ``(1 - p) / p`` for treated rows. The
    attribution slope weighted by them compares the model's attribution on the same
    population as the effect.

    Examples
    --------
    >>> import numpy as np
    >>> population_weights(np.array([1.0, 0.0]), np.array([0.5, 0.2]), estimand="att")
    array([1.  , 0.25])
    """
    _check(estimand)
    t, p = np.asarray(t, dtype=float), np.asarray(propensity, dtype=float)
    if estimand == "ate":
        return np.ones_like(t)
    if estimand == "att":
        return np.where(t == 1, 1.0, p / (1.0 - p))
    return np.where(t == 1, (1.0 - p) / p, 1.0)


def weighted_slope(x: np.ndarray, s: np.ndarray, weights: np.ndarray) -> float:
    """Weighted least-squares slope of ``s`` on ``x`` (NaN when ``x`` is constant).

    Examples
    --------
    >>> import numpy as np
    >>> weighted_slope(np.array([0.0, 1.0, 1.0]), np.array([0.0, 2.0, 2.0]), np.ones(3))
    2.0
    """
    x, s, w = (np.asarray(a, dtype=float) for a in (x, s, weights))
    keep = np.isfinite(x) & np.isfinite(s) & np.isfinite(w) & (w > 0)
    x, s, w = x[keep], s[keep], w[keep]
    if w.sum() <= 0:
        return math.nan
    xc = x - np.average(x, weights=w)
    sxx = float(np.sum(w * xc * xc))
    if sxx <= 0:
        return math.nan
    return float(np.sum(w * xc * (s - np.average(s, weights=w))) / sxx)


def apply_estimand(estimate: Any, nuisances: Any, estimand: str) -> Any:
    """The back-door ``estimate`` for ``estimand``: unchanged for ``"ate"`` or a treatment
    that is not binary, else the ATT/ATC from the same doubly robust fit's nuisances.

    Parameters
    ----------
    estimate : EffectEstimate
        The fit's average effect over all rows.
    nuisances : BackdoorNuisances
        That fit's cross-fitted nuisances.
    estimand : {"ate", "att", "atc"}

    Returns
    -------
    EffectEstimate
        Its ``method`` names the estimand and its population; ``n_rows`` stays the rows
        analysed (the population's size is in the method and the report's ``population``).

    Examples
    --------
    >>> from causalinterp.estimate._econml import EffectEstimate, BackdoorResiduals
    >>> e = EffectEstimate(1.0, 0.1, 0.8, 1.2, 0.0, "LinearDML", 100)
    >>> apply_estimand(e, BackdoorResiduals(None, None), "att") is e
    True
    """
    from causalinterp.estimate._econml import DoublyRobustNuisances, EffectEstimate

    _check(estimand)
    if estimand == "ate" or not isinstance(nuisances, DoublyRobustNuisances):
        return estimate
    k = nuisances
    e = population_estimate(k.y, k.t, k.y0, k.y1, k.propensity, estimand=estimand)
    return EffectEstimate(
        estimate=e.estimate,
        stderr=e.stderr,
        ci_low=e.ci_low,
        ci_high=e.ci_high,
        p_value=e.p_value,
        method=f"{estimate.method} nuisances, doubly robust {estimand.upper()} over {e.population}",
        n_rows=estimate.n_rows,
        learners=estimate.learners,
    )


def population_of(effect: Any, checked: Any, estimand: str) -> str:
    """The population the feature's effect is averaged over, in words.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> checked = SimpleNamespace(
    ...     n_rows=4, kinds={"t": "binary"}, frame=pd.DataFrame({"t": [1, 0, 0, 1]})
    ... )
    >>> effect = SimpleNamespace(feature="t", identification=SimpleNamespace(strategy="backdoor"))
    >>> population_of(effect, checked, "att")
    'the 2 treated rows (effect on the treated)'
    """
    n = int(checked.n_rows)
    kind = checked.kinds.get(effect.feature, "continuous")
    strategy = str(effect.identification.strategy)
    if kind == "binary" and strategy == "backdoor":
        return describe_population(estimand, checked.frame[effect.feature].to_numpy(), n)
    if strategy == "iv":
        return (
            f"all {n} rows if the effect is homogeneous, else the units the instrument moves "
            "(a local average effect)"
        )
    if kind == "continuous" and strategy == "backdoor":
        return f"all {n} rows (a variance-weighted average of unit-level slopes)"
    return f"all {n} rows"


def population_slope(effects: Any, attributions: Any, checked: Any, feature: str) -> float:
    """The attribution slope of ``feature`` on the population of its effect's estimand.

    For ``estimand="att"`` (``"atc"``) and a binary back-door treatment, the weighted
    least-squares slope of the feature's SHAP values on its values over the explained rows,
    with the weights of :func:`~causalinterp.estimate.estimands.population_weights` (controls
    reweighted by the propensity odds to stand for the treated, or the mirror image): the
    model's implied effect on the same population as the causal effect. NaN when the slope
    over all rows applies (the ATE, other treatments) or cannot be computed.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> population_slope(SimpleNamespace(estimand="ate"), None, None, "x")
    nan
    """
    from causalinterp.estimate._econml import DoublyRobustNuisances

    estimand = getattr(effects, "estimand", "ate")
    kept = getattr(effects, "nuisances", {}).get(feature)
    if estimand == "ate" or not isinstance(kept, DoublyRobustNuisances):
        return math.nan
    shap_values = attributions.shap_values
    if feature not in shap_values.columns:
        return math.nan
    rows = checked.frame.index.get_indexer(shap_values.index)
    if np.any(rows < 0):
        return math.nan
    t = kept.t[rows]
    weights = population_weights(t, kept.propensity[rows], estimand=estimand)
    return weighted_slope(t, shap_values[feature].to_numpy(dtype=float), weights)
