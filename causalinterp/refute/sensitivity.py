"""How strong a hidden confounder would have to be to erase an effect.

Cinelli & Hazlett's (2020) partial R² and robustness values from the estimate's t-statistic,
and for a binary outcome VanderWeele & Ding's (2017) E-value of the matching risk ratio. No
simulation is needed, so every back-door estimate gets one, at every depth. Formulas in
``docs/refutation.md``.

These numbers answer "how strong would an unobserved *treatment-outcome* confounder have to
be", which is the back-door design's one untestable assumption. Instrumental-variable and
front-door designs already allow for such a confounder; their assumptions are different
(exclusion of the instrument, a complete and unconfounded mediator set), so for them the
numbers would not mean what the sentence says. They get a sentence saying so instead, and
their numbers are None (see ``docs/identification.md``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from causalinterp.refute.results import Sensitivity

if TYPE_CHECKING:
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import FeatureEffect


def partial_r2(t_statistic: float, dof: float) -> float:
    """Partial R² of the treatment with the outcome: t² / (t² + dof)."""
    return t_statistic**2 / (t_statistic**2 + dof)


def robustness_value(
    t_statistic: float, dof: float, *, q: float = 1.0, alpha: float | None = None
) -> float:
    """Cinelli & Hazlett's robustness value RV_q, or RV_{q,alpha} when ``alpha`` is given."""
    fq = q * abs(t_statistic) / math.sqrt(dof)
    if alpha is None:
        return 0.5 * (math.sqrt(fq**4 + 4.0 * fq**2) - fq**2)
    f_crit = abs(float(stats.t.ppf(alpha / 2.0, dof - 1))) / math.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if fq > 1.0 / f_crit:
        # The bound on the treatment's partial R² binds (Cinelli & Hazlett 2020, appendix).
        return (fq**2 - f_crit**2) / (1.0 + fq**2)
    return 0.5 * (math.sqrt(fqa**4 + 4.0 * fqa**2) - fqa**2)


def e_value(risk_ratio: float) -> float:
    """VanderWeele & Ding's E-value of a risk ratio: RR + sqrt(RR (RR - 1)), RR taken >= 1."""
    if not math.isfinite(risk_ratio) or risk_ratio <= 0:
        return math.nan
    rr = max(risk_ratio, 1.0 / risk_ratio)
    return rr + math.sqrt(rr * (rr - 1.0))


def risk_ratio(effect: float, y: np.ndarray, t: np.ndarray, treatment_kind: str) -> float:
    """The risk ratio matching a risk difference ``effect`` (see docs/refutation.md)."""
    if treatment_kind == "binary" and np.any(t == 0):
        baseline = float(y[t == 0].mean())
        treated = baseline + effect
    else:  # one unit of a continuous treatment, centred at the mean risk
        mean = float(y.mean())
        baseline, treated = mean - effect / 2.0, mean + effect / 2.0
    eps = 1e-6
    baseline = min(max(baseline, eps), 1.0 - eps)
    treated = min(max(treated, eps), 1.0 - eps)
    return treated / baseline


def sensitivity(effect: FeatureEffect, checked: CheckedData, alpha: float) -> Sensitivity | None:
    """``effect``'s :class:`Sensitivity` at level ``alpha``; None when it has no estimate."""
    estimate = effect.estimate
    if estimate is None:
        return None
    identification = effect.identification
    if identification.strategy in ("iv", "frontdoor"):
        return _not_applicable(effect, checked)
    n = estimate.n_rows or checked.n_rows
    regressors = (
        1
        + len(identification.adjustment_set)
        + len(identification.instruments)
        + len(identification.mediators)
    )
    dof = max(int(n) - regressors - 1, 2)
    if not (math.isfinite(estimate.stderr) and estimate.stderr > 0):
        t_stat = math.inf if estimate.estimate != 0 else 0.0
    else:
        t_stat = estimate.estimate / estimate.stderr
    if math.isinf(t_stat):
        r2, rv, rva = 1.0, 1.0, 1.0
    else:
        r2 = partial_r2(t_stat, dof)
        rv = robustness_value(t_stat, dof)
        rva = robustness_value(t_stat, dof, alpha=alpha)
    outcome = checked.outcome
    evalue = None
    if checked.kinds.get(outcome) == "binary":
        rr = risk_ratio(
            estimate.estimate,
            checked.frame[outcome].to_numpy(dtype=float),
            checked.frame[effect.feature].to_numpy(dtype=float),
            checked.kinds.get(effect.feature, "continuous"),
        )
        evalue = e_value(rr)
    level = f"{100 * alpha:g}%"
    if rva > 0:
        insignificant = f"{_percent(rva)} to make it insignificant at {level}"
    else:
        insignificant = f"it is already not significant at {level}"
    sentence = (
        f"A hidden confounder would need to explain at least {_percent(rv)} of the residual "
        f"variance of both {effect.feature} and {outcome} to erase this effect "
        f"({insignificant})."
    )
    if evalue is not None and math.isfinite(evalue):
        sentence += (
            f" On the risk-ratio scale it would need a risk ratio of at least {evalue:.3g} "
            f"with both (E-value)."
        )
    return Sensitivity(
        feature=effect.feature,
        partial_r2=float(r2),
        robustness_value=float(rv),
        robustness_value_alpha=float(rva),
        e_value=evalue,
        sentence=sentence,
        t_statistic=float(t_stat),
        dof=dof,
    )


def _percent(share: float) -> str:
    value = 100.0 * share
    return f"{value:.2g}%" if value < 1 else f"{value:.1f}%"


def _not_applicable(effect: FeatureEffect, checked: CheckedData) -> Sensitivity:
    """The sensitivity entry of an IV or front-door estimate: no numbers, one honest sentence."""
    ident = effect.identification
    if ident.strategy == "iv":
        names = ", ".join(ident.instruments)
        what = (
            f"the design already allows for a hidden confounder of {effect.feature} and "
            f"{checked.outcome}; it rests instead on {names} reaching {checked.outcome} only "
            f"through {effect.feature}, which no sensitivity analysis is computed for"
        )
    else:
        names = ", ".join(ident.mediators)
        what = (
            f"the design already allows for a hidden confounder of {effect.feature} and "
            f"{checked.outcome}; it rests instead on {names} carrying all of the effect and "
            f"being unconfounded with {effect.feature}, which no sensitivity analysis is "
            "computed for"
        )
    return Sensitivity(
        feature=effect.feature,
        partial_r2=math.nan,
        robustness_value=math.nan,
        robustness_value_alpha=math.nan,
        e_value=None,
        sentence=f"No confounding sensitivity analysis: {what}.",
    )
