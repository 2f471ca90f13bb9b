"""Plots of a :class:`~causalinterp.report.Report`.

Each plot is its own function that takes result objects and returns a
:class:`matplotlib.figure.Figure`; :func:`to_svg` renders a figure to SVG text and releases it.
Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``matplotlib.pyplot``, so no global backend is switched and no figure is left registered
anywhere (nothing leaks when plotting hundreds of features).
"""

from __future__ import annotations

import io
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from causalinterp.estimate.effects import FeatureEffect
    from causalinterp.refute.refutation import RefutationResult
    from causalinterp.report import Report

__all__ = [
    "dag_layout",
    "expected_value",
    "plot_dag",
    "plot_dependence",
    "plot_effects_vs_attributions",
    "plot_refutation",
    "to_svg",
]

RED = "#c62828"
RED_FILL = "#fdecea"
BLUE = "#1565c0"
BLUE_FILL = "#e3f2fd"
ORANGE = "#ef6c00"
GREEN = "#2e7d32"
GREY = "#9e9e9e"
INK = "#263238"
POINTS = "#78909c"

# Fixed salt and no date: the same figure gives the same SVG bytes on every run.
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SVG_RC = {"svg.fonttype": "path", "svg.hashsalt": "causalinterp", "text.usetex": False}


def _label(name: object, width: int = 28) -> str:
    """A name made safe for a matplotlib label: one line, no mathtext, at most ``width`` chars."""
    text = " ".join(str(name).split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    # An unescaped pair of "$" would switch matplotlib to mathtext and may fail to parse.
    return text.replace("$", r"\$")


def _new_figure(
    width: float, height: float, *, margins: Mapping[str, float] | None = None
) -> Figure:
    # Fixed margins for the many small per-feature plots: constrained layout costs a third of
    # the rendering time and their labels have a known size.
    fig = Figure(figsize=(width, height), layout=None if margins else "constrained")
    if margins:
        fig.subplots_adjust(**margins)
    fig.patch.set_facecolor("white")
    return fig


def to_svg(fig: Figure, *, close: bool = True) -> str:
    """Render ``fig`` to SVG text (text drawn as paths, so it needs no fonts and is inert).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    close : bool, default True
        Release the figure after rendering: clear it and, if pyplot manages it, close it.

    Returns
    -------
    str
        The SVG document, without the XML prolog so it can also be inlined in HTML.
    """
    buffer = io.StringIO()
    try:
        with matplotlib.rc_context(_SVG_RC), warnings.catch_warnings():
            # Names in scripts the bundled font lacks are drawn as boxes; that is not an error.
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
            warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
            fig.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        if close:
            _release(fig)
    text = buffer.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    # matplotlib annotates each drawn string in a comment; names stay in the picture only.
    return _COMMENT.sub("", text)


def _release(fig: Figure) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()


# ------------------------------------------------------------------------------------- DAG


def dag_layout(graph: nx.DiGraph, *, sweeps: int = 6) -> dict[str, tuple[float, float]]:
    """Layered left-to-right layout of a DAG.

    Layers are the topological generations (a node sits one layer right of its deepest parent);
    nodes inside a layer are ordered by the barycentre of their neighbours in the adjacent
    layers (alternating downward and upward sweeps), which removes most edge crossings.
    Deterministic: ties break on the node name.

    Parameters
    ----------
    graph : networkx.DiGraph
        A directed acyclic graph.
    sweeps : int, default 6
        Number of down-and-up ordering sweeps.

    Returns
    -------
    dict
        Node -> (x, y); x is the layer index, y is centred on 0 inside each layer.
    """
    layers = [sorted(map(str, gen)) for gen in nx.topological_generations(graph)]
    position: dict[str, float] = {}

    def place(layer: list[str]) -> None:
        middle = (len(layer) - 1) / 2
        for index, node in enumerate(layer):
            position[node] = index - middle

    for layer in layers:
        place(layer)

    def reorder(layer: list[str], neighbours) -> None:
        def key(node: str) -> tuple[float, float, str]:
            found = [position[n] for n in neighbours(node) if n in position]
            centre = float(np.mean(found)) if found else position[node]
            return (centre, position[node], node)

        layer.sort(key=key)
        place(layer)

    for _ in range(sweeps):
        for layer in layers[1:]:
            reorder(layer, graph.predecessors)
        for layer in reversed(layers[:-1]):
            reorder(layer, graph.successors)

    return {node: (float(x), -position[node]) for x, layer in enumerate(layers) for node in layer}


def _pick_rad(
    u: str,
    v: str,
    pos: Mapping[str, tuple[float, float]],
    half_sizes: Mapping[str, tuple[float, float]],
    x_inch: float,
    y_inch: float,
    choices: Sequence[float],
    y_range: tuple[float, float] = (-np.inf, np.inf),
) -> float:
    """The arc curvature (matplotlib ``arc3`` rad) whose curve passes farthest from other boxes.

    Works in inches, samples the quadratic Bezier arc3 draws and scores each choice by its
    smallest clearance to the other nodes' boxes; the first choice wins ties, so list the
    preferred (flattest) curvatures first.
    """
    (ux, uy), (vx, vy) = pos[u], pos[v]
    p0 = np.array([ux * x_inch, uy * y_inch])
    p2 = np.array([vx * x_inch, vy * y_inch])
    others = [n for n in pos if n not in (u, v)]
    if not others:
        return float(choices[0])
    # Arrays over all other boxes at once: a Python loop per box made large graphs slow.
    centres = np.array([[pos[n][0] * x_inch, pos[n][1] * y_inch] for n in others])
    halves = np.array([half_sizes[n] for n in others], dtype=float)
    t = np.linspace(0.1, 0.9, 17)[:, None]
    best, best_score = float(choices[0]), -np.inf
    for rad in choices:
        d = p2 - p0
        control = (p0 + p2) / 2 + rad * np.array([d[1], -d[0]])
        curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * control + t**2 * p2
        gaps = np.abs(curve[:, None, :] - centres[None, :, :]) - halves[None, :, :]
        clearance = float(np.min(np.max(gaps, axis=2)))
        score = min(clearance, 0.12)  # beyond a small gap, prefer the flatter curve
        peak, trough = float(curve[:, 1].max()), float(curve[:, 1].min())
        if peak > y_range[1] * y_inch or trough < y_range[0] * y_inch:
            score -= 10.0  # would leave the drawing area
        if score > best_score + 1e-9:
            best, best_score = float(rad), score
    return best


def plot_dag(report: Report, *, label_width: int = 22) -> Figure:
    """Draw the report's causal DAG.

    The outcome is highlighted in blue, flagged features in red, other model features in
    black, other observed variables in grey and latent (unobserved) nodes dashed and grey.
    Each implied independence the data reject is drawn as a dashed red line between the pair.

    Parameters
    ----------
    report : Report
        The report whose graph, verdicts and graph test are drawn.
    label_width : int, default 22
        Node labels longer than this are shortened with an ellipsis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = report.graph.to_networkx()
    if g.number_of_nodes() == 0:
        raise ValueError("the graph has no nodes")
    pos = dag_layout(g)
    n_layers = int(max(x for x, _ in pos.values())) + 1
    widest = max(sum(1 for x, _ in pos.values() if x == layer) for layer in range(n_layers))

    outcome = report.checked.outcome
    features = set(report.checked.features)
    flagged = {name for name, v in report.verdicts.items() if v.flagged}
    observed = set(report.checked.observed) | features | {outcome}
    latent = set(report.checked.latent) | {n for n in g.nodes if n not in observed}

    width = min(18.0, max(5.5, 2.0 * n_layers + 0.8))
    height = min(16.0, max(2.8, 0.75 * widest + 1.4))
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(-0.7, n_layers - 0.3)
    ys = [y for _, y in pos.values()]
    y_low, y_high = min(ys) - 0.85, max(ys) + 0.85
    ax.set_ylim(y_low, y_high)

    boxes = {}
    for node, (x, y) in sorted(pos.items()):
        style = {"fc": "white", "ec": INK, "lw": 1.0, "ls": "-"}
        text_kw = {"color": INK, "fontsize": 9}
        if node == outcome:
            style.update(fc=BLUE_FILL, ec=BLUE, lw=2.2)
            text_kw.update(color=BLUE, fontweight="bold")
        elif node in flagged:
            style.update(fc=RED_FILL, ec=RED, lw=1.8)
            text_kw.update(color=RED, fontweight="bold")
        elif node in latent:
            style.update(fc="white", ec=GREY, ls="--")
            text_kw.update(color="#616161", fontstyle="italic")
        elif node not in features:
            style.update(fc="#f5f5f5", ec="#90a4ae")
            text_kw.update(color="#455a64")
        boxes[node] = ax.text(
            x,
            y,
            _label(node, label_width),
            ha="center",
            va="center",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.35", **style},
            **text_kw,
        )

    # Inches per data unit: curvature is chosen in inches, where arc3 bends.
    x_inch = width * 0.98 / (n_layers + 0.4)
    y_inch = height * 0.85 / (max(ys) - min(ys) + 1.7)
    half_sizes = {node: (0.045 * len(_label(node, label_width)) + 0.12, 0.16) for node in pos}

    def bend(u: str, v: str, choices: Sequence[float]) -> float:
        return _pick_rad(u, v, pos, half_sizes, x_inch, y_inch, choices, (y_low, y_high))

    for u, v in sorted(g.edges):
        from_latent = u in latent
        adjacent = abs(pos[v][0] - pos[u][0]) <= 1
        rad = bend(u, v, (0.08, -0.08) if adjacent else (0.12, -0.12, 0.25, -0.25, 0.4, -0.4))
        ax.annotate(
            "",
            xy=pos[v],
            xytext=pos[u],
            zorder=2,
            arrowprops={
                "arrowstyle": "-|>",
                "mutation_scale": 12,
                "color": GREY if from_latent else "#546e7a",
                "linestyle": "--" if from_latent else "-",
                "lw": 1.1,
                "shrinkA": 2,
                "shrinkB": 2,
                "patchA": boxes[u].get_bbox_patch(),
                "patchB": boxes[v].get_bbox_patch(),
                "connectionstyle": f"arc3,rad={rad:.3f}",
            },
        )

    violations = report.graph_test.violations if report.graph_test is not None else ()
    drawn = 0
    for item in violations:
        if item.x not in boxes or item.y not in boxes:
            continue
        drawn += 1
        (x0, y0), (x1, y1) = pos[item.x], pos[item.y]
        span = float(np.hypot((x1 - x0) * x_inch, (y1 - y0) * y_inch))
        # Bulge at most ~0.45 inch, so the arc stays inside the figure.
        limit = min(0.35, 0.9 / span) if span > 0 else 0.35
        rad = bend(item.x, item.y, (-limit, limit, -limit / 2, limit / 2))
        ax.annotate(
            "",
            xy=pos[item.y],
            xytext=pos[item.x],
            zorder=1,
            annotation_clip=False,
            arrowprops={
                "arrowstyle": "-",
                "color": RED,
                "linestyle": (0, (4, 3)),
                "lw": 1.6,
                "shrinkA": 2,
                "shrinkB": 2,
                "patchA": boxes[item.x].get_bbox_patch(),
                "patchB": boxes[item.y].get_bbox_patch(),
                "connectionstyle": f"arc3,rad={rad:.3f}",
            },
        )

    handles = [
        Patch(fc=BLUE_FILL, ec=BLUE, lw=2, label="outcome"),
        Patch(fc=RED_FILL, ec=RED, lw=1.5, label="flagged feature"),
        Patch(fc="white", ec=INK, label="model feature"),
    ]
    if any(n not in features and n != outcome and n not in latent for n in g.nodes):
        handles.append(Patch(fc="#f5f5f5", ec="#90a4ae", label="observed, not in model"))
    if latent & set(g.nodes):
        handles.append(Patch(fc="white", ec=GREY, ls="--", label="latent (not in data)"))
    if drawn:
        handles.append(
            Line2D([], [], color=RED, ls=(0, (4, 3)), lw=1.6, label="independence rejected")
        )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 6),
        fontsize=8,
        frameon=False,
    )
    return fig


# ------------------------------------------------------------------------ dependence plot


def plot_dependence(report: Report, feature: str, *, max_points: int = 2000) -> Figure:
    """SHAP dependence plot of one feature with its causal effect overlaid.

    Points are the SHAP values of the rows explained against the feature's values. Through the
    cloud's mean point run the causal effect line (slope = the estimated average effect per
    unit, with its 95% interval as a shaded band) and the attribution-slope line (the slope the
    model's SHAP values imply). Where they disagree, the model's explanation is not causal.
    A categorical feature has no unit: its plot shows the model's mean SHAP value per level
    and each level's causal effect against the reference level, drawn from the reference
    level's mean SHAP value.

    Parameters
    ----------
    report : Report
        The report holding the attributions and effects.
    feature : str
        A model feature.
    max_points : int, default 2000
        At most this many points are drawn (a fixed, seeded subsample).

    Returns
    -------
    matplotlib.figure.Figure
    """
    attributions = report.attributions
    if feature not in attributions.shap_values.columns:
        raise ValueError(f"no SHAP values for feature {feature!r}")
    if feature not in attributions.feature_values.columns:
        raise ValueError(f"no feature values for feature {feature!r}")
    x = np.asarray(attributions.feature_values[feature], dtype=float)
    y = np.asarray(attributions.shap_values[feature], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        raise ValueError(f"no finite SHAP values for feature {feature!r}")
    x_mean, y_mean = float(x.mean()), float(y.mean())

    shown_x, shown_y = x, y
    if x.size > max_points:
        pick = np.sort(np.random.default_rng(0).choice(x.size, size=max_points, replace=False))
        shown_x, shown_y = x[pick], y[pick]
    kind = report.checked.kinds.get(feature, "continuous")
    if kind != "continuous" or np.unique(x).size <= 10:
        # Spread the columns of a discrete feature so overlapping points stay visible.
        spread = 0.03 * max(float(np.ptp(x)), 1.0)
        shown_x = shown_x + np.random.default_rng(1).uniform(-spread, spread, shown_x.size)

    fig = _new_figure(5.6, 4.2, margins={"left": 0.15, "right": 0.97, "bottom": 0.26, "top": 0.92})
    ax = fig.add_subplot()
    ax.axhline(0.0, color="#cfd8dc", lw=0.8, zorder=0)
    ax.scatter(shown_x, shown_y, s=9, alpha=0.45, color=POINTS, lw=0, rasterized=True, label="rows")
    low, high = float(x.min()), float(x.max())
    if high == low:
        low, high = low - 0.5, high + 0.5
    grid = np.linspace(low, high, 64)

    effect = report.effects.by_feature.get(feature)
    estimate = effect.estimate if effect is not None else None
    if kind == "categorical":
        _draw_level_effects(ax, report, feature, x, y)
    elif estimate is not None and np.isfinite(estimate.estimate):
        if np.isfinite(estimate.ci_low) and np.isfinite(estimate.ci_high):
            band_a = y_mean + estimate.ci_low * (grid - x_mean)
            band_b = y_mean + estimate.ci_high * (grid - x_mean)
            ax.fill_between(
                grid,
                np.minimum(band_a, band_b),
                np.maximum(band_a, band_b),
                color=BLUE,
                alpha=0.15,
                lw=0,
                label="95% CI of the effect",
            )
        ax.plot(
            grid,
            y_mean + estimate.estimate * (grid - x_mean),
            color=BLUE,
            lw=2.0,
            label=f"causal effect ({estimate.estimate:.3g} per unit)",
        )
    else:
        _note_no_estimate(ax, effect)

    attribution = attributions.by_feature.get(feature)
    if kind != "categorical" and attribution is not None and np.isfinite(attribution.slope):
        ax.plot(
            grid,
            y_mean + attribution.slope * (grid - x_mean),
            color=ORANGE,
            lw=1.8,
            ls="--",
            label=f"attribution slope ({attribution.slope:.3g} per unit)",
        )
    if kind != "categorical":
        ax.plot([x_mean], [y_mean], marker="X", ms=7, color=INK, lw=0, label="mean point")

    verdict = report.verdicts.get(feature)
    ax.set_title(
        _label(feature, 60), fontsize=10, color=RED if verdict and verdict.flagged else INK
    )
    unit = "level" if kind == "categorical" else "value"
    ax.set_xlabel(f"{_label(feature, 40)} ({unit})", fontsize=9)
    ax.set_ylabel(f"SHAP value ({_label(report.attributions.scale, 20)})", fontsize=9)
    if kind != "categorical":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.tick_params(labelsize=8)
    fig.legend(loc="lower center", ncols=2, fontsize=7, frameon=False)
    return fig


def _note_no_estimate(ax: Axes, effect: FeatureEffect | None) -> None:
    status = effect.status.replace("_", " ") if effect is not None else "missing"
    ax.text(
        0.02,
        0.97,
        f"no causal estimate: {status}",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=8,
        color=RED,
    )


def _draw_level_effects(
    ax: Axes, report: Report, feature: str, codes: np.ndarray, shap: np.ndarray
) -> None:
    """Per level of a categorical feature: the model's mean SHAP value and the causal effect.

    A level's causal effect is a contrast with the reference level, so it is drawn from the
    reference level's mean SHAP value: the model's own contrast is the gap between the two
    mean SHAP values, and where a level's mean SHAP value falls outside its effect's interval
    the model's contrast is not causal. Level codes index ``levels`` (the x axis).
    """
    labels, reference = report.checked.level_codes(feature)
    means = {
        code: float(shap[codes == code].mean())
        for code in range(len(labels))
        if (codes == code).any()
    }
    ax.plot(
        list(means),
        list(means.values()),
        marker="D",
        ms=6,
        lw=0,
        color=ORANGE,
        label="mean SHAP value per level",
    )
    effect = report.effects.by_feature.get(feature)
    base = means.get(reference)
    drawn = 0
    for level in effect.levels if effect is not None and base is not None else ():
        estimate = level.estimate
        if estimate is None or not np.isfinite(estimate.estimate):
            continue
        centre = base + estimate.estimate
        ax.errorbar(
            [labels.index(level.level) + 0.15],
            [centre],
            yerr=[
                [max(estimate.estimate - estimate.ci_low, 0.0)],
                [max(estimate.ci_high - estimate.estimate, 0.0)],
            ],
            fmt="o",
            ms=5,
            capsize=3,
            lw=1.4,
            color=BLUE,
            label=None
            if drawn
            else f"causal effect against {_label(labels[reference], 20)}, 95% CI",
        )
        drawn += 1
    if not drawn:
        _note_no_estimate(ax, effect)
    ax.set_xticks(
        range(len(labels)),
        [
            _label(label, 14) + (" (reference)" if code == reference else "")
            for code, label in enumerate(labels)
        ],
    )


# ---------------------------------------------------------------------------- refutations


def expected_value(result: RefutationResult) -> float | None:
    """The value a refuter's simulated estimates centre on when the effect is sound.

    The result's own ``expected`` (0 for placebo-type refuters, the original estimate for
    the others). Results without that attribute fall back on the refuter's name: placebo,
    dummy-outcome and permutation refuters expect zero, the rest the original estimate.
    """
    explicit = getattr(result, "expected", None)
    if explicit is not None:
        return float(explicit)
    name = str(result.name).lower()
    if any(word in name for word in ("placebo", "dummy", "permut")):
        return 0.0
    return float(result.original)


def plot_refutation(result: RefutationResult, *, expected: float | None = None) -> Figure:
    """Histogram of one refuter's simulated estimates.

    The original estimate is a solid blue line, the value a sound effect should give under
    this refuter a dashed green line (see :func:`expected_value`).

    Parameters
    ----------
    result : RefutationResult
        One refuter applied to one feature.
    expected : float, optional
        Override the expected value.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(result.distribution, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no simulated estimates to plot")
    target = expected_value(result) if expected is None else float(expected)

    fig = _new_figure(4.4, 3.0, margins={"left": 0.13, "right": 0.97, "bottom": 0.27, "top": 0.89})
    ax = fig.add_subplot()
    bins = int(min(30, max(6, np.sqrt(values.size) * 1.5)))
    ax.hist(values, bins=bins, color="#b0bec5", edgecolor="white", lw=0.5)
    if np.isfinite(result.original):
        ax.axvline(
            result.original,
            color=BLUE,
            lw=2.0,
            label=f"original estimate ({result.original:.3g})",
        )
    if target is not None and np.isfinite(target):
        ax.axvline(target, color=GREEN, lw=1.6, ls="--", label=f"expected ({target:.3g})")
    status = "passed" if result.passed else "failed"
    p_text = f"{result.p_adjusted:.3g}" if np.isfinite(result.p_adjusted) else "n/a"
    ax.set_title(
        f"{_label(str(result.name).replace('_', ' '), 36)}: {status} (adjusted p = {p_text})",
        fontsize=9,
        color=INK if result.passed else RED,
    )
    ax.set_xlabel("simulated estimate", fontsize=8)
    ax.set_ylabel("count", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.tick_params(labelsize=7)
    fig.legend(loc="lower center", ncols=2, fontsize=7, frameon=False)
    return fig


# ------------------------------------------------------------------------------ forest plot


def _unit_scale(report: Report, feature: str) -> float:
    """One standard deviation of a continuous feature; 1 for binary and categorical ones."""
    if report.checked.kinds.get(feature, "continuous") != "continuous":
        return 1.0
    for frame in (report.checked.frame, report.attributions.feature_values):
        if feature in getattr(frame, "columns", ()):
            sd = float(np.nanstd(np.asarray(frame[feature], dtype=float), ddof=1))
            if np.isfinite(sd) and sd > 0:
                return sd
    return 1.0


def plot_effects_vs_attributions(report: Report) -> Figure:
    """Forest plot: each feature's causal effect (with 95% CI) beside its attribution slope.

    Both are put on a common scale, the change in the outcome for a one-standard-deviation
    change of a continuous feature (0 to 1 for a binary one), so rows can be compared. Flagged
    features are labelled and shaded red.

    Parameters
    ----------
    report : Report
        The report to draw.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names: Sequence[str] = list(report.features)
    if not names:
        raise ValueError("the report has no features")
    fig = _new_figure(7.2, 0.42 * len(names) + 1.6)
    ax = fig.add_subplot()
    ax.axvline(0.0, color="#90a4ae", lw=1.0, zorder=0)
    verdicts: Mapping = report.verdicts
    top = len(names) - 1
    for index, name in enumerate(names):
        row = top - index
        verdict = verdicts.get(name)
        if verdict is not None and verdict.flagged:
            ax.axhspan(row - 0.45, row + 0.45, color=RED_FILL, zorder=0, lw=0)
        scale = _unit_scale(report, name)
        effect = report.effects.by_feature.get(name)
        estimate = effect.estimate if effect is not None else None
        if estimate is not None and np.isfinite(estimate.estimate):
            centre = estimate.estimate * scale
            lo, hi = estimate.ci_low * scale, estimate.ci_high * scale
            err = None
            if np.isfinite(lo) and np.isfinite(hi):
                err = [[max(centre - lo, 0.0)], [max(hi - centre, 0.0)]]
            ax.errorbar(
                [centre], [row + 0.13], xerr=err, fmt="o", color=BLUE, ms=5, capsize=3, lw=1.4
            )
        else:
            status = effect.status.replace("_", " ") if effect is not None else "missing"
            ax.text(
                0.0,
                row + 0.13,
                f"  no estimate ({status})",
                fontsize=7,
                color="#757575",
                va="center",
                ha="left",
            )
        attribution = report.attributions.by_feature.get(name)
        if attribution is not None and np.isfinite(attribution.slope):
            ax.plot([attribution.slope * scale], [row - 0.13], "D", color=ORANGE, ms=5)

    ax.set_yticks(range(len(names)))
    labels = ax.set_yticklabels([_label(n, 30) for n in reversed(names)], fontsize=8)
    for tick, name in zip(labels, reversed(names), strict=True):
        verdict = verdicts.get(name)
        if verdict is not None and verdict.flagged:
            tick.set_color(RED)
            tick.set_fontweight("bold")
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel("change in the outcome per 1 SD of the feature (binary: 0 → 1)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#eceff1", lw=0.6)
    handles = [
        Line2D([], [], marker="o", color=BLUE, lw=1.4, label="causal effect, 95% CI"),
        Line2D([], [], marker="D", color=ORANGE, lw=0, label="attribution slope"),
    ]
    if any(v.flagged for v in verdicts.values()):
        handles.append(Patch(color=RED_FILL, label="flagged"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig
