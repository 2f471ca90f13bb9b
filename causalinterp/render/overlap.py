"""The overlap section of the report: populations, positivity diagnostics, propensity plots.

:func:`estimand_of`, :func:`effect_population`, :func:`attribution_population` and
:func:`overlap_json` are the parts of ``report.json`` this section owns (the estimand, each
number's population and each estimated feature's overlap diagnosis,
:mod:`causalinterp.estimate.overlap`), composed by
:func:`causalinterp.render.json.report_dict`. :func:`plot_propensity` draws a binary
treatment's propensity histograms by arm for ``report.html``; :func:`html_view` gives the
template what it shows per feature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from causalinterp.estimate.estimands import population_of
from causalinterp.estimate.overlap import BOUNDS, EDGES, TRIM_BOUNDS, Overlap

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from causalinterp.attribute.attributions import Attributions
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects

__all__ = [
    "attribution_population",
    "effect_population",
    "estimand_of",
    "html_view",
    "overlap_json",
    "plot_propensity",
]


def attribution_population(effects: Effects, attributions: Attributions, name: str) -> str:
    """The rows the attribution slope of ``name`` is taken over, in words (``report.json``'s
    ``attribution.population``)."""
    rows = int(attributions.rows_explained)
    estimand = estimand_of(effects)
    kept = getattr(effects, "nuisances", {}).get(name)
    if estimand != "ate" and getattr(kept, "propensity", None) is not None:
        whom = "treated" if estimand == "att" else "untreated"
        return (
            f"SHAP on {rows} explained rows, the other arm reweighted by the propensity odds "
            f"to stand for the {whom} rows (same population as the effect)"
        )
    return f"SHAP on {rows} explained rows (of {int(attributions.rows_total)})"


def estimand_of(effects: Effects) -> str:
    """The estimand the effects average over (``report.json``'s ``settings.estimand``)."""
    return getattr(effects, "estimand", "ate")


def effect_population(effect: Any, checked: CheckedData, effects: Effects) -> str:
    """The rows ``effect`` averages over, in words (``report.json``'s ``effect.population``)."""
    return population_of(effect, checked, estimand_of(effects))


def overlap_json(effects: Effects, name: str) -> dict[str, Any] | None:
    """The ``overlap`` object of a feature in ``report.json`` (:meth:`Overlap.to_dict`);
    None for a feature without an estimate."""
    overlap: Mapping[str, Overlap] = getattr(effects, "overlap", {})
    found = overlap.get(name)
    return None if found is None else found.to_dict()


def plot_propensity(overlap: Overlap) -> Figure:
    """Histograms of a binary treatment's propensity, treated above and controls below.

    The positivity bounds (0.01, 0.99) are drawn dashed and the Crump et al. trimming
    bounds (0.1, 0.9) dotted; the controls' bars point down so both arms share one axis.

    Parameters
    ----------
    overlap : Overlap
        A binary diagnosis (``kind="binary"``) with its histogram.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For a diagnosis without a propensity histogram.

    Examples
    --------
    >>> import numpy as np
    >>> from causalinterp.estimate.overlap import binary_overlap
    >>> o = binary_overlap("t", np.array([1, 0] * 50), np.linspace(0, 1, 100))
    >>> len(plot_propensity(o).axes)
    1
    """
    # matplotlib only when a plot is drawn: report.json does not need it.
    from causalinterp.render._figure import BLUE, GREY, ORANGE, label, new_figure, set_title

    if overlap.kind != "binary" or not overlap.histogram:
        raise ValueError(f"{overlap.feature}: no propensity histogram (a {overlap.kind} diagnosis)")
    edges = np.asarray(EDGES)
    width = np.diff(edges)
    treated = np.asarray(overlap.histogram["treated"], dtype=float)
    control = np.asarray(overlap.histogram["control"], dtype=float)
    # Shares within each arm, so a small treated group stays visible beside many controls.
    treated = treated / max(treated.sum(), 1.0)
    control = control / max(control.sum(), 1.0)
    fig = new_figure(5.6, 2.8, margins={"left": 0.12, "right": 0.97, "top": 0.86, "bottom": 0.17})
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(
        edges[:-1],
        treated,
        width=width,
        align="edge",
        color=ORANGE,
        alpha=0.8,
        label=f"treated (n = {overlap.n_treated})",
    )
    ax.bar(
        edges[:-1],
        -control,
        width=width,
        align="edge",
        color=BLUE,
        alpha=0.8,
        label=f"untreated (n = {overlap.n_control})",
    )
    for x in BOUNDS:
        ax.axvline(x, color=GREY, linestyle="--", linewidth=1)
    for x in TRIM_BOUNDS:
        ax.axvline(x, color=GREY, linestyle=":", linewidth=1)
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set_xlim(0, 1)
    top = max(float(treated.max()), float(control.max()), 0.05)
    ax.set_ylim(-top * 1.1, top * 1.1)
    ticks = [t for t in ax.get_yticks() if abs(t) <= top * 1.1]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{abs(t):.0%}" for t in ticks])
    ax.set_xlabel(f"propensity P({label(overlap.feature)} = 1 | controls)")
    ax.set_ylabel("share of arm")
    outside = overlap.share_outside
    decided = overlap.determined
    if decided is not None and decided.rule:
        # The cause first: the histograms only show its consequence.
        title = f"{label(overlap.feature)}: decided by {decided.in_words}"
    else:
        title = (
            f"{label(overlap.feature)}: {outside:.0%} of the rows the "
            f"{overlap.estimand.upper()} needs are outside [{BOUNDS[0]:g}, {BOUNDS[1]:g}]"
        )
    set_title(ax, title, fontsize=9)
    ax.legend(fontsize=7, loc="upper center", frameon=False, ncol=2)
    return fig


def html_view(
    effects: Effects,
    name: str,
    render_plot: Callable[[Callable[[], Any], str, bool], dict[str, Any]],
    include_plots: bool,
) -> dict[str, Any] | None:
    """What the HTML template shows of a feature's overlap: a sentence and the plots.

    Returns None for a feature without a diagnosis.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> html_view(SimpleNamespace(overlap={}), "x", None, False) is None
    True
    """
    found: Overlap | None = getattr(effects, "overlap", {}).get(name)
    if found is None:
        return None
    parts = [found] if found.kind == "binary" else [lv for lv in found.levels if lv.histogram]
    plots = [
        render_plot(
            lambda o=o: plot_propensity(o),
            f"propensity histograms of {o.feature} by arm",
            include_plots,
        )
        for o in parts
    ]
    return {"ok": found.ok, "text": _sentence(found), "plots": plots}


def _sentence(o: Overlap) -> str:
    if o.ok is None:
        return o.problem or "Overlap was not checked."
    if o.ok is False:
        return o.problem[0].upper() + o.problem[1:] + "."
    if o.kind == "binary":
        return (
            f"Overlap holds for the {o.estimand.upper()}: {o.share_outside:.1%} of the rows it "
            f"needs have a propensity outside [{BOUNDS[0]:g}, {BOUNDS[1]:g}]; effective sample "
            f"sizes {o.ess_treated:.0f} treated of {o.n_treated}, {o.ess_control:.0f} untreated "
            f"of {o.n_control}."
        )
    if o.kind == "continuous":
        return (
            f"Overlap holds: the adjustment set leaves {o.variance_share:.1%} of the feature's "
            "variance."
        )
    return f"Overlap holds at every level ({len(o.levels)} against the reference)."


def markdown_line(data: Mapping[str, Any]) -> str:
    """The population sentence of ``report.md`` for an ``att``/``atc`` run ("" for ``ate``,
    whose effects and slopes are over all rows, as the table's header implies).

    Examples
    --------
    >>> markdown_line({"settings": {"estimand": "ate"}, "features": []})
    ''
    >>> markdown_line({"settings": {"estimand": "att"}, "features": []})[:40]
    'Estimand ATT: effects of binary treatmen'
    """
    estimand = (data.get("settings") or {}).get("estimand", "ate")
    if estimand == "ate":
        return ""
    whom = "treated" if estimand == "att" else "untreated"
    return (
        f"Estimand {estimand.upper()}: effects of binary treatments are averaged over the {whom} "
        f"rows, and their attribution slopes are taken on the same population; other features "
        "keep their own population (see each feature's population in report.json)."
    )
