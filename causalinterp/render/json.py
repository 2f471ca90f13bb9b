"""``report.json``: stage results as plain, sorted, rounded JSON data (docs/report-schema.md)."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

from causalinterp.refute.roles import role_json, took_fast_path
from causalinterp.render import overlap as overlap_render
from causalinterp.render._text import round_number
from causalinterp.render.summary import findings
from causalinterp.verdicts import FeatureVerdict

if TYPE_CHECKING:
    from causalinterp.attribute.attributions import Attributions
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects, FeatureEffect
    from causalinterp.graph import CausalGraph
    from causalinterp.graph.independence import GraphTest
    from causalinterp.refute.results import RefutationResult, Refutations

__all__ = [
    "SCHEMA_VERSION",
    "clean",
    "json_text",
    "model_features",
    "report_dict",
    "verdict_for",
]

SCHEMA_VERSION = "1.3"


def clean(value: Any) -> Any:
    """Turn ``value`` into plain JSON data, with sorted keys and rounded floats.

    Floats keep six significant digits and NaN and infinities become None
    (:func:`~causalinterp.render._text.round_number`, the rounding rule of every JSON
    output), so the same inputs give the same text on every platform.

    Examples
    --------
    >>> clean({"b": 0.123456789, "a": float("nan")})
    {'a': None, 'b': 0.123457}
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return round_number(float(value))
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((clean(v) for v in value), key=str)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.random.SeedSequence):
        return clean(value.entropy)
    return str(value)


def _names(values: Sequence[Any] | None) -> list[str]:
    return sorted(str(v) for v in (values or ()))


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def model_features(checked: CheckedData, attributions: Attributions) -> tuple[str, ...]:
    """The model's features in the model's order (the SHAP columns when none were declared)."""
    if checked.features:
        return tuple(checked.features)
    return tuple(str(c) for c in attributions.shap_values.columns)


def verdict_for(verdicts: Mapping[str, FeatureVerdict], feature: str) -> FeatureVerdict:
    """The feature's verdict; an ``error`` verdict saying so when none was computed."""
    verdict = verdicts.get(feature)
    if verdict is None:
        return FeatureVerdict(
            feature=feature,
            causal_support=None,
            verdict="error",
            reasons=("no verdict was computed for this feature",),
            flagged=False,
        )
    return verdict


def report_dict(
    *,
    checked: CheckedData,
    graph: CausalGraph,
    effects: Effects,
    attributions: Attributions,
    verdicts: Mapping[str, FeatureVerdict],
    refutations: Refutations | None = None,
    graph_test: GraphTest | None = None,
    settings: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
    domain: Any = None,
    curves: Any = None,
) -> dict[str, Any]:
    """The stage results as ``report.json`` data (schema version :data:`SCHEMA_VERSION`).

    Keys are sorted, floats rounded to 6 significant digits, NaN and infinities are None:
    the same inputs give the same data, apart from ``run``.

    The one place ``report.json`` is assembled: each stage's part comes from a pure function
    of its result (the estimand, populations and overlap from :mod:`causalinterp.render.overlap`,
    the refuters' roles from :mod:`causalinterp.refute.roles`, the domain check's objects from
    :mod:`causalinterp.domain.render`, the curves' from
    :meth:`Curves.feature_json <causalinterp.estimate.curves.Curves.feature_json>` and
    ``section_json``), and nothing patches the data afterwards.

    Parameters
    ----------
    checked, graph, effects, attributions, verdicts, refutations, graph_test
        The results of the stages; ``refutations`` and ``graph_test`` are None when not run.
    settings : Mapping, optional
        Options of the run. ``seed`` and ``refute`` fall back on the stage results,
        ``nuisance`` is shown as given (the pipeline describes the learners).
    run : Mapping, optional
        ``started_at``, ``seconds`` and ``versions``, copied as given.
    domain : DomainCheck, optional
        The domain check: a ``domain`` section and a ``domain`` object per feature.
    curves : Curves, optional
        Dose-response curves and heterogeneity: a ``curves`` section and ``curve`` and
        ``heterogeneity`` objects per feature (``docs/curves.md``).

    Returns
    -------
    dict
    """
    settings = settings or {}
    run = run or {}
    features = model_features(checked, attributions)
    rows = {name: verdict_for(verdicts, name) for name in features}

    counts: dict[str, int] = {}
    for verdict in rows.values():
        counts[str(verdict.verdict)] = counts.get(str(verdict.verdict), 0) + 1

    if domain is not None:
        # Imported here: the domain package sits above the report (domain/refit.py analyses).
        from causalinterp.domain import render as domain_render

    refute = settings.get("refute")
    if refute is None:
        refute = refutations.depth if refutations is not None else "none"

    data = {
        "schema_version": SCHEMA_VERSION,
        "outcome": checked.outcome,
        "outcome_kind": checked.kinds.get(checked.outcome),
        "scale": attributions.scale,
        "n_rows": int(checked.n_rows),
        "dropped_rows": int(checked.dropped_rows),
        "latent": _names(checked.latent),
        # Of "latent": declared unobserved (graph or latent=[...]) or merely not a column.
        "latent_declared": _names(getattr(checked, "declared_latent", ())),
        "latent_undeclared": _names(
            [n for n in checked.latent if n not in getattr(checked, "declared_latent", ())]
        ),
        # Observed graph columns (not the outcome) the model does not take as features.
        "graph_columns_unused": list(checked.unused_graph_columns),
        "graph": {
            "nodes": _names(graph.nodes),
            "edges": sorted([str(u), str(v)] for u, v in graph.edges),
        },
        "settings": {
            "seed": settings.get("seed", getattr(effects, "seed", None)),
            "refute": refute,
            "refit": bool(getattr(refutations, "refit", False)),
            # How refit was decided: "auto" (refute/auto.py's rule) or "given"; and why.
            "refit_mode": "auto" if getattr(refutations, "refit_auto", False) else "given",
            "refit_reason": getattr(refutations, "refit_reason", "") or None,
            "refit_ratios": {
                str(k): round(_float(v), 3)
                for k, v in (getattr(refutations, "refit_ratios", None) or {}).items()
            },
            # The time_budget option (seconds; None: no limit).
            "time_budget": getattr(refutations, "time_budget", None),
            "material_share": settings.get("material_share"),
            "attribution_factor": settings.get("attribution_factor"),
            "explainer": attributions.explainer,
            "rows_explained": int(attributions.rows_explained),
            # Background rows the SHAP values average over (0: path-dependent native
            # TreeSHAP), and what the explainer did beyond plain interventional SHAP.
            "background_rows": getattr(attributions, "background_rows", 0) or None,
            "explainer_note": getattr(attributions, "note", "") or None,
            "nuisance": settings.get("nuisance"),
            # "default" or the user's model's class: `causalinterp explain` refits the former.
            "model": settings.get("model"),
            # Features declared unchangeable: never proposed as levers.
            "fixed": sorted(str(f) for f in (settings.get("fixed") or ())),
            # The population every effect averages over (render/overlap.py).
            "estimand": overlap_render.estimand_of(effects),
        },
        "summary": {
            "flagged": [name for name, v in rows.items() if v.flagged],
            "verdict_counts": counts,
            "graph_fits": None if graph_test is None else graph_test.fits,
        },
        "graph_test": None if graph_test is None else _graph_test_dict(graph_test),
        "features": [
            {
                **_feature_dict(
                    name,
                    rows[name],
                    effects,
                    attributions,
                    refutations,
                    checked,
                    fixed=name in set(settings.get("fixed") or ()),
                ),
                # Each optional stage's own objects of the feature.
                **({} if domain is None else {"domain": domain_render.feature_json(domain, name)}),
                **({} if curves is None else curves.feature_json(name)),
            }
            for name in features
        ],
        # The optional stages' top-level sections: the domain check (domain/render.py) and
        # the dose-response curves' summary (estimate/curves.py).
        **({} if domain is None else {"domain": domain_render.report_section(domain)}),
        **({} if curves is None else {"curves": curves.section_json()}),
        "run": {
            "started_at": run.get("started_at"),
            "seconds": dict(run.get("seconds") or {}),
            "versions": {str(k): str(v) for k, v in (run.get("versions") or {}).items()},
        },
    }
    data = clean(data)
    # Findings read the finished rows, so they rank exactly the numbers the report shows.
    data["summary"] = clean({**data["summary"], "findings": _findings(data)})
    return data


def _findings(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings; a failure becomes one ``error`` finding, never a failed report."""
    try:
        return findings(data)
    except Exception as error:  # the rows are intact: the report must still be written
        text = f"the findings could not be ranked: {type(error).__name__}: {error}"
        return [{"kind": "error", "feature": None, "text": text, "action": None}]


def json_text(data: Mapping[str, Any]) -> str:
    """``data`` as JSON text: UTF-8, sorted keys, two-space indent, a final newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _graph_test_dict(test: GraphTest) -> dict[str, Any]:
    return {
        "method": test.method,
        "tested": int(test.tested),
        "alpha": test.alpha,
        "fits": test.fits,  # None: nothing testable
        "violations": [
            {
                "x": v.x,
                "y": v.y,
                "given": _names(v.given),
                "test": v.test,
                "p_value": v.p_value,
                "p_adjusted": v.p_adjusted,
            }
            for v in test.violations
        ],
        "suggestions": [str(s) for s in test.suggestions],
    }


def _feature_dict(
    name: str,
    verdict: FeatureVerdict,
    effects: Effects,
    attributions: Attributions,
    refutations: Refutations | None,
    checked: CheckedData,
    *,
    fixed: bool = False,
) -> dict[str, Any]:
    effect = effects.by_feature.get(name)
    kind = checked.kinds.get(name)
    estimate = effect.estimate if effect is not None else None
    attribution = attributions.by_feature.get(name)
    ident = effect.identification if effect is not None else None

    error = None
    if effect is None:
        error = "no effect was computed for this feature"
    elif effect.status == "error":
        error = effect.message or "estimation failed"

    results: tuple[RefutationResult, ...] = ()
    sensitivity = None
    fast = False
    if refutations is not None:
        results = tuple(refutations.by_feature.get(name, ()))
        sensitivity = refutations.sensitivity.get(name)
        strategy = str(effect.identification.strategy) if effect is not None else ""
        fast = took_fast_path(refutations, name, strategy)

    return {
        "name": name,
        "kind": kind,
        "causal_support": verdict.causal_support,
        "verdict": verdict.verdict,
        "flagged": bool(verdict.flagged),
        "reasons": list(verdict.reasons),
        "reason_summary": verdict.reason_summary or None,
        "action": verdict.action,
        "fixed": fixed,
        "effect": None
        if estimate is None
        else {
            "estimate": estimate.estimate,
            "ci_low": estimate.ci_low,
            "ci_high": estimate.ci_high,
            "p_value": estimate.p_value,
            "stderr": estimate.stderr,
            "method": estimate.method,
            # The rows the effect averages over (render/overlap.py).
            "population": overlap_render.effect_population(effect, checked, effects),
            # nuisance="auto": the learner chosen per nuisance model and every family's loss.
            "learners": (
                estimate.learners.to_dict() if getattr(estimate, "learners", None) else None
            ),
            # IV only: instrument strength and, when weak, the Anderson-Rubin set.
            **_first_stage_dict(estimate),
            "standardized": _standardized(name, estimate.estimate, checked, attributions),
            # Categorical treatments only: one entry per level against the reference, and
            # which of them the headline estimate is.
            **(
                {
                    "levels": _levels_list(effect, attributions, checked, verdict),
                    "contrast": _contrast(effect),
                }
                if getattr(effect, "levels", ())
                else {}
            ),
        },
        "attribution": {
            "mean_abs_shap": _float(attribution.mean_abs_shap) if attribution else math.nan,
            # Sampling errors of the summaries over the rows explained (0 when all were).
            "mean_abs_shap_se": _float(attribution.mean_abs_shap_se) if attribution else None,
            "slope": _float(attribution.slope) if attribution else None,
            "slope_se": _float(attribution.slope_se) if attribution else None,
            "rank": int(attribution.rank) if attribution else None,
            # The judge computed the share it flagged on; the report shows that same number.
            "share": verdict.share,
            # The rows the slope is taken over (render/overlap.py).
            **(
                {"population": overlap_render.attribution_population(effects, attributions, name)}
                if name in attributions.by_feature
                else {}
            ),
        },
        # The feature's positivity diagnosis (estimate/overlap.py); None without an estimate.
        "overlap": overlap_render.overlap_json(effects, name),
        "identification": {
            "strategy": ident.strategy if ident else "none",
            "adjustment_set": _names(ident.adjustment_set if ident else ()),
            "instruments": _names(ident.instruments if ident else ()),
            "mediators": _names(ident.mediators if ident else ()),
            "blocking_latents": _names(ident.blocking_latents if ident else ()),
            # IV/front-door valid only given adjustment_set; what the design assumes.
            "conditional": bool(ident.conditional) if ident else False,
            "assumptions": (ident.assumptions or None) if ident else None,
        },
        # What each refuter can detect; calibration checks apart from evidence (refute/roles.py).
        "refutations": [_refutation_dict(r, fast=fast) for r in results],
        "refutation_note": _refutation_note(effect, refutations, kind, results),
        "sensitivity": None
        if sensitivity is None
        else {
            "partial_r2": sensitivity.partial_r2,
            "robustness_value": sensitivity.robustness_value,
            "robustness_value_alpha": sensitivity.robustness_value_alpha,
            "e_value": sensitivity.e_value,
            "sentence": sensitivity.sentence,
        },
        "error": error,
    }


def _first_stage_dict(estimate: Any) -> dict[str, Any]:
    """``first_stage`` (and ``anderson_rubin`` when weak) of an IV estimate; {} otherwise."""
    fs = getattr(estimate, "first_stage", None)
    if fs is None:
        return {}
    ar = getattr(estimate, "anderson_rubin", None)
    return {
        "first_stage": {
            "f_statistic": fs.f_statistic,
            "n_instruments": fs.n_instruments,
            "threshold": fs.threshold,
            "weak": fs.weak,
            "partial_r2": fs.partial_r2,
        },
        "anderson_rubin": None
        if ar is None
        else {"low": ar.low, "high": ar.high, "shape": ar.shape, "p_value_zero": ar.p_value_zero},
    }


def _standardized(
    name: str, estimate: float, checked: CheckedData, attributions: Attributions
) -> float | None:
    """The effect in standard deviations of the outcome, per standard deviation of a
    continuous feature (per 0 -> 1 of a binary one); None for categorical features."""
    kind = checked.kinds.get(name, "continuous")
    frame = checked.frame
    if kind == "categorical" or checked.outcome not in getattr(frame, "columns", ()):
        return None
    sd_y = float(np.nanstd(np.asarray(frame[checked.outcome], dtype=float), ddof=1))
    unit = 1.0
    if kind == "continuous":
        source = frame if name in frame.columns else attributions.feature_values
        if name not in getattr(source, "columns", ()):
            return None
        unit = float(np.nanstd(np.asarray(source[name], dtype=float), ddof=1))
    if not (math.isfinite(sd_y) and sd_y > 0 and math.isfinite(unit)):
        return None
    return float(estimate) * unit / sd_y


def _contrast(effect: FeatureEffect) -> dict[str, Any] | None:
    """The level contrast a categorical feature's headline estimate is (its most significant
    level, as the effects stage chose it)."""
    estimated = [lv for lv in effect.levels if lv.estimate is not None]
    if not estimated:
        return None
    best = min(estimated, key=lambda lv: lv.estimate.p_value)  # type: ignore[union-attr]
    return {"level": best.level, "reference": best.reference}


def _level_attributions(
    name: str, attributions: Attributions, checked: CheckedData
) -> dict[str, float]:
    """The model's own contrast per level: mean SHAP value at the level minus at the reference."""
    try:
        labels, reference = checked.level_codes(name)
        codes = np.asarray(attributions.feature_values[name], dtype=float)
        shap = np.asarray(attributions.shap_values[name], dtype=float)
    except Exception:  # a hand-built result without the columns: no per-level attribution
        return {}
    means = {
        labels[code]: float(shap[codes == code].mean())
        for code in range(len(labels))
        if (codes == code).any()
    }
    base = means.get(labels[reference])
    if base is None:
        return {}
    return {label: mean - base for label, mean in means.items()}


def _refutation_note(
    effect: FeatureEffect | None,
    refutations: Refutations | None,
    kind: str | None,
    results: tuple[RefutationResult, ...],
) -> str | None:
    """Why a feature has no refutations (None when it has some)."""
    if results:
        return None
    if refutations is None or refutations.depth == "none":
        return "refutation was not run"
    if effect is None or effect.estimate is None:
        return "no refuter ran: there is no estimated effect to refute"
    if kind == "categorical":
        return (
            "no refuter ran: each level has its own estimate and the refuters challenge one "
            "effect per feature, so the level effects are unchallenged"
        )
    return "no refuter ran: none applies to this estimate"


def _levels_list(
    effect: FeatureEffect,
    attributions: Attributions,
    checked: CheckedData,
    verdict: FeatureVerdict,
) -> list[dict[str, Any]]:
    """A categorical treatment's per-level effects, in level order, each beside the model's
    contrast of the same level and the level's verdict (see docs/verdicts.md)."""
    levels = []
    model = _level_attributions(effect.feature, attributions, checked)
    contrasts = {
        c.level: c for c in getattr(attributions, "level_contrasts", {}).get(effect.feature, ())
    }
    judged = {lv.level: lv for lv in verdict.levels}
    for level in effect.levels:
        e = level.estimate
        c = contrasts.get(level.level)
        lv = judged.get(level.level)
        levels.append(
            {
                "level": level.level,
                "reference": level.reference,
                "n_rows": int(level.n_rows),
                "estimate": None if e is None else e.estimate,
                "ci_low": None if e is None else e.ci_low,
                "ci_high": None if e is None else e.ci_high,
                "p_value": None if e is None else e.p_value,
                "stderr": None if e is None else e.stderr,
                "method": None if e is None else e.method,
                "error": level.message or None,
                # The mean SHAP value at the level minus at the reference (descriptive).
                "attribution": model.get(level.level),
                # The model's contrast the verdict reads: mean prediction at the level minus
                # at the reference, over the same rows, with its sampling interval.
                "model_contrast": None
                if c is None
                else {
                    "estimate": c.estimate,
                    "stderr": c.stderr,
                    "ci_low": c.ci_low,
                    "ci_high": c.ci_high,
                    "n_rows": int(c.n_rows),
                },
                "verdict": None if lv is None else str(lv.verdict),
                "reason": None if lv is None else lv.reason,
            }
        )
    return levels


def _refutation_dict(result: RefutationResult, *, fast: bool) -> dict[str, Any]:
    values = np.asarray(result.distribution, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size:
        distribution = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
            "q025": float(np.quantile(values, 0.025)),
            "q975": float(np.quantile(values, 0.975)),
        }
    else:
        distribution = {"mean": None, "std": None, "q025": None, "q975": None}
    return {
        "name": result.name,
        "p_value": result.p_value,
        "p_adjusted": result.p_adjusted,
        "passed": bool(result.passed),
        "simulations": int(result.simulations),
        # Fewer than planned: decided at the interim look, or cut short by time_budget.
        "stopped": result.stop.to_dict() if getattr(result, "stop", None) else None,
        "distribution": distribution,
        "detail": result.detail,
        **role_json(result.name, fast=fast),
    }
