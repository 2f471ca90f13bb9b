"""history.json and history.html from a :class:`~causalinterp.monitoring.history.History`.

The page (``templates/history.html``, the report's Content-Security-Policy, no script) draws one
timeline per figure across every stored window, oldest run first: a line per column or node
(the highest few), the threshold dashed, and each point that raised an alert ringed in red.
Legends are HTML lists under the plots, so long names wrap instead of overlapping.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from causalinterp._io import write_texts_atomic
from causalinterp.render._templates import environment
from causalinterp.render.json import clean

#: Version of the history.json format (docs/monitoring.md, "Timeline").
FORMAT_VERSION = "1.0"
#: Lines drawn per figure: the subjects with the highest values.
MAX_SERIES = 8
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#7f7f7f")  # fmt: skip
#: Each figure's title and the alert kinds that mark its points.
FIGURES = {
    "drift": ("Feature drift: distance per column", ("feature_drift", "outcome_drift")),
    "mechanism": ("Causal drift: mechanism-change score per node", ("mechanism_change",)),
    "range": ("Share of rows outside a feature's reference range", ("out_of_range",)),
    "share": ("Attribution share change per feature", ("attribution_share",)),
    "novelty": ("Rows beyond the reference's 99th percentile of novelty", ("out_of_support",)),
    "ndcg": ("nDCG of the attribution ranking", ("attribution_ndcg",)),
    "risk": ("Causal risk: change of the share on unsupported features", ("causal_risk",)),
    "performance": ("Performance: relative change of the error", ("performance",)),
}
_WIDTH, _HEIGHT, _LEFT, _RIGHT, _TOP, _BOTTOM = 900, 320, 64, 24, 16, 110
_LABEL = 22  # characters of an x-axis label; the full name is in its tooltip


def to_dict(history) -> dict[str, Any]:
    """The history.json data: ``runs[]``, each with its ``windows[]`` and ``alerts[]``."""
    runs = []
    for run in history.runs:
        runs.append(
            {
                "id": run.id,
                "key": run.key,
                "recorded_at": run.recorded_at,
                "outcome": run.outcome,
                "model": run.model,
                "reference_rows": run.reference_rows,
                "exit_code": run.exit_code,
                "settings": dict(run.settings),
                "windows": [
                    {
                        "name": w.name,
                        "n_rows": w.n_rows,
                        "labelled": w.labelled,
                        "figures": [vars(f) for f in w.figures],
                    }
                    for w in run.windows
                ],
                "alerts": [vars(a) for a in run.alerts],
            }
        )
    # The report's cleaner: the one rounding rule of every JSON output.
    return clean(
        {
            "format_version": FORMAT_VERSION,
            "schema_version": history.schema_version,
            "database": history.database,
            "runs": runs,
        }
    )


# --------------------------------------------------------------------------- timelines
@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    path: str
    points: tuple[tuple[float, float, str], ...]


@dataclass(frozen=True)
class Chart:
    """One timeline, laid out: every coordinate the template draws."""

    ident: str
    title: str
    below: bool
    width: int
    height: int
    axis: tuple[float, float, float, float]
    ticks: tuple[tuple[float, str], ...]
    labels: tuple[tuple[float, float, str, str], ...]
    threshold: str
    threshold_label: str
    series: tuple[Series, ...]
    alerts: tuple[tuple[float, float, str], ...]


def _points(history) -> list[tuple[Any, Any, str]]:
    """Every (run, window, label) in time order."""
    many = len(history.runs) > 1
    out = []
    for run in history.runs:
        for window in run.windows:
            label = f"#{run.id} {window.name}" if many else window.name
            out.append((run, window, label))
    return out


def charts(history) -> list[Chart]:
    """The timelines of ``history``: one per figure that any window has."""
    points = _points(history)
    result = []
    palette: dict[str, str] = {}  # one colour per column or node on the whole page
    for ident, (title, kinds) in FIGURES.items():
        values: dict[str, list[float | None]] = {}
        thresholds: list[float | None] = []
        below = False
        for i, (_, window, _) in enumerate(points):
            thresholds.append(None)
            for f in window.figures:
                if f.figure != ident:
                    continue
                values.setdefault(f.subject, [None] * len(points))[i] = f.value
                thresholds[i] = f.threshold
                below = f.alert_below
        if not values:
            continue
        alerted = {
            (i, a.subject): a.message
            for i, (run, window, _) in enumerate(points)
            for a in run.alerts
            if a.window == window.name and a.kind in kinds
        }
        result.append(_layout(ident, title, below, points, values, thresholds, alerted, palette))
    return result


def _layout(ident, title, below, points, values, thresholds, alerted, palette) -> Chart:
    peak = {n: max((v for v in vs if v is not None), default=-math.inf) for n, vs in values.items()}
    chosen = sorted(values, key=lambda n: (-peak[n], n))[:MAX_SERIES]
    # Subjects that alerted are always drawn, whatever their rank.
    chosen += sorted({s for _, s in alerted if s in values and s not in chosen})
    finite = [v for n in chosen for v in values[n] if v is not None and math.isfinite(v)]
    limits = [t for t in thresholds if t is not None]
    low = min([0.0, *finite, *limits])
    high = max([*finite, *limits], default=1.0)
    high = high * 1.1 if high > 0 else high + 1.0
    span = (high - low) or 1.0
    n = len(points)
    # Room under the axis for the longest label, rotated by 35 degrees (about 6 px a character).
    longest = max(len(_short(label)) for _, _, label in points)
    height = _HEIGHT - _BOTTOM + 24 + math.ceil(longest * 6.2 * math.sin(math.radians(35)))
    # ... and room on the left for the first one, which leans left of its point.
    left = max(_LEFT, math.ceil(longest * 6.2 * math.cos(math.radians(35))))
    right, bottom = _WIDTH - _RIGHT, _HEIGHT - _BOTTOM

    def x(i: int) -> float:
        return left + 10 + (right - left - 20) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return _TOP + (bottom - _TOP) * (1 - (v - low) / span)

    ticks = tuple((round(y(t), 1), f"{t:.3g}") for t in (low, (low + high) / 2, high))
    labels = tuple(
        (round(x(i), 1), bottom + 14, _short(label), label)
        for i, (_, _, label) in enumerate(points)
    )
    threshold = " ".join(
        f"{x(i):.1f},{y(t):.1f}" for i, t in enumerate(thresholds) if t is not None
    )
    shown = sorted({t for t in thresholds if t is not None})
    series = []
    for name in chosen:
        dots = tuple(
            (round(x(i), 1), round(y(v), 1), f"{name} in {points[i][2]}: {v:.4g}")
            for i, v in enumerate(values[name])
            if v is not None and math.isfinite(v)
        )
        path = " ".join(f"{px},{py}" for px, py, _ in dots)
        colour = palette.setdefault(name, _COLOURS[len(palette) % len(_COLOURS)])
        series.append(Series(name, colour, path, dots))
    marks = tuple(
        (round(x(i), 1), round(y(values[s][i]), 1), f"alert in {points[i][2]}: {message}")
        for (i, s), message in sorted(alerted.items(), key=lambda item: item[0])
        if s in values and values[s][i] is not None and math.isfinite(values[s][i])
    )
    return Chart(
        ident=ident,
        title=title,
        below=below,
        width=_WIDTH,
        height=height,
        axis=(left, _TOP, right, bottom),
        ticks=ticks,
        labels=labels,
        threshold=threshold,
        threshold_label=", ".join(f"{t:g}" for t in shown),
        series=tuple(series),
        alerts=marks,
    )


def _short(label: str) -> str:
    return label if len(label) <= _LABEL else label[: _LABEL - 1] + "…"


# --------------------------------------------------------------------------- files
def to_html(history) -> str:
    """history.html: a summary, the timelines, then every run's alerts."""
    outcomes = sorted({run.outcome for run in history.runs})
    return (
        environment()
        .get_template("history.html")
        .render(
            history=history,
            outcomes=outcomes,
            charts=charts(history),
            n_windows=sum(len(run.windows) for run in history.runs),
            n_alerts=sum(len(run.alerts) for run in history.runs),
        )
    )


def to_json(history) -> str:
    """history.json's text: sorted keys, 6 significant digits, NaN as null."""
    return json.dumps(to_dict(history), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(history, out_dir: str | Path) -> dict[str, Path]:
    """history.json and history.html in ``out_dir`` (created), written atomically.

    Returns ``{"json": path, "html": path}``, as :meth:`Report.write
    <causalinterp.report.Report.write>` does.
    """
    out = Path(out_dir)
    texts = {
        "json": ("history.json", to_json(history)),
        "html": ("history.html", to_html(history)),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = write_texts_atomic({out / name: text for name, text in texts.values()})
    return dict(zip(texts, written, strict=True))


__all__: Sequence[str] = ["FIGURES", "charts", "to_dict", "to_html", "to_json", "write"]
