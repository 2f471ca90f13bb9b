"""Plots of the stage results: the DAG, dependence plots, the refuters per feature, a forest plot.

Each plot is its own function that takes stage results and returns a
:class:`matplotlib.figure.Figure`; :func:`to_svg` renders a figure to SVG text and releases it.
Figures are built without ``matplotlib.pyplot`` (see :mod:`causalinterp.render._figure`). The
DAG lives in :mod:`causalinterp.render.dag` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from causalinterp.render._figure import (
    BLUE,
    BLUE_FILL,
    GREEN,
    GREY,
    INK,
    ORANGE,
    POINTS,
    RED,
    RED_FILL,
    fit_margins,
    new_figure,
    set_title,
    text_width,
    to_svg,
)
from causalinterp.render._figure import label as _label
from causalinterp.render.dag import dag_layout, plot_dag

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from causalinterp.attribute.attributions import Attributions
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects, FeatureEffect
    from causalinterp.refute.results import RefutationResult
    from causalinterp.verdicts import FeatureVerdict

__all__ = [
    "BLUE",
    "BLUE_FILL",
    "GREEN",
    "GREY",
    "INK",
    "ORANGE",
    "POINTS",
    "RED",
    "RED_FILL",
    "dag_layout",
    "plot_dag",
    "plot_dependence",
    "plot_effects_vs_attributions",
    "plot_refutation",
    "plot_refutations",
    "to_svg",
]


def plot_dependence(
    feature: str,
    effects: Effects,
    attributions: Attributions,
    *,
    checked: CheckedData | None = None,
    verdicts: Mapping[str, FeatureVerdict] | None = None,
    max_points: int = 2000,
) -> Figure:
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
    feature : str
        A model feature.
    effects : Effects
        The causal effects; the feature's is drawn.
    attributions : Attributions
        The SHAP values and feature values of the rows explained.
    checked : CheckedData, optional
        For the feature's kind and, for a categorical one, its levels; without it the
        feature is drawn as continuous.
    verdicts : Mapping[str, FeatureVerdict], optional
        A flagged feature's title is red.
    max_points : int, default 2000
        At most this many points are drawn (a fixed, seeded subsample).

    Returns
    -------
    matplotlib.figure.Figure
    """
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
    kind = checked.kinds.get(feature, "continuous") if checked is not None else "continuous"
    if kind != "continuous" or np.unique(x).size <= 10:
        # Spread the columns of a discrete feature so overlapping points stay visible.
        spread = 0.03 * max(float(np.ptp(x)), 1.0)
        shown_x = shown_x + np.random.default_rng(1).uniform(-spread, spread, shown_x.size)

    fig = new_figure(5.6, 4.2, margins={})  # fitted to the tick labels below
    ax = fig.add_subplot()
    ax.axhline(0.0, color="#cfd8dc", lw=0.8, zorder=0)
    ax.scatter(shown_x, shown_y, s=9, alpha=0.45, color=POINTS, lw=0, rasterized=True, label="rows")
    low, high = float(x.min()), float(x.max())
    if high == low:
        low, high = low - 0.5, high + 0.5
    grid = np.linspace(low, high, 64)

    effect = effects.by_feature.get(feature)
    estimate = effect.estimate if effect is not None else None
    if kind == "categorical" and checked is not None:
        _draw_level_effects(ax, checked, effect, feature, x, y)
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

    verdict = (verdicts or {}).get(feature)
    set_title(
        ax, _label(feature, 60), fontsize=10, color=RED if verdict and verdict.flagged else INK
    )
    unit = "level" if kind == "categorical" else "value"
    ax.set_xlabel(f"{_label(feature, 40)} ({unit})", fontsize=9)
    ax.set_ylabel(f"SHAP value ({_label(attributions.scale, 20)})", fontsize=9)
    if kind != "categorical":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.tick_params(labelsize=8)
    fig.legend(loc="lower center", ncols=2, fontsize=7, frameon=False)
    fit_margins(ax, tick_size=8, bottom=1.1, top=0.34)
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
    ax: Axes,
    checked: CheckedData,
    effect: FeatureEffect | None,
    feature: str,
    codes: np.ndarray,
    shap: np.ndarray,
) -> None:
    """Per level of a categorical feature: the model's mean SHAP value and the causal effect.

    A level's causal effect is a contrast with the reference level, so it is drawn from the
    reference level's mean SHAP value: the model's own contrast is the gap between the two
    mean SHAP values, and where a level's mean SHAP value falls outside its effect's interval
    the model's contrast is not causal. Level codes index ``levels`` (the x axis).
    """
    labels, reference = checked.level_codes(feature)
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


def plot_refutation(result: RefutationResult, *, expected: float | None = None) -> Figure:
    """Histogram of one refuter's simulated estimates.

    The original estimate is a solid blue line, the value a sound effect should give under
    this refuter (the result's ``expected``: 0 for placebo-type refuters, the original
    estimate for the others) a dashed green line.

    Parameters
    ----------
    result : RefutationResult
        One refuter applied to one feature.
    expected : float, optional
        Override the result's expected value.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(result.distribution, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no simulated estimates to plot")
    # The refuter states what it expects; None means it has no single expected value.
    target = result.expected if expected is None else expected
    target = None if target is None else float(target)

    # The right margin leaves room for half of the last tick label: a narrow distribution
    # has long labels (e.g. -0.026625) centred on the axis' right end.
    fig = new_figure(4.4, 3.0, margins={"left": 0.13, "right": 0.9, "bottom": 0.27, "top": 0.89})
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
    set_title(
        ax,
        f"{_label(str(result.name).replace('_', ' '), 36)}: {status} (adjusted p = {p_text})",
        fontsize=9,
        color=INK if result.passed else RED,
    )
    ax.set_xlabel("simulated estimate", fontsize=8)
    ax.set_ylabel("count", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.tick_params(labelsize=7)
    fig.legend(loc="lower center", ncols=2, fontsize=7, frameon=False)
    return fig


def plot_refutations(results: Sequence[RefutationResult], *, max_points: int = 300) -> Figure:
    """Every refuter of one feature in one figure: a row of simulated estimates per refuter.

    The rows share the effect's axis, so one look shows where the original estimate (solid
    blue line) sits against each refuter's simulated estimates (grey points; the grey bar spans
    their central 95%) and against the value a sound effect should give under that refuter
    (dashed green mark: 0 for placebo-type refuters, the original estimate for the others).
    Each row is headed by the refuter's result and adjusted p-value, in red unless it passed.
    :func:`plot_refutation` draws one refuter's histogram instead.

    Parameters
    ----------
    results : sequence of RefutationResult
        The refuters of one feature, drawn top to bottom in this order.
    max_points : int, default 300
        At most this many points per row (a fixed, seeded subsample; the bar uses them all).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from causalinterp.refute.results import RefutationResult
    >>> placebo = RefutationResult("placebo_treatment", "x", 0.5, np.random.default_rng(0)
    ...                            .normal(0, 0.05, 100), 0.4, 0.4, True, expected=0.0)
    >>> fig = plot_refutations([placebo])
    >>> len(fig.axes)
    1
    """
    if not results:
        raise ValueError("no refuter results to plot")
    rows = len(results)
    fig = new_figure(5.6, 0.62 * rows + 1.05, margins={})  # fitted to the labels below
    ax = fig.add_subplot()
    original = float(results[0].original)
    if np.isfinite(original):
        ax.axvline(original, color=BLUE, lw=2.0, zorder=1)
    label_at = ax.get_yaxis_transform()  # x in axes fractions, y in rows
    points = []
    for index, result in enumerate(results):
        row = rows - 1 - index
        values = np.asarray(result.distribution, dtype=float).ravel()
        values = values[np.isfinite(values)]
        status = result.status.value.replace("_", " ")
        heading = f"{_label(str(result.name).replace('_', ' '), 36)}: {status}"
        if np.isfinite(result.p_adjusted):
            heading += f" (adjusted p = {result.p_adjusted:.3g})"
        # On a white box: the original estimate's line may run through the heading.
        ax.text(
            0.01,
            row + 0.44,
            heading,
            transform=label_at,
            fontsize=8,
            va="top",
            color=INK if result.passed else RED,  # a refuter that did not run did not pass
            zorder=4,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
        )
        if values.size == 0:
            ax.text(
                0.5,
                row - 0.1,
                "no simulated estimates",
                transform=label_at,
                fontsize=8,
                ha="center",
                va="center",
                color=GREY,
            )
            continue
        low, high = np.quantile(values, [0.025, 0.975])
        ax.plot(
            [low, high],
            [row - 0.1, row - 0.1],
            color=GREY,
            lw=5,
            alpha=0.45,
            solid_capstyle="butt",
            zorder=1,
        )
        shown = values
        if shown.size > max_points:
            shown = np.random.default_rng(index).choice(shown, max_points, replace=False)
        jitter = np.random.default_rng(rows + index).uniform(-0.14, 0.14, shown.size)
        points.append(np.column_stack([shown, row - 0.1 + jitter]))
        if result.expected is not None and np.isfinite(result.expected):
            ax.plot(
                [result.expected] * 2,
                [row - 0.36, row + 0.16],
                color=GREEN,
                lw=1.8,
                ls="--",
                zorder=3,
            )
    if points:
        # One raster for every row's points: each rasterized artist is its own pixel pass.
        xy = np.concatenate(points)
        ax.scatter(
            xy[:, 0], xy[:, 1], s=7, color=POINTS, alpha=0.55, lw=0, zorder=2, rasterized=True
        )
    ax.set_ylim(-0.55, rows - 0.45)
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.tick_params(labelsize=7)
    ax.set_xlabel("simulated estimate of the effect", fontsize=8)
    handles = [
        Line2D(
            [],
            [],
            color=BLUE,
            lw=2.0,
            label=f"original estimate ({original:.3g})"
            if np.isfinite(original)
            else "original estimate (none)",
        ),
        Line2D([], [], color=GREEN, lw=1.8, ls="--", label="expected if sound"),
        Line2D([], [], color=POINTS, marker="o", ms=4, lw=0, label="simulations"),
    ]
    fig.legend(handles=handles, loc="lower center", ncols=3, fontsize=7, frameon=False)
    fit_margins(ax, tick_size=7, bottom=0.72, top=0.08)
    return fig


# ------------------------------------------------------------------------------ forest plot


def _unit_scale(checked: CheckedData, attributions: Attributions, feature: str) -> float:
    """One standard deviation of a continuous feature; 1 for binary and categorical ones."""
    if checked.kinds.get(feature, "continuous") != "continuous":
        return 1.0
    for frame in (checked.frame, attributions.feature_values):
        if feature in getattr(frame, "columns", ()):
            sd = float(np.nanstd(np.asarray(frame[feature], dtype=float), ddof=1))
            if np.isfinite(sd) and sd > 0:
                return sd
    return 1.0


def plot_effects_vs_attributions(
    effects: Effects,
    attributions: Attributions,
    verdicts: Mapping[str, FeatureVerdict],
    *,
    checked: CheckedData,
) -> Figure:
    """Forest plot: each feature's causal effect (with 95% CI) beside its attribution slope.

    Both are put on a common scale, the change in the outcome for a one-standard-deviation
    change of a continuous feature (0 to 1 for a binary one), so rows can be compared. Flagged
    features are labelled and shaded red.

    Parameters
    ----------
    effects : Effects
        The causal effects.
    attributions : Attributions
        The attribution slopes (and the feature values, for the scale).
    verdicts : Mapping[str, FeatureVerdict]
        Flagged features are shaded red.
    checked : CheckedData
        The model's features (rows, in the model's order) and their kinds.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names: Sequence[str] = list(checked.features) or [
        str(c) for c in attributions.shap_values.columns
    ]
    if not names:
        raise ValueError("there are no features to plot")
    height = 0.42 * len(names) + 1.6
    labels_width = text_width([_label(n, 30) for n in names], 8, bold=True)
    fig = new_figure(
        7.2,
        height,
        margins={
            "left": (labels_width + 0.2) / 7.2,
            "right": 1 - 0.15 / 7.2,
            "bottom": 0.85 / height,
            "top": 1 - 0.1 / height,
        },
    )
    ax = fig.add_subplot()
    ax.axvline(0.0, color="#90a4ae", lw=1.0, zorder=0)
    top = len(names) - 1
    for index, name in enumerate(names):
        row = top - index
        verdict = verdicts.get(name)
        if verdict is not None and verdict.flagged:
            ax.axhspan(row - 0.45, row + 0.45, color=RED_FILL, zorder=0, lw=0)
        scale = _unit_scale(checked, attributions, name)
        effect = effects.by_feature.get(name)
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
                "  0 (no causal path in the DAG)"
                if effect is not None and effect.status == "no_path"
                else f"  no estimate ({status})",
                fontsize=7,
                color="#757575",
                va="center",
                ha="left",
            )
        attribution = attributions.by_feature.get(name)
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
    fig.legend(handles=handles, loc="lower center", ncols=3, fontsize=8, frameon=False)
    return fig
