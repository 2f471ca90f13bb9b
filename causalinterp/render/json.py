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

from causalinterp.verdicts import FeatureVerdict

if TYPE_CHECKING:
    from causalinterp.attribute.attributions import Attributions
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects, FeatureEffect
    from causalinterp.graph import CausalGraph
    from causalinterp.graph.independence import GraphTest
    from causalinterp.refute.refutation import RefutationResult, Refutations

__all__ = [
    "SCHEMA_VERSION",
    "clean",
    "json_text",
    "model_features",
    "report_dict",
    "verdict_for",
]

SCHEMA_VERSION = "1.1"


def _round(value: float) -> float | None:
    """Six significant digits; NaN and infinities become None; -0.0 becomes 0.0."""
    if not math.isfinite(value):
        return None
    rounded = float(f"{value:.6g}")
    return rounded + 0.0  # folds -0.0 into 0.0


def clean(value: Any) -> Any:
    """Turn ``value`` into plain JSON data, with sorted keys and rounded floats.

    Floats keep six significant digits and NaN and infinities become None, so the same
    inputs give the same text on every platform.

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
        return _round(float(value))
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
) -> dict[str, Any]:
    """The stage results as ``report.json`` data (schema version :data:`SCHEMA_VERSION`).

    Keys are sorted, floats rounded to 6 significant digits, NaN and infinities are None:
    the same inputs give the same data, apart from ``run``.

    Parameters
    ----------
    checked, graph, effects, attributions, verdicts, refutations, graph_test
        The results of the stages; ``refutations`` and ``graph_test`` are None when not run.
    settings : Mapping, optional
        Options of the run. ``seed`` and ``refute`` fall back on the stage results,
        ``nuisance`` is shown as given (the pipeline describes the learners).
    run : Mapping, optional
        ``started_at``, ``seconds`` and ``versions``, copied as given.

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
        "graph": {
            "nodes": _names(graph.nodes),
            "edges": sorted([str(u), str(v)] for u, v in graph.edges),
        },
        "settings": {
            "seed": settings.get("seed", getattr(effects, "seed", None)),
            "refute": refute,
            "refit": bool(getattr(refutations, "refit", False)),
            "material_share": settings.get("material_share"),
            "attribution_factor": settings.get("attribution_factor"),
            "explainer": attributions.explainer,
            "rows_explained": int(attributions.rows_explained),
            "nuisance": settings.get("nuisance"),
        },
        "summary": {
            "flagged": [name for name, v in rows.items() if v.flagged],
            "verdict_counts": counts,
            "graph_fits": None if graph_test is None else bool(graph_test.fits),
        },
        "graph_test": None if graph_test is None else _graph_test_dict(graph_test),
        "features": [
            _feature_dict(
                name,
                rows[name],
                effects.by_feature.get(name),
                attributions,
                refutations,
                checked.kinds.get(name),
            )
            for name in features
        ],
        "run": {
            "started_at": run.get("started_at"),
            "seconds": dict(run.get("seconds") or {}),
            "versions": {str(k): str(v) for k, v in (run.get("versions") or {}).items()},
        },
    }
    return clean(data)


def json_text(data: Mapping[str, Any]) -> str:
    """``data`` as JSON text: UTF-8, sorted keys, two-space indent, a final newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _graph_test_dict(test: GraphTest) -> dict[str, Any]:
    return {
        "method": test.method,
        "tested": int(test.tested),
        "alpha": test.alpha,
        "fits": bool(test.fits),
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
    effect: FeatureEffect | None,
    attributions: Attributions,
    refutations: Refutations | None,
    kind: str | None,
) -> dict[str, Any]:
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
    if refutations is not None:
        results = tuple(refutations.by_feature.get(name, ()))
        sensitivity = refutations.sensitivity.get(name)

    return {
        "name": name,
        "kind": kind,
        "causal_support": verdict.causal_support,
        "verdict": verdict.verdict,
        "flagged": bool(verdict.flagged),
        "reasons": list(verdict.reasons),
        "effect": None
        if estimate is None
        else {
            "estimate": estimate.estimate,
            "ci_low": estimate.ci_low,
            "ci_high": estimate.ci_high,
            "p_value": estimate.p_value,
            "stderr": estimate.stderr,
            "method": estimate.method,
            # Categorical treatments only: one entry per level against the reference.
            **({"levels": _levels_list(effect)} if getattr(effect, "levels", ()) else {}),
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
        },
        "identification": {
            "strategy": ident.strategy if ident else "none",
            "adjustment_set": _names(ident.adjustment_set if ident else ()),
            "instruments": _names(ident.instruments if ident else ()),
            "mediators": _names(ident.mediators if ident else ()),
            "blocking_latents": _names(ident.blocking_latents if ident else ()),
        },
        "refutations": [_refutation_dict(r) for r in results],
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


def _levels_list(effect: FeatureEffect) -> list[dict[str, Any]]:
    """A categorical treatment's per-level effects, in level order (see docs/reliability.md)."""
    levels = []
    for level in effect.levels:
        e = level.estimate
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
            }
        )
    return levels


def _refutation_dict(result: RefutationResult) -> dict[str, Any]:
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
        "distribution": distribution,
        "detail": result.detail,
    }
