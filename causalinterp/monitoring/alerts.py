"""Alerts: each figure against its threshold, with a message that says what to do next.

Every alert names its subject (a column, a graph node, ``"ranking"`` or ``"rows"``), the figure
(``value``), the threshold it crossed and a next step, in one line, so that a scheduled job can
page someone with the message as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from causalinterp.graph import CausalGraph
from causalinterp.monitoring.attribution import AttributionDrift
from causalinterp.monitoring.drift import ColumnDrift
from causalinterp.monitoring.mechanisms import CausalDrift
from causalinterp.monitoring.performance import Performance
from causalinterp.monitoring.risk import CausalRisk
from causalinterp.monitoring.support import SupportCheck

#: The kinds of alert, in the order a window lists them.
KINDS = (
    "mechanism_change",
    "outcome_drift",
    "feature_drift",
    "out_of_support",
    "out_of_range",
    "attribution_ndcg",
    "attribution_share",
    "causal_risk",
    "performance",
)


@dataclass(frozen=True)
class Alert:
    """One threshold crossed in one window.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    subject : str
        The column or node (or ``"ranking"``, ``"rows"``) the alert is about.
    value : float
        The figure that crossed the threshold.
    threshold : float
        The threshold (the option named in the message).
    message : str
        One line: subject, figure, threshold, and the next step.
    """

    kind: str
    subject: str
    value: float
    threshold: float
    message: str


def build_alerts(
    *,
    outcome: str,
    features: Sequence[str],
    graph: CausalGraph,
    drift: Sequence[ColumnDrift],
    support: SupportCheck,
    attribution: AttributionDrift,
    causal: CausalDrift,
    risk: CausalRisk | None,
    performance: Performance | None,
    settings: Mapping[str, float],
) -> tuple[Alert, ...]:
    """Every alert of one window, in the order of :data:`KINDS`."""
    alerts: list[Alert] = []
    changed = [m.node for m in causal.ranking if m.changed]
    for m in causal.ranking:
        if not m.changed:
            continue
        role = _role(m.node, outcome, features)
        alerts.append(
            Alert(
                "mechanism_change",
                m.node,
                m.score,
                settings["mechanism_threshold"],
                f"{m.node} ({role}): its causal mechanism changed (score {m.score:.3g} >= "
                f"mechanism_threshold {settings['mechanism_threshold']:g}, adjusted p "
                f"{m.p_adjusted:.2g}); {_mechanism_step(m.node, outcome, features)}",
            )
        )
    for d in drift:
        if not d.drifted:
            continue
        kind = "outcome_drift" if d.name == outcome else "feature_drift"
        figure = (
            f"{d.distance_name} {d.distance:.3g} >= drift_threshold "
            f"{settings['drift_threshold']:g}, {d.test} adjusted p {d.p_adjusted:.2g}"
        )
        if kind == "outcome_drift":
            step = (
                "the labels' distribution moved (label shift or a new base rate); recalibrate "
                "the model on recent labelled rows and re-check the decision thresholds"
            )
        else:
            step = _drift_step(d.name, graph, changed, features)
        alerts.append(
            Alert(
                kind,
                d.name,
                d.distance,
                settings["drift_threshold"],
                f"{d.name}: drifted ({figure}); {step}",
            )
        )
    share = support.novelty_share
    if share == share and share > settings["support_share"]:
        alerts.append(
            Alert(
                "out_of_support",
                "rows",
                share,
                settings["support_share"],
                f"rows: {share:.1%} of the window lies beyond the reference's 99th percentile "
                f"of novelty (support_share {settings['support_share']:.1%}); the model and "
                "the causal verdicts extrapolate there: inspect the example rows in "
                "monitor.json and re-run analyze on data that covers them",
            )
        )
    for r in support.ranges:
        if r.share_outside > settings["range_share"]:
            where = (
                f"outside the reference range [{r.low:.4g}, {r.high:.4g}]"
                if r.low is not None
                else f"at levels the reference never had ({', '.join(r.unseen_levels)})"
            )
            alerts.append(
                Alert(
                    "out_of_range",
                    r.name,
                    r.share_outside,
                    settings["range_share"],
                    f"{r.name}: {r.share_outside:.1%} of rows {where} (range_share "
                    f"{settings['range_share']:.1%}); check the feature's source for a unit or "
                    "encoding change, else extend the training data to the new range",
                )
            )
    if attribution.ndcg < settings["ndcg_threshold"]:
        alerts.append(
            Alert(
                "attribution_ndcg",
                "ranking",
                attribution.ndcg,
                settings["ndcg_threshold"],
                f"ranking: the model's feature-importance order changed (nDCG "
                f"{attribution.ndcg:.3f} < ndcg_threshold {settings['ndcg_threshold']:g}); "
                "see which shares moved below and whether those features have causal support",
            )
        )
    for s in attribution.shares:
        excludes_zero = s.ci_low > 0 or s.ci_high < 0
        if abs(s.change) >= settings["share_change"] and excludes_zero:
            alerts.append(
                Alert(
                    "attribution_share",
                    s.feature,
                    s.change,
                    settings["share_change"],
                    f"{s.feature}: its attribution share moved {s.change:+.3f} (95% CI "
                    f"{s.ci_low:+.3f} to {s.ci_high:+.3f}; share_change "
                    f"{settings['share_change']:g}); the model now relies "
                    f"{'more' if s.change > 0 else 'less'} on it: check its drift and verdict",
                )
            )
    if risk is not None and risk.change >= settings["risk_increase"] and risk.ci_low > 0:
        alerts.append(
            Alert(
                "causal_risk",
                ", ".join(risk.unsupported) or "none",
                risk.change,
                settings["risk_increase"],
                f"{', '.join(risk.unsupported)}: the share of attribution on features without "
                f"causal support grew {risk.change:+.3f} to {risk.current:.3f} (95% CI "
                f"{risk.ci_low:+.3f} to {risk.ci_high:+.3f}; risk_increase "
                f"{settings['risk_increase']:g}); the model leans on non-causes: retrain "
                "without them or with their causes, and do not act on their attributions",
            )
        )
    if (
        performance is not None
        and performance.relative_change > settings["performance_drop"]
        and performance.ci_low > 0
    ):
        level = 1 - settings["performance_alpha"]
        alerts.append(
            Alert(
                "performance",
                outcome,
                performance.relative_change,
                settings["performance_drop"],
                f"{outcome}: the model's {performance.metric} rose "
                f"{performance.relative_change:.1%} ({performance.reference:.4g} to "
                f"{performance.current:.4g}; {level:.0%} CI {performance.ci_low:+.1%} to "
                f"{performance.ci_high:+.1%}; performance_drop "
                f"{settings['performance_drop']:.0%}); retrain on recent labelled rows",
            )
        )
    return tuple(alerts)


def _role(node: str, outcome: str, features: Sequence[str]) -> str:
    if node == outcome:
        return "the outcome"
    return "a model feature" if node in features else "not a model feature"


def _mechanism_step(node: str, outcome: str, features: Sequence[str]) -> str:
    if node == outcome:
        return (
            "the outcome responds differently to its causes (concept or label shift); "
            "retrain on recent labelled rows and re-run analyze"
        )
    if node in features:
        return "the process that sets it changed; check its source, then retrain if it is real"
    return (
        "the model does not see it, so features it drives shift with no change of their own; "
        "consider adding it to the model"
    )


def _drift_step(
    name: str, graph: CausalGraph, changed: Sequence[str], features: Sequence[str]
) -> str:
    if name in changed:
        return "its own mechanism changed (see mechanism_change); check its source"
    upstream = sorted(set(changed) & set(graph.ancestors(name))) if name in graph else []
    if upstream:
        outside = [u for u in upstream if u not in features]
        note = " (not a model feature: this feature tracks it as a proxy)" if outside else ""
        return (
            f"its mechanism is unchanged; the drift comes upstream from {', '.join(upstream)}"
            f"{note}: act on that change, not on {name}"
        )
    return "check the pipeline that produces it, then retrain if the shift is real"
