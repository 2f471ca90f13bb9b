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
``fragile``               null            identified, but a refuter broke the estimate
``no_detectable_effect``  false           identified; the 95% CI includes zero
``sign_conflict``         false           significant effect; attribution slope opposite
``over_attributed``       true            same sign; slope > factor x the CI's far end
``under_attributed``      true            same sign; slope < the CI's near end / factor
``supported``             true            same sign and a commensurate slope
========================  ==============  ===================================================

A slope counts as having a sign only if its magnitude exceeds ``ZERO_SLOPE`` times the
effect's; a smaller slope is treated as zero (``under_attributed`` for a significant effect).
The thresholds ``material_share`` and ``attribution_factor`` are options (``causalinterp.options``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from causalinterp import options
from causalinterp.attribute.attributions import Attributions
from causalinterp.data import CheckedData
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.estimate.enums import EffectStatus
from causalinterp.estimate.estimands import population_slope
from causalinterp.estimate.instruments import instrument_reasons
from causalinterp.estimate.overlap import overlap_action, overlap_problem
from causalinterp.graph import CausalGraph, FeatureSetDiagnosis
from causalinterp.refute.roles import calibration_note

if TYPE_CHECKING:
    from causalinterp.refute.results import Refutations

__all__ = ["ZERO_SLOPE", "FeatureVerdict", "Verdict", "advise", "contradiction", "judge"]

#: A slope smaller than this fraction of the effect's magnitude has no sign (it is zero).
ZERO_SLOPE = 0.1
#: The level of the effects' confidence intervals (95%): a verdict that needs a detectable
#: effect needs a p-value below it.
_EFFECT_LEVEL = 0.05
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
    p-value below 0.05 (``no_detectable_effect`` the opposite). A report uses it to refuse
    rows that contradict themselves.

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
    curves: Any = None,
) -> dict[str, FeatureVerdict]:
    """Give every model feature a verdict, its reasons and a flag.

    Parameters
    ----------
    effects : Effects
        The effects stage's result (:func:`causalinterp.estimate.estimate_effects`).
    attributions : Attributions
        The attribution stage's result (:func:`causalinterp.attribute.attribute_model`).
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
        How far outside the effect's CI the slope must lie to be over/under-attributed
        (at least 1).
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
        For an invalid ``material_share`` or ``attribution_factor``.

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
        {"material_share": material_share, "attribution_factor": attribution_factor}
    )
    material_share = checked_options["material_share"]
    attribution_factor = checked_options["attribution_factor"]
    total = sum(a.mean_abs_shap for a in attributions.by_feature.values())
    verdicts = {}
    for feature in checked.features:
        effect = effects.by_feature[feature]
        attribution = attributions.by_feature[feature]
        share = attribution.mean_abs_shap / total if total > 0 else 0.0
        # The attribution on the effect's population (att/atc); NaN: over all rows.
        slope = population_slope(effects, attributions, checked, feature)
        slope = attribution.slope if math.isnan(slope) else slope
        verdict, ground = _decide(effect, slope, refutations, attribution_factor)
        problem = overlap_problem(getattr(effects, "overlap", {}), feature)
        if problem and verdict.effect_status is EffectStatus.ESTIMATED:
            verdict, ground = Verdict.LIMITED_OVERLAP, problem
        diagnosis = graph.feature_set_diagnosis(
            feature, checked.outcome, checked.features, checked.observed
        )
        reasons = (
            ground,
            *_structural_reasons(feature, checked.outcome, diagnosis, effect),
            *instrument_reasons(effect),  # IV/front-door assumptions; weak instruments
            calibration_note(refutations, feature),  # failed fast-path calibration checks
            curves.reason(feature) if curves is not None else "",  # shape vs the causal curve
        )
        flagged = share >= material_share and verdict.causal_support is not True
        summary, action = advise(
            feature, verdict, checked.outcome, diagnosis, flagged=flagged, effect=effect
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
        )
    return verdicts


def _decide(
    effect: FeatureEffect,
    slope: float,
    refutations: Refutations | None,
    factor: float,
) -> tuple[Verdict, str]:
    """The verdict and the sentence that grounds it."""
    name = effect.feature
    if effect.status == EffectStatus.ERROR:
        return Verdict.ERROR, f"estimation failed: {effect.message}"
    if effect.status == EffectStatus.NO_PATH:
        return (
            Verdict.NO_CAUSAL_PATH,
            f"the graph has no directed path from {name!r} to the outcome",
        )
    if effect.status == EffectStatus.NOT_IDENTIFIABLE:
        latents = effect.identification.blocking_latents
        because = f": latent confounder(s) {_list(latents)} block it" if latents else ""
        return Verdict.NOT_IDENTIFIABLE, f"the effect is not identifiable from the graph{because}"

    # Calibration checks of the fast path fail only by chance: never fragile by themselves.
    failed = refutations.failed_evidence(name) if refutations is not None else ()
    if failed:
        return (
            Verdict.FRAGILE,
            f"the estimate failed the refutation(s) {_list(failed)} at the corrected level",
        )
    e = effect.estimate
    assert e is not None  # status "estimated" always carries an estimate
    interval = f"{e.estimate:.4g} (95% CI {e.ci_low:.4g} to {e.ci_high:.4g})"
    if e.ci_low <= 0.0 <= e.ci_high:
        return (
            Verdict.NO_DETECTABLE_EFFECT,
            f"the causal effect {interval} is not distinguishable from zero",
        )
    if not math.isfinite(slope):
        return Verdict.SUPPORTED, f"causal effect {interval}; the attribution slope is undefined"
    near, far = sorted((abs(e.ci_low), abs(e.ci_high)))
    signed = abs(slope) > ZERO_SLOPE * abs(e.estimate)
    if signed and slope * e.estimate < 0:
        return (
            Verdict.SIGN_CONFLICT,
            f"the model's implied effect (slope {slope:.4g}) has the opposite sign to the causal "
            f"effect {interval}",
        )
    if abs(slope) > factor * far:
        return (
            Verdict.OVER_ATTRIBUTED,
            f"the model's implied effect (slope {slope:.4g}) exceeds the causal effect "
            f"{interval} by more than {factor:g}x",
        )
    if abs(slope) < near / factor:
        return (
            Verdict.UNDER_ATTRIBUTED,
            f"the model's implied effect (slope {slope:.4g}) falls short of the causal effect "
            f"{interval} by more than {factor:g}x",
        )
    return (
        Verdict.SUPPORTED,
        f"the model's implied effect (slope {slope:.4g}) agrees with the causal effect {interval}",
    )


_GROUNDS = {
    Verdict.SUPPORTED: "attribution matches the causal effect",
    Verdict.OVER_ATTRIBUTED: "attribution exceeds the causal effect",
    Verdict.UNDER_ATTRIBUTED: "attribution falls short of the causal effect",
    Verdict.SIGN_CONFLICT: "attribution has the opposite sign to the effect",
    Verdict.FRAGILE: "estimate failed a refuter",
    Verdict.LIMITED_OVERLAP: "the data cannot compare like with like (overlap)",
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
    ground = _GROUNDS[verdict]
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
    return summary, _action(feature, verdict, outcome, d, flagged=flagged, latents=latents)


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
