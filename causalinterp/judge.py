"""Stage: does each attribution have causal support, and if not, why.

The rules are documented in ``docs/verdicts.md``; in short, per feature:

========================  ==============  ===================================================
verdict                   causal_support  when
========================  ==============  ===================================================
``no_causal_path``        false           no directed path from the feature to the outcome
``not_identifiable``      null            the DAG and observed columns do not identify it
``error``                 null            estimation failed; the message is in ``reasons``
``fragile``               null            identified, but a refuter broke the estimate
``no_detectable_effect``  false           identified; the 95% CI includes zero
``sign_conflict``         false           significant effect; attribution slope opposite
``over_attributed``       true            same sign; slope > factor x the CI's far end
``under_attributed``      true            same sign; slope < the CI's near end / factor
``supported``             true            same sign and a commensurate slope
========================  ==============  ===================================================

A slope counts as having a sign only if its magnitude exceeds ``ZERO_SLOPE`` times the
effect's; a smaller slope is treated as zero (``under_attributed`` for a significant effect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from causalinterp.attribute.attributions import Attributions
from causalinterp.data import CheckedData
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.graph import CausalGraph, FeatureSetDiagnosis
from causalinterp.refute.refutation import Refutations

#: A feature's attribution is material when its share of total mean |SHAP| reaches this.
MATERIAL_SHARE = 0.05
#: Slope outside the effect's CI by more than this factor: over- or under-attributed.
ATTRIBUTION_FACTOR = 1.5
#: A slope smaller than this fraction of the effect's magnitude has no sign (it is zero).
ZERO_SLOPE = 0.1

VERDICTS = (
    "supported",
    "over_attributed",
    "under_attributed",
    "no_causal_path",
    "no_detectable_effect",
    "sign_conflict",
    "not_identifiable",
    "fragile",
    "error",
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
    verdict : str
        One of :data:`VERDICTS`.
    reasons : tuple of str
        Plain-words explanation: the verdict's ground first, then the structural diagnosis of
        the model's feature set against the DAG.
    flagged : bool
        The attribution is material and ``causal_support`` is not true.
    share : float
        The feature's share of total mean |SHAP|.
    """

    feature: str
    causal_support: bool | None
    verdict: str
    reasons: tuple[str, ...]
    flagged: bool
    share: float = math.nan


def judge(
    effects: Effects,
    attributions: Attributions,
    graph: CausalGraph,
    checked: CheckedData,
    refutations: Refutations | None = None,
    *,
    material_share: float = MATERIAL_SHARE,
    attribution_factor: float = ATTRIBUTION_FACTOR,
) -> dict[str, FeatureVerdict]:
    """Give every model feature a verdict, its reasons and a flag.

    Parameters
    ----------
    effects, attributions, refutations
        The results of the earlier stages.
    graph : CausalGraph
        The DAG, for the structural diagnosis.
    checked : CheckedData
        For the outcome, the model's features and which nodes are observed.
    material_share : float, default 0.05
        Share of total mean |SHAP| from which an attribution is material.
    attribution_factor : float, default 1.5
        How far outside the effect's CI the slope must lie to be over/under-attributed.

    Returns
    -------
    dict
        Feature name to :class:`FeatureVerdict`, in the model's feature order.
    """
    total = sum(a.mean_abs_shap for a in attributions.by_feature.values())
    verdicts = {}
    for feature in checked.features:
        effect = effects.by_feature[feature]
        attribution = attributions.by_feature[feature]
        share = attribution.mean_abs_shap / total if total > 0 else 0.0
        verdict, support, ground = _decide(
            effect, attribution.slope, refutations, attribution_factor
        )
        diagnosis = graph.feature_set_diagnosis(
            feature, checked.outcome, checked.features, checked.observed
        )
        reasons = (ground, *_structural_reasons(feature, checked.outcome, diagnosis, effect))
        verdicts[feature] = FeatureVerdict(
            feature=feature,
            causal_support=support,
            verdict=verdict,
            reasons=tuple(dict.fromkeys(r for r in reasons if r)),
            flagged=share >= material_share and support is not True,
            share=share,
        )
    return verdicts


def _decide(
    effect: FeatureEffect,
    slope: float,
    refutations: Refutations | None,
    factor: float,
) -> tuple[str, bool | None, str]:
    """The verdict, causal support and the sentence that grounds them."""
    name = effect.feature
    if effect.status == "error":
        return "error", None, f"estimation failed: {effect.message}"
    if effect.status == "no_path":
        return (
            "no_causal_path",
            False,
            f"the graph has no directed path from {name!r} to the outcome",
        )
    if effect.status == "not_identifiable":
        latents = effect.identification.blocking_latents
        because = f": latent confounder(s) {_list(latents)} block it" if latents else ""
        return "not_identifiable", None, f"the effect is not identifiable from the graph{because}"

    failed = refutations.failed(name) if refutations is not None else ()
    if failed:
        return (
            "fragile",
            None,
            f"the estimate failed the refutation(s) {_list(failed)} at the corrected level",
        )
    e = effect.estimate
    assert e is not None  # status "estimated" always carries an estimate
    interval = f"{e.estimate:.4g} (95% CI {e.ci_low:.4g} to {e.ci_high:.4g})"
    if e.ci_low <= 0.0 <= e.ci_high:
        return (
            "no_detectable_effect",
            False,
            f"the causal effect {interval} is not distinguishable from zero",
        )
    if not math.isfinite(slope):
        return "supported", True, f"causal effect {interval}; the attribution slope is undefined"
    near, far = sorted((abs(e.ci_low), abs(e.ci_high)))
    signed = abs(slope) > ZERO_SLOPE * abs(e.estimate)
    if signed and slope * e.estimate < 0:
        return (
            "sign_conflict",
            False,
            f"the model's implied effect (slope {slope:.4g}) has the opposite sign to the causal "
            f"effect {interval}",
        )
    if abs(slope) > factor * far:
        return (
            "over_attributed",
            True,
            f"the model's implied effect (slope {slope:.4g}) exceeds the causal effect "
            f"{interval} by more than {factor:g}x",
        )
    if abs(slope) < near / factor:
        return (
            "under_attributed",
            True,
            f"the model's implied effect (slope {slope:.4g}) falls short of the causal effect "
            f"{interval} by more than {factor:g}x",
        )
    return (
        "supported",
        True,
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
    if diagnosis.latent_confounders and effect.status != "not_identifiable":
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
