"""Does a feature's effect vary across units, and with which covariates?

The test is the best-linear-predictor (BLP) test of Chernozhukov, Demirer, Duflo and
Fernández-Val (2018) and Semenova and Chernozhukov (2021), run on the orthogonal signals the
effects stage already cross-fitted (no new nuisance fit):

- continuous treatment (``LinearDML``'s residuals): ``y_res = t_res (b0 + (Z - mean Z)' b) + e``,
  the Robinson (R-learner) form of the partially linear model with effect ``b0 + Z' b``;
- binary treatment (``LinearDRLearner``'s doubly robust scores ``psi``):
  ``psi = b0 + (Z - mean Z)' b + e``.

``b0`` is the average effect and ``b`` the best linear predictor of the unit-level effect
from the covariates ``Z`` (the back-door adjustment set, categorical columns one-hot). The
effect is heterogeneous when the Wald test of ``b = 0`` (heteroskedasticity-robust HC1
covariance, chi-squared with one degree of freedom per covariate) rejects at ``alpha``.
A covariate drives the variation when its own coefficient is significant after Holm's
correction across the covariates. A non-rejection does not prove homogeneity: variation
along directions not linear in ``Z``, or in unobserved covariates, is not tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["Driver", "Heterogeneity", "heterogeneity_test"]


@dataclass(frozen=True)
class Driver:
    """One covariate's part in the effect's variation.

    Attributes
    ----------
    name : str
    per_sd : float
        Change of the effect per standard deviation of the covariate (BLP coefficient x SD).
    ci_low, ci_high : float
        Its (unadjusted) interval at 1 - alpha.
    p_value, p_adjusted : float
        Two-sided p-value, and Holm-adjusted across the covariates.
    """

    name: str
    per_sd: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float


@dataclass(frozen=True)
class Heterogeneity:
    """The heterogeneity test of one feature's effect.

    Attributes
    ----------
    feature : str
    test : str
        ``"blp"`` (best linear predictor).
    statistic : float
        Wald chi-squared statistic of ``b = 0``; NaN when nothing was testable.
    df : int
        Covariates tested.
    p_value : float
    alpha : float
    varies : bool or None
        The effect varies with the covariates (p < alpha); None when not testable.
    effect_sd : float
        Standard deviation across units of the BLP of the effect (how much it varies).
    drivers : tuple of Driver
        Every covariate, most significant first.
    sentence : str
    """

    feature: str
    test: str
    statistic: float
    df: int
    p_value: float
    alpha: float
    varies: bool | None
    effect_sd: float
    drivers: tuple[Driver, ...]
    sentence: str

    @property
    def significant_drivers(self) -> tuple[str, ...]:
        """Covariates whose Holm-adjusted p-value is below ``alpha``."""
        return tuple(d.name for d in self.drivers if d.p_adjusted < self.alpha)

    def to_dict(self) -> dict[str, Any]:
        """The ``heterogeneity`` object of ``report.json``."""
        return {
            "test": self.test,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "varies": self.varies,
            "effect_sd": self.effect_sd,
            "drivers": [
                {
                    "name": d.name,
                    "per_sd": d.per_sd,
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                    "p_value": d.p_value,
                    "p_adjusted": d.p_adjusted,
                    "significant": d.p_adjusted < self.alpha,
                }
                for d in self.drivers
            ],
            "sentence": self.sentence,
        }


def blp(
    target: np.ndarray, scale: np.ndarray | None, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and HC1 covariance of the BLP regression.

    ``scale`` None: ``target = b0 + (Z - mean Z) b`` (doubly robust scores); else
    ``target = c + scale (b0 + (Z - mean Z) b)`` (residualised outcome on residualised
    treatment ``scale``). Returns ``(b0, b...)`` and their covariance.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(4000, 1))
    >>> coef, _ = blp(1 + 0.5 * z[:, 0] + rng.normal(size=4000), None, z)
    >>> coef.round(1)
    array([1. , 0.5])
    """
    n = len(target)
    centred = z - z.mean(axis=0)
    effect_design = np.column_stack([np.ones(n), centred])
    if scale is None:
        design = effect_design
        keep = slice(0, design.shape[1])
    else:
        design = np.column_stack([np.ones(n), scale[:, None] * effect_design])
        keep = slice(1, design.shape[1])
    bread = np.linalg.pinv(design.T @ design)
    coef = bread @ (design.T @ target)  # not (bread @ design.T): a columns x rows product
    resid = target - design @ coef
    meat = (design * resid[:, None] ** 2).T @ design
    cov = bread @ meat @ bread * n / max(n - design.shape[1], 1)
    return coef[keep], cov[keep, keep]


def heterogeneity_test(
    nuisances: Any,
    z: np.ndarray | None,
    names: tuple[str, ...] | list[str],
    *,
    feature: str = "feature",
    alpha: float = 0.05,
) -> Heterogeneity:
    """BLP test of effect heterogeneity on a back-door fit's cross-fitted nuisances.

    Parameters
    ----------
    nuisances : BackdoorResiduals or DoublyRobustNuisances
        From ``Effects.nuisances[feature]`` (rows in the order of ``checked.frame``).
    z : numpy.ndarray or None
        The covariates, rows x columns (the adjustment set's design matrix).
    names : sequence of str
        ``z``'s column names.
    feature : str
    alpha : float, default 0.05

    Returns
    -------
    Heterogeneity
        ``varies`` None when there are no (non-constant) covariates.

    Examples
    --------
    >>> from causalinterp.estimate._econml import BackdoorResiduals
    >>> rng = np.random.default_rng(1)
    >>> z = rng.normal(size=(3000, 2))
    >>> t_res = rng.normal(size=3000)
    >>> y_res = t_res * (1 + 0.8 * z[:, 0]) + rng.normal(size=3000)
    >>> h = heterogeneity_test(BackdoorResiduals(y_res, t_res), z, ["a", "b"], feature="t")
    >>> h.varies, h.significant_drivers
    (True, ('a',))
    """
    if hasattr(nuisances, "t_res"):
        target, scale = np.asarray(nuisances.y_res, float), np.asarray(nuisances.t_res, float)
    else:
        target, scale = np.asarray(nuisances.scores, float), None
    n = len(target)
    names = list(names)
    if z is not None:
        z = np.asarray(z, float).reshape(n, -1)
        varying = z.std(axis=0) > 0
        z, names = z[:, varying], [nm for nm, v in zip(names, varying, strict=True) if v]
    if z is None or z.shape[1] == 0:
        return Heterogeneity(
            feature,
            "blp",
            math.nan,
            0,
            math.nan,
            alpha,
            None,
            math.nan,
            (),
            f"heterogeneity of {feature!r} not tested: no covariates in its adjustment set",
        )
    coef, cov = blp(target, scale, z)
    slopes, v = coef[1:], cov[1:, 1:]
    statistic = float(slopes @ np.linalg.pinv(v) @ slopes)
    df = len(slopes)
    p_value = float(stats.chi2.sf(statistic, df))
    sd = z.std(axis=0)
    se = np.sqrt(np.maximum(np.diag(v), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_each = 2 * stats.norm.sf(np.abs(slopes / se))
    adjusted = _holm(np.nan_to_num(p_each, nan=1.0))
    q = stats.norm.ppf(1 - alpha / 2)
    drivers = tuple(
        sorted(
            (
                Driver(
                    names[k],
                    float(slopes[k] * sd[k]),
                    float((slopes[k] - q * se[k]) * sd[k]),
                    float((slopes[k] + q * se[k]) * sd[k]),
                    float(p_each[k]),
                    float(adjusted[k]),
                )
                for k in range(df)
            ),
            key=lambda d: (d.p_value, d.name),
        )
    )
    effect_sd = float(np.std((z - z.mean(axis=0)) @ slopes))
    varies = p_value < alpha
    driving = [d for d in drivers if d.p_adjusted < alpha]
    if varies:
        by = ", ".join(f"{d.name!r} ({d.per_sd:+.3g} per SD)" for d in driving) or (
            "no single covariate after Holm's correction"
        )
        sentence = (
            f"the effect of {feature!r} varies across units (BLP test p = {p_value:.3g}; "
            f"SD of the predicted effect {effect_sd:.3g}); it changes with {by}"
        )
    else:
        sentence = (
            f"no detectable variation of the effect of {feature!r} with "
            f"{', '.join(map(repr, names))} (BLP test p = {p_value:.3g})"
        )
    return Heterogeneity(
        feature, "blp", statistic, df, p_value, alpha, varies, effect_sd, drivers, sentence
    )


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values."""
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted
