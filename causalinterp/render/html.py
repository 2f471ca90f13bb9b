"""``report.html``: one self-contained page (inline CSS, embedded SVG plots, no scripts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from causalinterp.render import plots
from causalinterp.render._figure import data_uri
from causalinterp.render._templates import environment
from causalinterp.render._text import (
    VERDICT_LABELS,
    dependence_caption,
    effect_cell,
    identification_text,
    level_rows,
    one_line,
    ordered_counts,
    unused_columns_text,
)
from causalinterp.render.json import clean, model_features
from causalinterp.render.overlap import html_view as overlap_view

if TYPE_CHECKING:
    from causalinterp.attribute.attributions import Attributions
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects
    from causalinterp.graph import CausalGraph
    from causalinterp.graph.independence import GraphTest
    from causalinterp.refute.results import Refutations
    from causalinterp.verdicts import FeatureVerdict

__all__ = ["render_html", "render_summary_html"]


def _render_plot(make: Callable[[], Any], alt: str, enabled: bool = True) -> dict[str, Any]:
    """Render one plot to a data URI; a failure becomes a short reason instead."""
    if not enabled:
        return {"uri": None, "error": None, "alt": alt}
    try:
        svg = plots.to_svg(make())
    except Exception as error:  # one bad plot must not take the report down
        return {"uri": None, "error": one_line(error), "alt": alt}
    return {"uri": data_uri(svg), "error": None, "alt": alt}


def _summary_context(data: Mapping[str, Any], *, refuted: bool) -> dict[str, Any]:
    """What the summary table needs: the rows of ``report.json`` with their display texts."""
    features = []
    for index, row in enumerate(data["features"], start=1):
        view = dict(row)
        view["index"] = index
        view["anchor"] = f"feature-{index}"
        view["identification_text"] = identification_text(row["identification"])
        view["effect_text"] = effect_cell(row)
        view["verdict_class"] = row["verdict"] if row["verdict"] in VERDICT_LABELS else "other"
        view["caption"] = dependence_caption(row)
        view["level_rows"] = level_rows(row)
        features.append(view)
    return {
        "data": data,
        "outcome": data["outcome"],
        "features": features,
        "counts": [
            (verdict, verdict if verdict in VERDICT_LABELS else "other", n)
            for verdict, n in ordered_counts(data["summary"]["verdict_counts"])
        ],
        "refuted": refuted,
        "findings": data["summary"].get("findings") or [],
        "unused_text": unused_columns_text(list(data.get("graph_columns_unused") or [])),
    }


def render_summary_html(data: Mapping[str, Any], *, refuted: bool) -> str:
    """The summary table alone, as an HTML fragment (for notebooks).

    Parameters
    ----------
    data : Mapping
        The analysis as ``report.json`` data.
    refuted : bool
        Whether refuters ran.

    Returns
    -------
    str
    """
    context = {"fragment": True, **_summary_context(data, refuted=refuted)}
    return environment().get_template("report.html").render(context)


def render_html(
    data: Mapping[str, Any],
    *,
    checked: CheckedData,
    graph: CausalGraph,
    effects: Effects,
    attributions: Attributions,
    verdicts: Mapping[str, FeatureVerdict],
    refutations: Refutations | None = None,
    graph_test: GraphTest | None = None,
    settings: Mapping[str, Any] | None = None,
    include_plots: bool = True,
    domain: Any = None,
    curves: Any = None,
) -> str:
    """The full report as one self-contained HTML page.

    No network access is needed or made: CSS is inline, plots are embedded SVG images,
    there are no scripts, and a content security policy forbids loading anything else.
    A plot that fails to render is replaced by ``plot unavailable: <reason>``.

    Parameters
    ----------
    data : Mapping
        The analysis as ``report.json`` data; every table and text is read from it.
    checked, graph, effects, attributions, verdicts, refutations, graph_test
        The stage results the plots are drawn from.
    settings : Mapping, optional
        Options of the run, listed beside the ones ``data`` records.
    include_plots : bool, default True
        Draw the plots; without them every plot is replaced by a short note.
    domain : DomainCheck, optional
        The domain check: its section with an ICE plot per checked feature.
    curves : Curves, optional
        Dose-response curves: their section with one plot per curve.

    Returns
    -------
    str
    """
    refuted = refutations is not None and refutations.depth != "none"
    ctx = {"fragment": False, **_summary_context(data, refuted=refuted)}
    failing = []
    total_refuters = 0
    names = model_features(checked, attributions)
    for view, name in zip(ctx["features"], names, strict=True):
        refs = refutations.by_feature.get(name, ()) if refutations is not None else ()
        total_refuters += len(refs)
        view["dependence_plot"] = _render_plot(
            lambda name=name: plots.plot_dependence(
                name, effects, attributions, checked=checked, verdicts=verdicts
            ),
            f"SHAP dependence plot of {name} with its causal effect",
            include_plots,
        )
        view["overlap_view"] = overlap_view(effects, name, _render_plot, include_plots)
        # One figure for all of a feature's refuters: their rows share the effect's axis.
        view["refutation_plots"] = (
            [
                _render_plot(
                    lambda refs=refs: plots.plot_refutations(refs),
                    f"simulated estimates of each refuter for {name}, with the original estimate",
                    include_plots,
                )
            ]
            if refs
            else []
        )
        failing.extend((view, ref) for ref in view["refutations"] if not ref["passed"])
    ctx.update(
        include_plots=include_plots,
        failing_refuters=failing,
        total_refuters=total_refuters,
        refute_depth=refutations.depth if refutations is not None else None,
        refute_alpha=getattr(refutations, "alpha", None),
        settings_shown=clean({**(settings or {}), **data["settings"]}),
        dag_plot=_render_plot(
            lambda: plots.plot_dag(graph, checked, verdicts=verdicts, graph_test=graph_test),
            "the causal DAG",
            include_plots,
        ),
        forest_plot=_render_plot(
            lambda: plots.plot_effects_vs_attributions(
                effects, attributions, verdicts, checked=checked
            ),
            "causal effects beside attribution slopes, per feature",
            include_plots,
        ),
        seconds_total=sum(v for v in data["run"]["seconds"].values() if isinstance(v, int | float)),
    )
    ctx["domain_section"] = None
    if domain is not None:
        from causalinterp.domain.render import html_section

        ctx["domain_section"] = html_section(dict(data), domain, _render_plot, include_plots)
    ctx["curves_section"] = None
    if curves is not None:
        from causalinterp.render.curves import html_section as curves_section

        ctx["curves_section"] = curves_section(
            data, curves, _render_plot, include_plots, attributions
        )
    return environment().get_template("report.html").render(ctx)
