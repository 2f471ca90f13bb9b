"""What to do about a verdict, and the structural reasons beside it.

The actions and the structural reasons of ``verdicts.py``, on verdict names (a
:class:`~causalinterp.verdicts.Verdict` is its plain string). The order of the rules is
documented in ``docs/verdicts.md`` ("Reason summary and action").
"""

from __future__ import annotations

from causalinterp.estimate.effects import FeatureEffect
from causalinterp.estimate.enums import EffectStatus
from causalinterp.graph import FeatureSetDiagnosis

__all__ = ["action", "fixed_action", "plain", "quoted", "structural_reasons"]


def fixed_action(
    feature: str, verdict: str, outcome: str, d: FeatureSetDiagnosis | None, *, flagged: bool
) -> str | None:
    """The action for a feature that cannot be changed: never a lever, structural fixes only."""
    f = feature
    if verdict == "error":
        return f"Fix the estimation error for {f} (see its section) and run the analysis again."
    if d is not None and d.outcome_descendant:
        return f"Drop {f} from the model: it is a consequence of {outcome} and leaks it."
    if not flagged:
        return None
    if d is not None and d.missing_confounders:
        names = plain(d.missing_confounders)
        return f"Add {names} to the model: {f}'s attribution is partly {names}'s."
    return (
        f"{f} is fixed (not a lever): read its attribution as a predictor of {outcome}, "
        "not as a cause."
    )


def action(
    feature: str,
    verdict: str,
    outcome: str,
    d: FeatureSetDiagnosis | None,
    *,
    flagged: bool,
    latents: tuple[str, ...],
) -> str | None:
    """One sentence: what to do; the order of the rules is documented in docs/verdicts.md."""
    f = feature
    if verdict == "error":
        return f"Fix the estimation error for {f} (see its section) and run the analysis again."
    if d is not None and d.outcome_descendant:
        return f"Drop {f} from the model: it is a consequence of {outcome} and leaks it."
    if not flagged:
        if verdict == "under_attributed":
            if d is not None and d.mediators_in_model:
                them = "it" if len(d.mediators_in_model) == 1 else "them"
                return (
                    f"Act on {f} itself, not on {plain(d.mediators_in_model)}: its effect on "
                    f"{outcome} runs through {them}, so the model's attribution hides it."
                )
            return (
                f"Do not judge {f} by its attribution: its causal effect on {outcome} is larger "
                "than the model shows."
            )
        if verdict == "over_attributed":
            return (
                f"Do not expect changing {f} to move {outcome} as much as its attribution suggests."
            )
        return None
    if d is not None and d.missing_confounders:
        names = plain(d.missing_confounders)
        owner = f"{names}'s" if len(d.missing_confounders) == 1 else "theirs"
        return (
            f"Add {names} to the model and do not act on {f} to change {outcome}: its "
            f"attribution is partly {owner}."
        )
    unobserved = latents or (d.latent_confounders if d is not None else ())
    if verdict == "inconclusive":
        measure = f"; measuring {plain(unobserved)} would let it be told" if unobserved else ""
        return (
            f"Do not act on {f} to change {outcome} on this evidence: the data cannot tell "
            f"its effect (see its reason){measure}."
        )
    if unobserved:
        return (
            f"Do not act on {f} to change {outcome}; collect {plain(unobserved)} (not measured) "
            "to separate its effect."
        )
    if d is not None and d.colliders_in_model:
        return (
            f"Do not read {f}'s attribution as causal: conditioning on "
            f"{plain(d.colliders_in_model)} biases it; consider removing it from the model."
        )
    if verdict == "sign_conflict":
        return (
            f"Do not act on {f} as the model suggests: changing it moves {outcome} the "
            "opposite way."
        )
    if verdict == "fragile":
        return f"Do not act on {f} until its effect survives the refuters; check the DAG near it."
    if verdict == "limited_overlap":
        return (
            f"Do not act on {f} on this estimate: trim to the overlapping rows, change the "
            "estimand or drop a redundant control (see its reason)."
        )
    if verdict == "no_causal_path":
        return f"Do not act on {f} to change {outcome}: the DAG gives it no effect."
    if verdict == "no_detectable_effect":
        return f"Do not act on {f} to change {outcome}: no causal effect was detected."
    return f"Do not act on {f} to change {outcome} until its effect is identified."


def plain(names) -> str:
    return ", ".join(str(n) for n in names)


def structural_reasons(
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
            f"confounder(s) {quoted(diagnosis.missing_confounders)} of {feature!r} and the outcome "
            f"are not model features: the model can use {feature!r} as their proxy"
        )
    if diagnosis.latent_confounders and effect.status != EffectStatus.NOT_IDENTIFIABLE:
        reasons.append(
            f"latent confounder(s) {quoted(diagnosis.latent_confounders)} of {feature!r} and the "
            "outcome are unobserved: the model's attribution can absorb their effect"
        )
    if diagnosis.mediators_in_model:
        reasons.append(
            f"mediator(s) {quoted(diagnosis.mediators_in_model)} of {feature!r} are also model "
            f"features: the model sees only the direct effect of {feature!r}, not its total effect"
        )
    if diagnosis.colliders_in_model:
        reasons.append(
            f"conditioning on model feature(s) {quoted(diagnosis.colliders_in_model)} opens a "
            f"non-causal (collider) path between {feature!r} and the outcome"
        )
    return reasons


def quoted(names) -> str:
    return ", ".join(repr(n) for n in names)
