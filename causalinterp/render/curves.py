"""The dose-response plot: the causal curve and its bands over the model's dependence.

One figure per feature with a curve (:class:`causalinterp.estimate.curves.FeatureCurve`):
the SHAP dependence cloud (base value plus the feature's SHAP values, so it sits on the
outcome's scale), the model's partial dependence, and E[Y | do(X = x)] with its pointwise
interval and uniform band. The stretch where the shapes disagree is shaded. The HTML
renderer calls :func:`curve_svg`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from causalinterp.render._figure import (
    BLUE,
    BLUE_FILL,
    GREY,
    INK,
    ORANGE,
    RED_FILL,
    fit_margins,
    new_figure,
    set_title,
    to_svg,
)
from causalinterp.render._figure import label as _label

if TYPE_CHECKING:
    from causalinterp.estimate.curves import FeatureCurve

__all__ = ["curve_svg", "html_section", "plot_curve"]


def plot_curve(
    curve: FeatureCurve,
    attributions: Any = None,
    *,
    outcome: str = "outcome",
    max_points: int = 1500,
) -> Figure:
    """Causal dose-response curve over the SHAP dependence and the model's partial dependence.

    Parameters
    ----------
    curve : FeatureCurve
        From :func:`causalinterp.estimate.curves.estimate_curves`.
    attributions : Attributions, optional
        For the SHAP dependence cloud (a seeded subsample of ``max_points`` rows).
    outcome : str
        The outcome's name, for the axis label.
    max_points : int, default 1500

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from causalinterp.estimate.curves import FeatureCurve
    >>> c = FeatureCurve("x", (0.0, 1.0), (0.0, 1.0), (-0.1, 0.9), (0.1, 1.1), (-0.2, 0.8),
    ...                  (0.2, 1.2))
    >>> fig = plot_curve(c)
    >>> svg = curve_svg(c)
    """
    fig = new_figure(5.2, 3.4, margins={})  # fitted to the tick labels below
    ax = fig.add_subplot(1, 1, 1)
    x = np.asarray(curve.x, float)
    feature = curve.feature
    if attributions is not None and feature in getattr(attributions, "shap_values", {}):
        px = np.asarray(attributions.feature_values[feature], float)
        py = attributions.base_value + np.asarray(attributions.shap_values[feature], float)
        if len(px) > max_points:
            keep = np.random.default_rng(0).choice(len(px), max_points, replace=False)
            px, py = px[keep], py[keep]
        inside = (px >= x[0]) & (px <= x[-1])
        ax.scatter(
            px[inside],
            py[inside],
            s=4,
            color=GREY,
            alpha=0.35,
            linewidths=0,
            label="SHAP dependence (base + SHAP)",
            rasterized=True,
        )
    finding = curve.finding
    if finding is not None:
        ax.axvspan(
            finding.x_low,
            finding.x_high,
            color=RED_FILL,
            alpha=0.5,
            lw=0,
            label=f"shapes disagree ({finding.kind.replace('_', ' ')})",
        )
    ax.fill_between(
        x,
        curve.band_low,
        curve.band_high,
        color=BLUE_FILL,
        alpha=0.5,
        lw=0,
        label=f"uniform {curve.level:.0%} band",
    )
    ax.fill_between(
        x,
        curve.ci_low,
        curve.ci_high,
        color=BLUE_FILL,
        alpha=0.9,
        lw=0,
        label=f"pointwise {curve.level:.0%} CI",
    )
    ax.plot(x, curve.estimate, color=BLUE, lw=2, label=f"E[{_label(outcome)} | do(x)]")
    if curve.model:
        name = (
            "model: partial dependence"
            if curve.model_curve == "partial_dependence"
            else "model: SHAP dependence (smoothed)"
        )
        ax.plot(x, curve.model, color=ORANGE, lw=2, ls="--", label=name)
    ax.set_xlabel(_label(feature))
    ax.set_ylabel(_label(outcome))
    set_title(ax, f"{_label(feature)}: causal curve and the model's", color=INK, fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.legend(fontsize=7, frameon=False, loc="best")
    fit_margins(ax, tick_size=10, bottom=0.5, top=0.3)
    return fig


def curve_svg(curve: FeatureCurve, attributions: Any = None, *, outcome: str = "outcome") -> str:
    """:func:`plot_curve` as inline SVG text (what the HTML report embeds).

    Examples
    --------
    >>> from causalinterp.estimate.curves import FeatureCurve
    >>> c = FeatureCurve("x", (0.0, 1.0), (0.0, 1.0), (-0.1, 0.9), (0.1, 1.1), (-0.2, 0.8),
    ...                  (0.2, 1.2))
    >>> curve_svg(c).startswith("<svg")
    True
    """
    return to_svg(plot_curve(curve, attributions, outcome=outcome))


def markdown_section(data: dict[str, Any], esc: Any = str) -> str:
    """The "Dose-response curves and heterogeneity" section of ``report.md`` ("" without one).

    Built from ``report.json`` data: one line per feature whose model curve disagrees in
    shape with the causal curve, and one per feature whose effect varies across units.

    Examples
    --------
    >>> data = {"curves": {}, "features": [{"name": "x", "curve": {"shape": {"sentence":
    ...     "The model saturates above 2."}}, "heterogeneity": None}]}
    >>> print(markdown_section(data))
    ### Dose-response curves and heterogeneity
    <BLANKLINE>
    - **x**: The model saturates above 2.
    """
    if data.get("curves") is None:
        return ""
    lines = ["### Dose-response curves and heterogeneity", ""]
    for row in data.get("features", []):
        curve, het = row.get("curve"), row.get("heterogeneity")
        if curve and curve.get("shape"):
            lines.append(f"- **{esc(row['name'])}**: {esc(curve['shape']['sentence'])}")
        if het and het.get("varies"):
            lines.append(f"- **{esc(row['name'])}**: {esc(het['sentence'])}")
    if len(lines) == 2:
        lines.append(
            "Every estimated curve agrees in shape with the model's, and no effect was found to "
            "vary across units (see the HTML report for the curves)."
        )
    return "\n".join(lines)


def html_section(
    data: Any,
    curves: Any,
    render_plot: Any,
    include_plots: bool,
    attributions: Any = None,
) -> dict[str, Any]:
    """The template context of the report's "Dose-response curves" section.

    ``render_plot(make, alt, enabled)`` is the HTML renderer's plot helper (a failed plot
    becomes a note, never an exception).
    """
    outcome = str(data.get("outcome", "outcome")) if hasattr(data, "get") else "outcome"
    rows = []
    for name, curve in curves.by_feature.items():
        het = curves.heterogeneity.get(name)
        rows.append(
            {
                "name": name,
                "finding": curve.finding.sentence if curve.finding else "",
                "kind": curve.finding.kind if curve.finding else "",
                "model_curve": curve.model_curve,
                "heterogeneity": het.sentence if het is not None else "",
                "plot": render_plot(
                    lambda curve=curve: plot_curve(curve, attributions, outcome=outcome),
                    f"causal dose-response curve of {name} over the model's dependence",
                    include_plots,
                ),
            }
        )
    untested = [
        {"name": name, "sentence": het.sentence}
        for name, het in curves.heterogeneity.items()
        if name not in curves.by_feature
    ]
    return {"rows": rows, "heterogeneity_only": untested, "skipped": dict(curves.skipped)}
