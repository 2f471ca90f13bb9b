"""The one rule behind the verdicts: the model's number against a causal effect.

A verdict compares what the model says (its slope; for a categorical feature, its contrast of
each level against the reference) with the causal effect and its interval. This module holds
that comparison and the level-by-level reading of a categorical feature; ``verdicts.py`` turns
its verdict names into :class:`~causalinterp.verdicts.Verdict` members. The rule is
documented in ``docs/verdicts.md`` ("The one rule", "Categorical features").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

__all__ = ["ZERO_SLOPE", "compare", "judge_levels", "unbounded_set"]

#: A slope smaller than this fraction of the effect's magnitude has no sign (it is zero).
ZERO_SLOPE = 0.1
#: The level of the effects' confidence intervals (95%).
EFFECT_LEVEL = 0.05
_Z95 = NormalDist().inv_cdf(0.975)
#: The verdicts a level can take, from best to worst: the worst detected level decides.
_WORST_LAST = ("supported", "over_attributed", "under_attributed", "sign_conflict", "inconclusive")


def compare(
    model: float,
    model_se: float,
    effect: float,
    effect_se: float,
    *,
    factor: float,
    ci: tuple[float, float],
    z: float = _Z95,
    what: str = "slope",
) -> tuple[str, str]:
    """The one rule: the model's number against a detectable causal effect.

    ``supported`` exactly when the model's number ``m`` is consistent with the effect ``b``
    given both uncertainties, ``|m - b| <= z sqrt(se_m^2 + se_b^2)``, *and* within the
    tolerance ``factor`` of the effect's estimate, ``1/factor <= m/b <= factor``. Otherwise
    ``sign_conflict`` when ``m`` has the opposite sign (and a magnitude above
    :data:`ZERO_SLOPE` times ``b``'s), ``over_attributed`` when ``|m| > |b|``, else
    ``under_attributed``.

    Parameters
    ----------
    model, model_se : float
        The model's slope (or level contrast) and its standard error (NaN: taken as 0).
    effect, effect_se : float
        The causal effect's estimate and standard error; its interval excludes zero.
    factor : float
        The tolerance (``attribution_factor``, at least 1).
    ci : tuple of float
        The effect's interval, as the report shows it.
    z : float, default 1.96
        The normal quantile of the consistency margin.
    what : str, default "slope"
        What the model's number is called in the sentence (``"contrast"`` for a level).

    Returns
    -------
    tuple of (str, str)
        The verdict's name and its reason, stating both numbers, their ratio and the rule.

    Examples
    --------
    >>> verdict, reason = compare(0.0215, 0.001, 0.0385, 0.0036, factor=1.5,
    ...                           ci=(0.0315, 0.0455))
    >>> verdict
    'under_attributed'
    >>> reason  # doctest: +NORMALIZE_WHITESPACE
    'model slope 0.0215 is 0.56x the effect 0.0385 [0.0315, 0.0455]; tolerance 1/1.5–1.5x:
    below it'
    """
    numbers = (
        f"model {what} {model:.3g} is {model / effect:.2f}x the effect {effect:.3g} "
        f"[{ci[0]:.3g}, {ci[1]:.3g}]"
    )
    if abs(model) > ZERO_SLOPE * abs(effect) and model * effect < 0:
        return (
            "sign_conflict",
            f"model {what} {model:.3g} has the opposite sign to the effect {effect:.3g} "
            f"[{ci[0]:.3g}, {ci[1]:.3g}]",
        )
    ratio = model / effect
    tolerance = f"tolerance 1/{factor:g}–{factor:g}x"
    spread = math.hypot(
        model_se if math.isfinite(model_se) else 0.0,
        effect_se if math.isfinite(effect_se) else 0.0,
    )
    margin = z * spread
    gap = abs(model - effect)
    larger = "over_attributed" if abs(model) > abs(effect) else "under_attributed"
    if not 1.0 / factor <= ratio <= factor:
        side = "above" if ratio > factor else "below"
        return larger, f"{numbers}; {tolerance}: {side} it"
    if gap > margin:
        return (
            larger,
            f"{numbers}; within the {tolerance}, but the difference {gap:.3g} exceeds both "
            f"uncertainties ({z:.3g} x combined s.e. = {margin:.3g})",
        )
    return (
        "supported",
        f"{numbers}; within the {tolerance} and within both uncertainties (difference "
        f"{gap:.3g} <= {margin:.3g})",
    )


def unbounded_set(e: Any) -> str:
    """Why an IV estimate's Anderson-Rubin set cannot tell the effect, or ``""``."""
    ar = getattr(e, "anderson_rubin", None)
    fs = getattr(e, "first_stage", None)
    if ar is None or ar.shape == "interval":
        return ""
    f_stat = f" (F = {fs.f_statistic:.2g})" if fs is not None else ""
    if ar.shape == "whole_line":
        return f"weak instrument{f_stat}: any effect is consistent with the data"
    if ar.shape == "two_rays":
        return (
            f"weak instrument{f_stat}: the effect's 95% set is two unbounded rays, so the "
            "data cannot tell its size"
        )
    return "the instruments disagree: no single effect is consistent with the data"


def judge_levels(
    levels: Sequence[Any],
    contrasts: Mapping[str, Any],
    *,
    factor: float,
    note: str = "",
) -> tuple[list[tuple[str, str, str, str]], str, str]:
    """A categorical feature: each level's model contrast against its causal level effect.

    A level's effect is detectable when it excludes zero at the family-wise 5% level
    (Bonferroni over the levels, as the feature's summary interval); detectable levels are
    compared by :func:`compare` with their own 95% interval (the one the report shows), and
    the feature takes the worst of their verdicts in the reading order (``supported`` <
    ``over_attributed`` < ``under_attributed`` < ``sign_conflict`` < ``inconclusive``;
    among equals the level whose contrast is furthest from its effect, as a ratio). No
    detectable level: ``no_detectable_effect``. A detectable level without a model contrast:
    ``inconclusive``.

    Parameters
    ----------
    levels : sequence of LevelEffect
        The causal level effects (``FeatureEffect.levels``).
    contrasts : Mapping[str, LevelContrast]
        The model's contrasts by level.
    factor : float
        The tolerance (``attribution_factor``).
    note : str, default ""
        Why the model has no contrasts, if known.

    Returns
    -------
    tuple
        Per level ``(level, reference, verdict name, reason)``; the feature's verdict name;
        its ground (the deciding level's comparison), ``""`` without a detectable level.
    """
    n = len(levels)
    # Detection at the family-wise level, as the feature's summary interval; the comparison
    # itself at each level's own 95% interval, the one the per-level table shows.
    z_family = NormalDist().inv_cdf(1.0 - EFFECT_LEVEL / 2 / n)
    judged: list[tuple[str, str, str, str]] = []
    badness: dict[str, float] = {}
    for level in levels:
        e = level.estimate
        if e is None:
            reason = f"estimation failed: {level.message}"
            judged.append((level.level, level.reference, "error", reason))
            continue
        interval = f"{e.estimate:.3g} [{e.ci_low:.3g}, {e.ci_high:.3g}]"
        if abs(e.estimate) <= z_family * e.stderr or e.p_value * n >= EFFECT_LEVEL:
            reason = (
                f"the effect {interval} is not distinguishable from zero at the family-wise "
                f"5% level (Bonferroni over {n} levels: p x {n} = {min(1.0, e.p_value * n):.2g})"
            )
            judged.append((level.level, level.reference, "no_detectable_effect", reason))
            continue
        c = contrasts.get(level.level)
        if c is None:
            why = note or "the model's contrast of this level was not computed"
            reason = f"the effect {interval} has no model contrast to compare: {why}"
            judged.append((level.level, level.reference, "inconclusive", reason))
            continue
        verdict, reason = compare(
            c.estimate,
            c.stderr,
            e.estimate,
            e.stderr,
            factor=factor,
            ci=(e.ci_low, e.ci_high),
            what="contrast",
        )
        badness[level.level] = abs(math.log(abs(c.estimate / e.estimate) or 1e-12))
        judged.append((level.level, level.reference, verdict, reason))
    detected = [j for j in judged if j[2] in _WORST_LAST]
    if not detected:
        return judged, "no_detectable_effect", ""
    # The worst verdict; among equals, the level whose contrast is furthest from its effect.
    worst = max(detected, key=lambda j: (_WORST_LAST.index(j[2]), badness.get(j[0], 0.0)))
    agree = sum(j[2] == "supported" for j in judged)
    ground = (
        f"level {worst[0]!r} vs {worst[1]!r}: {worst[3]} "
        f"({agree} of {n} levels supported; the worst level decides)"
    )
    return judged, worst[2], ground
