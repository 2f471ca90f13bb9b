"""The causal DAG drawn in layers, left to right, with the graph test's rejected independences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from causalinterp.render._figure import (
    BLUE,
    BLUE_FILL,
    GREY,
    INK,
    RED,
    RED_FILL,
    label,
    new_figure,
)

if TYPE_CHECKING:
    from causalinterp.data import CheckedData
    from causalinterp.graph import CausalGraph
    from causalinterp.graph.independence import GraphTest
    from causalinterp.verdicts import FeatureVerdict

__all__ = ["dag_layout", "plot_dag"]


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


def plot_dag(
    graph: CausalGraph,
    checked: CheckedData,
    *,
    verdicts: Mapping[str, FeatureVerdict] | None = None,
    graph_test: GraphTest | None = None,
    label_width: int = 22,
) -> Figure:
    """Draw the causal DAG.

    The outcome is highlighted in blue, flagged features in red, other model features in
    black, other observed variables in grey and latent (unobserved) nodes dashed and grey.
    Each implied independence the data reject is drawn as a dashed red line between the pair.

    Parameters
    ----------
    graph : CausalGraph
        The DAG.
    checked : CheckedData
        For the outcome, the model's features and which nodes are observed or latent.
    verdicts : Mapping[str, FeatureVerdict], optional
        The verdicts; flagged features are drawn red.
    graph_test : GraphTest, optional
        The test of the DAG's implied independences; its violations are drawn.
    label_width : int, default 22
        Node labels longer than this are shortened with an ellipsis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = graph.to_networkx()
    if g.number_of_nodes() == 0:
        raise ValueError("the graph has no nodes")
    pos = dag_layout(g)
    n_layers = int(max(x for x, _ in pos.values())) + 1
    widest = max(sum(1 for x, _ in pos.values() if x == layer) for layer in range(n_layers))

    outcome = checked.outcome
    features = set(checked.features)
    flagged = {name for name, v in (verdicts or {}).items() if v.flagged}
    observed = set(checked.observed) | features | {outcome}
    latent = set(checked.latent) | {n for n in g.nodes if n not in observed}

    width = min(18.0, max(5.5, 2.0 * n_layers + 0.8))
    height = min(16.0, max(2.8, 0.75 * widest + 1.4))
    # Constrained layout stays: its layout pass draws the node labels once before the arrows,
    # which need their boxes' final size to end at the box edges.
    fig = new_figure(width, height)
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
            label(node, label_width),
            ha="center",
            va="center",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.35", **style},
            **text_kw,
        )

    # Inches per data unit: curvature is chosen in inches, where arc3 bends.
    x_inch = width * 0.98 / (n_layers + 0.4)
    y_inch = height * 0.85 / (max(ys) - min(ys) + 1.7)
    half_sizes = {node: (0.045 * len(label(node, label_width)) + 0.12, 0.16) for node in pos}

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

    violations = graph_test.violations if graph_test is not None else ()
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
