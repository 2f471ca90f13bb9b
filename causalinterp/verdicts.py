"""Stage: does each attribution have causal support, and if not, why.

The rules are documented in ``docs/verdicts.md``; in short, per feature, in the order they
are applied (the first that holds decides):

========================  ==============  ===================================================
verdict                   causal_support  when
========================  ==============  ===================================================
``error``                 null            estimation failed; the message is in ``reasons``
``no_causal_path``        false           no directed path from the feature to the outcome
``not_identifiable``      null            the DAG and observed columns do not identify it
``limited_overlap``       null            identified, but the data cannot compare like with like
``inconclusive``          null            the data cannot tell: an unbounded Anderson-Rubin
                                          set, or (after ``no_detectable_effect``) no model
                                          slope or contrast to compare
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
from typing import TYPE_CHECKING, Any

from causalinterp import options
from causalinterp._advice import action, fixed_action, plain, quoted, structural_reasons
from causalinterp._comparison import (
    EFFECT_LEVEL,
    ZERO_SLOPE,
    compare,
    judge_levels,
    unbounded_set,
)
from causalinterp.attribute.attributions import Attributions
from causalinterp.attribute.contrasts import LevelContrast
from causalinterp.data import CheckedData
from causalinterp.errors import OptionError
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.estimate.enums import EffectStatus
from causalinterp.estimate.estimands import population_slope
from causalinterp.estimate.instruments import instrument_reasons
from causalinterp.estimate.overlap import overlap_action, overlap_problem
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
    if v in _DETECTED and not (excludes_zero and e.p_value < EFFECT_LEVEL):
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
    curve_results: Any = None,
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
    curve_results : Curves, optional
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
            *structural_reasons(feature, checked.outcome, diagnosis, effect),
            *instrument_reasons(effect),  # IV/front-door assumptions; weak instruments
            calibration_note(refutations, feature),  # failed fast-path calibration checks
            # The model's curve's shape against the causal curve's.
            curve_results.reason(feature) if curve_results is not None else "",
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
        if verdict is Verdict.LIMITED_OVERLAP:  # a decided treatment: the rule is the cause
            decided = overlap_action(getattr(effects, "overlap", {}), feature)
            summary, action = decided or (summary, action)
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
        because = f": latent confounder(s) {quoted(latents)} block it" if latents else ""
        return (
            Verdict.NOT_IDENTIFIABLE,
            f"the effect is not identifiable from the graph{because}",
            "",
            (),
        )
    e = effect.estimate
    assert e is not None  # status "estimated" always carries an estimate
    unbounded = unbounded_set(e)
    if unbounded:
        return Verdict.INCONCLUSIVE, unbounded, unbounded, ()

    # Calibration checks of the fast path fail only by chance: never fragile by themselves.
    failed = refutations.failed_evidence(name) if refutations is not None else ()
    if failed:
        return (
            Verdict.FRAGILE,
            f"the estimate failed the refutation(s) {quoted(failed)} at the corrected level",
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
    name, reason = compare(
        model.slope, model.slope_se, e.estimate, e.stderr, factor=factor, ci=(e.ci_low, e.ci_high)
    )
    return Verdict(name), reason, reason, ()


def _decide_levels(
    effect: FeatureEffect, model: _ModelSide, factor: float
) -> tuple[Verdict, str, str, tuple[LevelVerdict, ...]]:
    """A categorical feature, level by level (:func:`causalinterp._comparison.judge_levels`)."""
    judged, name, ground = judge_levels(
        effect.levels, {c.level: c for c in model.contrasts}, factor=factor, note=model.note
    )
    levels = tuple(LevelVerdict(*row) for row in judged)
    scope = f"{len(levels)} level contrasts against {effect.levels[0].reference!r}"
    if not ground:
        return (
            Verdict.NO_DETECTABLE_EFFECT,
            f"no level's effect is distinguishable from zero at the family-wise 5% level "
            f"({scope}); no verdict is read from the model's contrasts",
            "",
            levels,
        )
    return Verdict(name), f"judged level by level ({scope}); {ground}", ground, levels


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
        ground = f"effect not identifiable (latent {plain(latents)})"
    structural = ""
    # A supported row's numbers agree: its structural caveats stay in the reasons, not here.
    if d is not None and verdict is not Verdict.SUPPORTED:
        if d.outcome_descendant:
            structural = f"leakage: a consequence of {outcome}"
        elif d.missing_confounders:
            structural = f"proxy of {plain(d.missing_confounders)}"
        elif d.latent_confounders and verdict is not Verdict.NOT_IDENTIFIABLE:
            structural = f"proxy of unobserved {plain(d.latent_confounders)}"
        elif d.mediators_in_model:
            structural = f"effect carried by {plain(d.mediators_in_model)}"
        elif d.colliders_in_model:
            structural = f"collider bias through {plain(d.colliders_in_model)}"
    summary = f"{ground}; {structural}" if structural else ground
    if fixed:
        return summary, fixed_action(feature, str(verdict), outcome, d, flagged=flagged)
    return summary, action(feature, str(verdict), outcome, d, flagged=flagged, latents=latents)
