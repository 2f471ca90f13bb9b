"""Stage: does each attribution have causal support, and if not, why.

The rules are documented in ``docs/verdicts.md``; in short, per feature, in the order they
are applied (the first that holds decides):

========================  ==============  ===================================================
verdict                   causal_support  when
========================  ==============  ===================================================
``error``                 null            estimation failed; the message is in ``reasons``
``no_causal_path``        false           no directed path from the feature to the outcome
``not_identifiable``      null            the DAG and observed columns do not identify it
``inconclusive``          null            the data cannot tell: an unbounded Anderson-Rubin
                                          set, or no model slope/contrast to compare
``limited_overlap``       null            identified, but the data cannot compare like with like
``fragile``               null            identified, but a refuter broke the estimate
``no_detectable_effect``  false           identified; the 95% CI includes zero
``sign_conflict``         false           significant effect; attribution slope opposite
``over_attributed``       true            same sign; not supported, slope larger than the effect
``under_attributed``      true            same sign; not supported, slope smaller than the effect
``supported``             true            the one rule below holds
========================  ==============  ===================================================

**The one rule**: ``supported`` means that the model's slope ``m`` is consistent with the
effect ``b`` given both uncertainties (``|m - b| <= 1.96 sqrt(se_m^2 + se_b^2)``) *and* within
the tolerance ``attribution_factor`` ``f`` of the effect's estimate (``1/f <= m/b <= f``).
A slope counts as having a sign only if its magnitude exceeds ``ZERO_SLOPE`` times the
effect's. A categorical feature is judged level by level, the model's level contrasts against
the causal level effects by the same rule, and takes the worst level's verdict
(:func:`compare`, ``docs/verdicts.md``). The thresholds ``material_share`` and
``attribution_factor`` are options (``causalinterp.options``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from causalinterp import options
from causalinterp.attribute.attributions import Attributions
from causalinterp.attribute.contrasts import LevelContrast
from causalinterp.data import CheckedData
from causalinterp.errors import OptionError
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.estimate.enums import EffectStatus
from causalinterp.estimate.estimands import population_slope
from causalinterp.estimate.instruments import instrument_reasons
from causalinterp.estimate.overlap import overlap_problem
from causalinterp.graph import CausalGraph, FeatureSetDiagnosis
from causalinterp.refute.roles import calibration_note

if TYPE_CHECKING:
    from causalinterp.refute.results import Refutations

__all__ = [
    "ZERO_SLOPE",
    "FeatureVerdict",
    "LevelVerdict",
    "Verdict",
    "advise",
    "compare",
    "contradiction",
    "judge",
]

#: A slope smaller than this fraction of the effect's magnitude has no sign (it is zero).
ZERO_SLOPE = 0.1
#: The level of the effects' confidence intervals (95%): a verdict that needs a detectable
#: effect needs a p-value below it.
_EFFECT_LEVEL = 0.05
#: The normal quantile of a 95% interval (the one rule's consistency margin).
_Z95 = NormalDist().inv_cdf(0.975)
_DEFAULT = options.defaults("judge")


class Verdict(StrEnum):
    """The verdict on one feature's attribution, in the order reports list them.

    A member is its plain string (``Verdict.SUPPORTED == "supported"``), so ``report.json``
    holds strings. The rules are in the module docstring and ``docs/verdicts.md``.
    """

    SUPPORTED = "supported"
    OVER_ATTRIBUTED = "over_attributed"
    UNDER_ATTRIBUTED = "under_attributed"
    SIGN_CONFLICT = "sign_conflict"
    FRAGILE = "fragile"
    LIMITED_OVERLAP = "limited_overlap"
    INCONCLUSIVE = "inconclusive"
    NO_DETECTABLE_EFFECT = "no_detectable_effect"
    NO_CAUSAL_PATH = "no_causal_path"
    NOT_IDENTIFIABLE = "not_identifiable"
    ERROR = "error"

    @property
    def label(self) -> str:
        """The words shown to readers, e.g. ``"over-attributed"``."""
        return _LABELS.get(self, self.value.replace("_", " "))

    @property
    def causal_support(self) -> bool | None:
        """The ``causal_support`` every feature with this verdict has (see the table above)."""
        return _SUPPORT[self]

    @property
    def effect_status(self) -> EffectStatus:
        """The status of the effect this verdict is given to."""
        return _STATUS.get(self, EffectStatus.ESTIMATED)


_LABELS = {Verdict.OVER_ATTRIBUTED: "over-attributed", Verdict.UNDER_ATTRIBUTED: "under-attributed"}
_SUPPORT: Mapping[Verdict, bool | None] = {
    Verdict.SUPPORTED: True,
    Verdict.OVER_ATTRIBUTED: True,
    Verdict.UNDER_ATTRIBUTED: True,
    Verdict.SIGN_CONFLICT: False,
    Verdict.FRAGILE: None,
    Verdict.LIMITED_OVERLAP: None,
    Verdict.INCONCLUSIVE: None,
    Verdict.NO_DETECTABLE_EFFECT: False,
    Verdict.NO_CAUSAL_PATH: False,
    Verdict.NOT_IDENTIFIABLE: None,
    Verdict.ERROR: None,
}
_STATUS = {
    Verdict.NO_CAUSAL_PATH: EffectStatus.NO_PATH,
    Verdict.NOT_IDENTIFIABLE: EffectStatus.NOT_IDENTIFIABLE,
    Verdict.ERROR: EffectStatus.ERROR,
}
#: Verdicts given only to effects whose 95% CI excludes zero.
_DETECTED = frozenset(
    {Verdict.SUPPORTED, Verdict.OVER_ATTRIBUTED, Verdict.UNDER_ATTRIBUTED, Verdict.SIGN_CONFLICT}
)


@dataclass(frozen=True)
class LevelVerdict:
    """The verdict on one level of a categorical feature: the model's contrast of the level
    against the reference level beside the causal effect of the same contrast.

    Attributes
    ----------
    level, reference : str
        The level and the reference level.
    verdict : Verdict
        ``supported``, ``over_attributed``, ``under_attributed``, ``sign_conflict``,
        ``no_detectable_effect`` (the level's effect is not distinguishable from zero at the
        family-wise level), ``inconclusive`` (no model contrast) or ``error`` (no estimate).
    reason : str
        The comparison in words, with both numbers and the rule (:func:`compare`).
    """

    level: str
    reference: str
    verdict: Verdict
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))


@dataclass(frozen=True)
class FeatureVerdict:
    """The verdict on one feature's attribution.

    Attributes
    ----------
    feature : str
        The model feature.
    causal_support : bool or None
        True: identified effect, CI excludes zero, slope not of the opposite sign.
        False: no path, no detectable effect, or opposite signs. None: cannot be judged.
        Always ``verdict.causal_support``.
    verdict : Verdict
        The verdict (a plain string is accepted and converted).
    reasons : tuple of str
        Plain-words explanation: the verdict's ground first, then the structural diagnosis of
        the model's feature set against the DAG.
    flagged : bool
        The attribution is material and ``causal_support`` is not true.
    share : float
        The feature's share of total mean |SHAP|.
    reason_summary : str
        The reason in a few words, e.g. ``"no causal path; proxy of 'household_income'"``.
    action : str or None
        What to do about it in one sentence; None when nothing needs doing.
    levels : tuple of LevelVerdict
        For a categorical feature, the verdict on each level (the feature's verdict is the
        worst of them, see ``docs/verdicts.md``); empty otherwise.

    Raises
    ------
    ValueError
        For an unknown verdict, a ``causal_support`` other than the verdict's, or a flag on a
        feature with causal support: such a row contradicts itself.
    """

    feature: str
    causal_support: bool | None
    verdict: Verdict
    reasons: tuple[str, ...]
    flagged: bool
    share: float = math.nan
    #: A few words: the verdict's ground, then the first structural reason (see :func:`advise`).
    reason_summary: str = ""
    #: One sentence saying what to do, or None when nothing needs doing (see :func:`advise`).
    action: str | None = None
    #: Categorical features: the verdict on each level against the reference level.
    levels: tuple[LevelVerdict, ...] = ()

    def __post_init__(self) -> None:
        verdict = Verdict(self.verdict)
        object.__setattr__(self, "verdict", verdict)
        if self.causal_support is not verdict.causal_support:
            raise ValueError(
                f"{self.feature}: verdict {str(verdict)!r} has causal_support "
                f"{verdict.causal_support}, not {self.causal_support!r}"
            )
        if self.flagged and self.causal_support is True:
            raise ValueError(f"{self.feature}: flagged although it has causal support")


def contradiction(verdict: FeatureVerdict, effect: FeatureEffect | None) -> str:
    """Why ``verdict`` cannot be the verdict on ``effect``, or ``""`` when it can.

    The verdict must match the effect's status (``error``, ``no_causal_path`` and
    ``not_identifiable`` mirror the statuses; every other verdict needs an estimate), and
    the verdicts that need a detectable effect need a 95% CI that excludes zero and a
    p-value below 0.05 (``no_detectable_effect`` the opposite); none of them may read an
    unbounded interval (that is ``inconclusive``). A report uses it to refuse rows that
    contradict themselves.

    Examples
    --------
    >>> from causalinterp.estimate import EffectEstimate, FeatureEffect
    >>> from causalinterp.estimate._dowhy import Identification
    >>> estimate = EffectEstimate(-0.0008, 0.00066, -0.0021, 0.0005, 0.23, "LinearDML", 900)
    >>> effect = FeatureEffect("age", Identification("backdoor"), estimate, "estimated")
    >>> row = FeatureVerdict("age", False, "sign_conflict", ("...",), True)
    >>> contradiction(row, effect)
    "age: verdict 'sign_conflict' needs an effect whose 95% CI excludes zero (p = 0.23)"
    """
    name, v = verdict.feature, verdict.verdict
    if effect is None:
        return f"{name}: verdict {str(v)!r} but no effect" if v is not Verdict.ERROR else ""
    if effect.status is not v.effect_status:
        return f"{name}: verdict {str(v)!r} on an effect with status {str(effect.status)!r}"
    e = effect.estimate
    if e is None or v not in _DETECTED | {Verdict.NO_DETECTABLE_EFFECT}:
        return ""
    excludes_zero = not (e.ci_low <= 0.0 <= e.ci_high)
    if v in _DETECTED and not (excludes_zero and e.p_value < _EFFECT_LEVEL):
        return (
            f"{name}: verdict {str(v)!r} needs an effect whose 95% CI excludes zero "
            f"(p = {e.p_value:.4g})"
        )
    if v is Verdict.NO_DETECTABLE_EFFECT and excludes_zero:
        return f"{name}: verdict {str(v)!r} but the effect's 95% CI excludes zero"
    if not (math.isfinite(e.ci_low) and math.isfinite(e.ci_high)):
        # An unbounded (Anderson-Rubin) set cannot tell: the verdict is 'inconclusive'.
        return f"{name}: verdict {str(v)!r} reads an unbounded 95% set; it is 'inconclusive'"
    return ""


def judge(
    effects: Effects,
    attributions: Attributions,
    graph: CausalGraph,
    checked: CheckedData,
    refutations: Refutations | None = None,
    *,
    material_share: float = _DEFAULT["material_share"],
    attribution_factor: float = _DEFAULT["attribution_factor"],
    fixed: Iterable[str] = _DEFAULT["fixed"],
    curves: Any = None,
) -> dict[str, FeatureVerdict]:
    """Give every model feature a verdict, its reasons and a flag.

    Parameters
    ----------
    effects : Effects
        The effects stage's result (:func:`causalinterp.estimate.estimate_effects`).
    attributions : Attributions
        The attribution stage's result (:func:`causalinterp.attribute.attribute_model`);
        for categorical features its ``level_contrasts``.
    graph : CausalGraph
        The DAG, for the structural diagnosis.
    checked : CheckedData
        For the outcome, the model's features and which nodes are observed.
    refutations : Refutations, optional
        The refutation stage's result; an estimate that failed a refuter is ``fragile``.
        None: no refutations were run.
    material_share : float, default 0.05
        Share of total mean |SHAP| from which an attribution is material (in [0, 1]).
    attribution_factor : float, default 1.5
        The tolerance of the one rule: a supported slope lies within ``1/factor`` to
        ``factor`` times the effect's estimate (at least 1); see :func:`compare`.
    fixed : iterable of str, default ()
        Model features that cannot be changed: the actions never propose acting on them.
    curves : Curves, optional
        The dose-response stage's result (:func:`causalinterp.estimate.curves.estimate_curves`):
        a model whose dependence disagrees in shape with the causal curve gets a reason saying
        where and how, even when the slopes agree (the verdict itself is unchanged).

    Returns
    -------
    dict of str to FeatureVerdict
        Feature name to :class:`FeatureVerdict`, in the model's feature order.

    Raises
    ------
    OptionError
        For an invalid ``material_share``, ``attribution_factor`` or ``fixed``.

    Examples
    --------
    >>> from causalinterp.attribute import attribute_model
    >>> from causalinterp.data import check_data
    >>> from causalinterp.estimate import estimate_effects
    >>> from causalinterp.verdicts import judge
    >>> from causalinterp.simulators import retention_model
    >>> sim = retention_model()
    >>> data = sim.sample(2000, seed=0)
    >>> features = ["tenure_years", "premium_device", "cancel_page_visits"]
    >>> checked = check_data(data, sim.graph, "churned", features=features)
    >>> effects = estimate_effects(checked, sim.graph, seed=0, nuisance="linear")
    >>> attributions = attribute_model(None, data, checked, model_seed=0, seed=0)
    >>> verdicts = judge(effects, attributions, sim.graph, checked)
    >>> str(verdicts["premium_device"].verdict)
    'no_causal_path'
    >>> verdicts["cancel_page_visits"].causal_support, verdicts["cancel_page_visits"].flagged
    (False, True)
    """
    checked_options = options.validate(
        {
            "material_share": material_share,
            "attribution_factor": attribution_factor,
            "fixed": fixed,
        }
    )
    material_share = checked_options["material_share"]
    attribution_factor = checked_options["attribution_factor"]
    fixed = frozenset(checked_options["fixed"] or ())
    unknown = sorted(fixed - set(checked.features))
    if unknown:
        raise OptionError(f"fixed: {unknown[0]!r} is not a model feature; name model features")
    total = sum(a.mean_abs_shap for a in attributions.by_feature.values())
    verdicts = {}
    for feature in checked.features:
        effect = effects.by_feature[feature]
        attribution = attributions.by_feature[feature]
        share = attribution.mean_abs_shap / total if total > 0 else 0.0
        # The attribution on the effect's population (att/atc); NaN: over all rows.
        slope = population_slope(effects, attributions, checked, feature)
        slope = attribution.slope if math.isnan(slope) else slope
        model = _ModelSide(
            slope=slope,
            slope_se=attribution.slope_se,
            contrasts=tuple(getattr(attributions, "level_contrasts", {}).get(feature, ())),
            note=getattr(attributions, "contrast_notes", {}).get(feature, ""),
        )
        verdict, ground, summary_ground, levels = _decide(
            effect, model, refutations, attribution_factor
        )
        problem = overlap_problem(getattr(effects, "overlap", {}), feature)
        if problem and verdict.effect_status is EffectStatus.ESTIMATED:
            verdict, ground, summary_ground = Verdict.LIMITED_OVERLAP, problem, ""
        diagnosis = graph.feature_set_diagnosis(
            feature, checked.outcome, checked.features, checked.observed
        )
        reasons = (
            ground,
            *(f"level {lv.level!r}: {lv.reason}" for lv in levels),
            _refuter_note(effect, levels),
            *_structural_reasons(feature, checked.outcome, diagnosis, effect),
            *instrument_reasons(effect),  # IV/front-door assumptions; weak instruments
            calibration_note(refutations, feature),  # failed fast-path calibration checks
            curves.reason(feature) if curves is not None else "",  # shape vs the causal curve
        )
        flagged = share >= material_share and verdict.causal_support is not True
        summary, action = advise(
            feature,
            verdict,
            checked.outcome,
            diagnosis,
            flagged=flagged,
            effect=effect,
            ground=summary_ground,
            fixed=feature in fixed,
        )
        verdicts[feature] = FeatureVerdict(
            feature=feature,
            causal_support=verdict.causal_support,
            verdict=verdict,
            reasons=tuple(dict.fromkeys(r for r in reasons if r)),
            flagged=flagged,
            share=share,
            reason_summary=summary,
            action=action,
            levels=levels,
        )
    return verdicts


@dataclass(frozen=True)
class _ModelSide:
    """What the model says about one feature: its slope, or its level contrasts."""

    slope: float
    slope_se: float
    contrasts: tuple[LevelContrast, ...] = ()
    note: str = ""


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
) -> tuple[Verdict, str]:
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
    tuple of (Verdict, str)
        The verdict and its reason, stating both numbers, their ratio and the rule.

    Examples
    --------
    >>> verdict, reason = compare(0.0215, 0.001, 0.0385, 0.0036, factor=1.5,
    ...                           ci=(0.0315, 0.0455))
    >>> str(verdict)
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
            Verdict.SIGN_CONFLICT,
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
    larger = Verdict.OVER_ATTRIBUTED if abs(model) > abs(effect) else Verdict.UNDER_ATTRIBUTED
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
        Verdict.SUPPORTED,
        f"{numbers}; within the {tolerance} and within both uncertainties (difference "
        f"{gap:.3g} <= {margin:.3g})",
    )


def _decide(
    effect: FeatureEffect,
    model: _ModelSide,
    refutations: Refutations | None,
    factor: float,
) -> tuple[Verdict, str, str, tuple[LevelVerdict, ...]]:
    """The verdict, the sentence that grounds it, the few words the summary starts with
    (``""``: the verdict's usual ground) and, for a categorical feature, the level verdicts."""
    name = effect.feature
    if effect.status == EffectStatus.ERROR:
        return Verdict.ERROR, f"estimation failed: {effect.message}", "", ()
    if effect.status == EffectStatus.NO_PATH:
        return (
            Verdict.NO_CAUSAL_PATH,
            f"the graph has no directed path from {name!r} to the outcome",
            "",
            (),
        )
    if effect.status == EffectStatus.NOT_IDENTIFIABLE:
        latents = effect.identification.blocking_latents
        because = f": latent confounder(s) {_list(latents)} block it" if latents else ""
        return (
            Verdict.NOT_IDENTIFIABLE,
            f"the effect is not identifiable from the graph{because}",
            "",
            (),
        )
    e = effect.estimate
    assert e is not None  # status "estimated" always carries an estimate
    unbounded = _unbounded_set(e)
    if unbounded:
        return Verdict.INCONCLUSIVE, unbounded, unbounded, ()

    # Calibration checks of the fast path fail only by chance: never fragile by themselves.
    failed = refutations.failed_evidence(name) if refutations is not None else ()
    if failed:
        return (
            Verdict.FRAGILE,
            f"the estimate failed the refutation(s) {_list(failed)} at the corrected level",
            "",
            (),
        )
    interval = f"{e.estimate:.4g} (95% CI {e.ci_low:.4g} to {e.ci_high:.4g})"
    if effect.levels:
        return _decide_levels(effect, model, factor)
    if e.ci_low <= 0.0 <= e.ci_high:
        return (
            Verdict.NO_DETECTABLE_EFFECT,
            f"the causal effect {interval} is not distinguishable from zero",
            "",
            (),
        )
    if not math.isfinite(model.slope):
        ground = "the model's slope is undefined, so its attribution cannot be compared"
        return Verdict.INCONCLUSIVE, f"causal effect {interval}; {ground}", ground, ()
    verdict, reason = compare(
        model.slope, model.slope_se, e.estimate, e.stderr, factor=factor,
        ci=(e.ci_low, e.ci_high),
    )
    return verdict, reason, reason, ()


def _unbounded_set(e: Any) -> str:
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


def _decide_levels(
    effect: FeatureEffect, model: _ModelSide, factor: float
) -> tuple[Verdict, str, str, tuple[LevelVerdict, ...]]:
    """A categorical feature: each level's model contrast against its causal level effect.

    A level's effect is detectable when it excludes zero at the family-wise 5% level
    (Bonferroni over the levels, as the feature's summary interval); detectable levels are
    compared by :func:`compare` with their own 95% interval (the one the report shows), and
    the feature takes the worst of their verdicts in the reading order (``supported`` <
    ``over_attributed`` < ``under_attributed`` < ``sign_conflict`` < ``inconclusive``;
    among equals the level whose contrast is furthest from its effect, as a ratio). No
    detectable level: ``no_detectable_effect``. A detectable level without a model contrast:
    ``inconclusive``.
    """
    n = len(effect.levels)
    # Detection at the family-wise level, as the feature's summary interval; the comparison
    # itself at each level's own 95% interval, the one the per-level table shows.
    z_family = NormalDist().inv_cdf(1.0 - _EFFECT_LEVEL / 2 / n)
    contrasts = {c.level: c for c in model.contrasts}
    levels = []
    badness: dict[str, float] = {}
    for level in effect.levels:
        e = level.estimate
        if e is None:
            levels.append(
                LevelVerdict(level.level, level.reference, Verdict.ERROR,
                             f"estimation failed: {level.message}")
            )
            continue
        interval = f"{e.estimate:.3g} [{e.ci_low:.3g}, {e.ci_high:.3g}]"
        if abs(e.estimate) <= z_family * e.stderr or e.p_value * n >= _EFFECT_LEVEL:
            levels.append(
                LevelVerdict(
                    level.level, level.reference, Verdict.NO_DETECTABLE_EFFECT,
                    f"the effect {interval} is not distinguishable from zero at the family-wise "
                    f"5% level (Bonferroni over {n} levels: p x {n} = "
                    f"{min(1.0, e.p_value * n):.2g})",
                )
            )
            continue
        c = contrasts.get(level.level)
        if c is None:
            why = model.note or "the model's contrast of this level was not computed"
            levels.append(
                LevelVerdict(level.level, level.reference, Verdict.INCONCLUSIVE,
                             f"the effect {interval} has no model contrast to compare: {why}")
            )
            continue
        verdict, reason = compare(
            c.estimate, c.stderr, e.estimate, e.stderr, factor=factor,
            ci=(e.ci_low, e.ci_high), what="contrast",
        )
        badness[level.level] = abs(math.log(abs(c.estimate / e.estimate) or 1e-12))
        levels.append(LevelVerdict(level.level, level.reference, verdict, reason))
    levels_t = tuple(levels)
    order = list(Verdict)
    detected = [lv for lv in levels_t if lv.verdict in _DETECTED | {Verdict.INCONCLUSIVE}]
    scope = f"{n} level contrasts against {effect.levels[0].reference!r}"
    if not detected:
        return (
            Verdict.NO_DETECTABLE_EFFECT,
            f"no level's effect is distinguishable from zero at the family-wise 5% level "
            f"({scope}); no verdict is read from the model's contrasts",
            "",
            levels_t,
        )
    # The worst verdict; among equals, the level whose contrast is furthest from its effect.
    worst = max(detected, key=lambda lv: (order.index(lv.verdict), badness.get(lv.level, 0.0)))
    agree = sum(lv.verdict is Verdict.SUPPORTED for lv in levels_t)
    ground = (
        f"level {worst.level!r} vs {worst.reference!r}: {worst.reason} "
        f"({agree} of {n} levels supported; the worst level decides)"
    )
    return worst.verdict, f"judged level by level ({scope}); {ground}", ground, levels_t


def _refuter_note(effect: FeatureEffect, levels: tuple[LevelVerdict, ...]) -> str:
    """Categorical features: say plainly that no refuter ran on the level effects."""
    if not effect.levels:
        return ""
    return (
        "no refuter ran on the level effects: they are unchallenged (the refuters challenge "
        "one effect per feature)"
    )


_GROUNDS = {
    Verdict.SUPPORTED: "attribution matches the causal effect",
    Verdict.OVER_ATTRIBUTED: "attribution exceeds the causal effect",
    Verdict.UNDER_ATTRIBUTED: "attribution falls short of the causal effect",
    Verdict.SIGN_CONFLICT: "attribution has the opposite sign to the effect",
    Verdict.FRAGILE: "estimate failed a refuter",
    Verdict.LIMITED_OVERLAP: "the data cannot compare like with like (overlap)",
    Verdict.INCONCLUSIVE: "the data cannot tell",
    Verdict.NO_DETECTABLE_EFFECT: "no detectable causal effect",
    Verdict.NO_CAUSAL_PATH: "no causal path",
    Verdict.NOT_IDENTIFIABLE: "effect not identifiable",
    Verdict.ERROR: "estimation failed",
}


def advise(
    feature: str,
    verdict: Verdict | str,
    outcome: str,
    diagnosis: FeatureSetDiagnosis | None = None,
    *,
    flagged: bool,
    effect: FeatureEffect | None = None,
    ground: str = "",
    fixed: bool = False,
) -> tuple[str, str | None]:
    """The reason in a few words and what to do, from the verdict and the structural diagnosis.

    The rules are in ``docs/verdicts.md`` ("Reason summary and action"). In short: the summary
    is the verdict's ground, then (unless ``supported``) the first structural reason that holds
    (leakage, proxy of missing confounders, proxy of latent ones, mediators in the model,
    collider bias). The
    action is, in order: fix an error; drop a leaking feature; for an unflagged feature, say how
    to read an under- or over-attribution (None otherwise); for a flagged one, add the missing
    confounder, collect the latent one, or do not act on the feature.

    Parameters
    ----------
    feature : str
        The model feature.
    verdict : Verdict or str
        Its verdict.
    outcome : str
        The outcome's name.
    diagnosis : FeatureSetDiagnosis, optional
        The model's feature set against the DAG (``CausalGraph.feature_set_diagnosis``);
        None: no structural reason is known.
    flagged : bool
        Whether the attribution is flagged.
    effect : FeatureEffect, optional
        For the latents that block identification.
    ground : str, default ""
        The verdict's ground in words when the judge has a specific one (the one rule's
        comparison with its numbers, the cause of an ``inconclusive``), so that the summary
        and the first reason say the same; ``""``: the verdict's usual few words.
    fixed : bool, default False
        The feature cannot be changed (the ``fixed`` option): the action never proposes
        acting on it.

    Returns
    -------
    tuple of (str, str or None)
        ``(reason_summary, action)``; ``action`` is None when nothing needs doing.

    Examples
    --------
    >>> from causalinterp.graph import CausalGraph
    >>> graph = CausalGraph.parse("income -> device; income -> churn; tenure -> churn")
    >>> diagnosis = graph.feature_set_diagnosis(
    ...     "device", "churn", ["device", "tenure"], {"income", "device", "tenure", "churn"}
    ... )
    >>> summary, action = advise("device", "no_causal_path", "churn", diagnosis, flagged=True)
    >>> summary
    'no causal path to churn; proxy of income'
    >>> print(action)  # doctest: +NORMALIZE_WHITESPACE
    Add income to the model and do not act on device to change churn: its
    attribution is partly income's.
    """
    verdict = Verdict(verdict)
    d = diagnosis
    latents = tuple(effect.identification.blocking_latents) if effect is not None else ()
    ground = ground or _GROUNDS[verdict]
    if verdict is Verdict.NO_CAUSAL_PATH:
        ground = f"no causal path to {outcome}"
    elif verdict is Verdict.NOT_IDENTIFIABLE and latents:
        ground = f"effect not identifiable (latent {_plain(latents)})"
    structural = ""
    # A supported row's numbers agree: its structural caveats stay in the reasons, not here.
    if d is not None and verdict is not Verdict.SUPPORTED:
        if d.outcome_descendant:
            structural = f"leakage: a consequence of {outcome}"
        elif d.missing_confounders:
            structural = f"proxy of {_plain(d.missing_confounders)}"
        elif d.latent_confounders and verdict is not Verdict.NOT_IDENTIFIABLE:
            structural = f"proxy of unobserved {_plain(d.latent_confounders)}"
        elif d.mediators_in_model:
            structural = f"effect carried by {_plain(d.mediators_in_model)}"
        elif d.colliders_in_model:
            structural = f"collider bias through {_plain(d.colliders_in_model)}"
    summary = f"{ground}; {structural}" if structural else ground
    if fixed:
        return summary, _fixed_action(feature, verdict, outcome, d, flagged=flagged)
    return summary, _action(feature, verdict, outcome, d, flagged=flagged, latents=latents)


def _fixed_action(
    feature: str, verdict: Verdict, outcome: str, d: FeatureSetDiagnosis | None, *, flagged: bool
) -> str | None:
    """The action for a feature that cannot be changed: never a lever, structural fixes only."""
    f = feature
    if verdict is Verdict.ERROR:
        return f"Fix the estimation error for {f} (see its section) and run the analysis again."
    if d is not None and d.outcome_descendant:
        return f"Drop {f} from the model: it is a consequence of {outcome} and leaks it."
    if not flagged:
        return None
    if d is not None and d.missing_confounders:
        names = _plain(d.missing_confounders)
        return f"Add {names} to the model: {f}'s attribution is partly {names}'s."
    return (
        f"{f} is fixed (not a lever): read its attribution as a predictor of {outcome}, "
        "not as a cause."
    )


def _action(
    feature: str,
    verdict: Verdict,
    outcome: str,
    d: FeatureSetDiagnosis | None,
    *,
    flagged: bool,
    latents: tuple[str, ...],
) -> str | None:
    """One sentence: what to do; the order of the rules is documented in docs/verdicts.md."""
    f = feature
    if verdict is Verdict.ERROR:
        return f"Fix the estimation error for {f} (see its section) and run the analysis again."
    if d is not None and d.outcome_descendant:
        return f"Drop {f} from the model: it is a consequence of {outcome} and leaks it."
    if not flagged:
        if verdict is Verdict.UNDER_ATTRIBUTED:
            if d is not None and d.mediators_in_model:
                them = "it" if len(d.mediators_in_model) == 1 else "them"
                return (
                    f"Act on {f} itself, not on {_plain(d.mediators_in_model)}: its effect on "
                    f"{outcome} runs through {them}, so the model's attribution hides it."
                )
            return (
                f"Do not judge {f} by its attribution: its causal effect on {outcome} is larger "
                "than the model shows."
            )
        if verdict is Verdict.OVER_ATTRIBUTED:
            return (
                f"Do not expect changing {f} to move {outcome} as much as its attribution suggests."
            )
        return None
    if d is not None and d.missing_confounders:
        names = _plain(d.missing_confounders)
        owner = f"{names}'s" if len(d.missing_confounders) == 1 else "theirs"
        return (
            f"Add {names} to the model and do not act on {f} to change {outcome}: its "
            f"attribution is partly {owner}."
        )
    unobserved = latents or (d.latent_confounders if d is not None else ())
    if verdict is Verdict.INCONCLUSIVE:
        measure = f"; measuring {_plain(unobserved)} would let it be told" if unobserved else ""
        return (
            f"Do not act on {f} to change {outcome} on this evidence: the data cannot tell "
            f"its effect (see its reason){measure}."
        )
    if unobserved:
        return (
            f"Do not act on {f} to change {outcome}; collect {_plain(unobserved)} (not measured) "
            "to separate its effect."
        )
    if d is not None and d.colliders_in_model:
        return (
            f"Do not read {f}'s attribution as causal: conditioning on "
            f"{_plain(d.colliders_in_model)} biases it; consider removing it from the model."
        )
    if verdict is Verdict.SIGN_CONFLICT:
        return (
            f"Do not act on {f} as the model suggests: changing it moves {outcome} the "
            "opposite way."
        )
    if verdict is Verdict.FRAGILE:
        return f"Do not act on {f} until its effect survives the refuters; check the DAG near it."
    if verdict is Verdict.LIMITED_OVERLAP:
        return (
            f"Do not act on {f} on this estimate: trim to the overlapping rows, change the "
            "estimand or drop a redundant control (see its reason)."
        )
    if verdict is Verdict.NO_CAUSAL_PATH:
        return f"Do not act on {f} to change {outcome}: the DAG gives it no effect."
    if verdict is Verdict.NO_DETECTABLE_EFFECT:
        return f"Do not act on {f} to change {outcome}: no causal effect was detected."
    return f"Do not act on {f} to change {outcome} until its effect is identified."


def _plain(names) -> str:
    return ", ".join(str(n) for n in names)


def _structural_reasons(
    feature: str, outcome: str, diagnosis: FeatureSetDiagnosis, effect: FeatureEffect
) -> list[str]:
    reasons = []
    if diagnosis.outcome_descendant:
        reasons.append(
            f"{feature!r} is a consequence of the outcome {outcome!r} (a descendant of it): its "
            "attribution reflects leakage or reverse causation"
        )
    if diagnosis.missing_confounders:
        reasons.append(
            f"confounder(s) {_list(diagnosis.missing_confounders)} of {feature!r} and the outcome "
            f"are not model features: the model can use {feature!r} as their proxy"
        )
    if diagnosis.latent_confounders and effect.status != EffectStatus.NOT_IDENTIFIABLE:
        reasons.append(
            f"latent confounder(s) {_list(diagnosis.latent_confounders)} of {feature!r} and the "
            "outcome are unobserved: the model's attribution can absorb their effect"
        )
    if diagnosis.mediators_in_model:
        reasons.append(
            f"mediator(s) {_list(diagnosis.mediators_in_model)} of {feature!r} are also model "
            f"features: the model sees only the direct effect of {feature!r}, not its total effect"
        )
    if diagnosis.colliders_in_model:
        reasons.append(
            f"conditioning on model feature(s) {_list(diagnosis.colliders_in_model)} opens a "
            f"non-causal (collider) path between {feature!r} and the outcome"
        )
    return reasons


def _list(names) -> str:
    return ", ".join(repr(n) for n in names)
