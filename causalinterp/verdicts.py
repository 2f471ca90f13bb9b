"""Stage: does each attribution have causal support, and if not, why.

The rules are documented in ``docs/verdicts.md``; in short, per feature, in the order they
are applied (the first that holds decides):

========================  ==============  ===================================================
verdict                   causal_support  when
========================  ==============  ===================================================
``error``                 null            estimation failed; the message is in ``reasons``
``no_causal_path``        false           no directed path from the feature to the outcome
``not_identifiable``      null            the DAG and observed columns do not identify it
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
from typing import TYPE_CHECKING

from causalinterp import options
from causalinterp.attribute.attributions import Attributions
from causalinterp.data import CheckedData
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.estimate.enums import EffectStatus
from causalinterp.graph import CausalGraph, FeatureSetDiagnosis

if TYPE_CHECKING:
    from causalinterp.refute.results import Refutations

__all__ = ["ZERO_SLOPE", "FeatureVerdict", "Verdict", "contradiction", "judge"]

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
    >>> verdicts["premium_device"].verdict
    <Verdict.NO_CAUSAL_PATH: 'no_causal_path'>
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
        verdict, ground = _decide(effect, attribution.slope, refutations, attribution_factor)
        diagnosis = graph.feature_set_diagnosis(
            feature, checked.outcome, checked.features, checked.observed
        )
        reasons = (ground, *_structural_reasons(feature, checked.outcome, diagnosis, effect))
        verdicts[feature] = FeatureVerdict(
            feature=feature,
            causal_support=verdict.causal_support,
            verdict=verdict,
            reasons=tuple(dict.fromkeys(r for r in reasons if r)),
            flagged=share >= material_share and verdict.causal_support is not True,
            share=share,
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

    failed = refutations.failed(name) if refutations is not None else ()
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
