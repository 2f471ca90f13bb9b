"""monitor.json, monitor.md and monitor.html from a :class:`MonitorResult`.

monitor.json goes through the report's JSON cleaner (:func:`causalinterp.render.json.clean`:
sorted keys, six significant digits, NaN as null); monitor.md escapes every name and message
with the report's Markdown escaping (:func:`causalinterp.render._text.escape_markdown`);
monitor.html is the jinja2 template ``templates/monitor.html`` (autoescaped, the report's
Content-Security-Policy, no script), with one inline SVG timeline per figure whose geometry
is computed here: margins sized to the window names, so none is clipped, and the legend laid
out as a column of entries that cannot overlap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from causalinterp._io import write_texts_atomic
from causalinterp.render._templates import environment
from causalinterp.render._text import escape_markdown

#: Version of the monitor.json schema (docs/monitoring.md).
SCHEMA_VERSION = "1.1"
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
_MAX_SERIES = 6


def to_dict(result) -> dict[str, Any]:
    """The monitor.json data of ``result`` (see docs/monitoring.md)."""
    from causalinterp.render.json import clean

    windows = []
    for w in result.windows:
        windows.append(
            {
                "name": w.name,
                "n_rows": w.n_rows,
                "labelled": w.labelled,
                "alerts": [asdict(a) for a in w.alerts],
                "causal_drift_target": w.causal_drift.target,
                "causal_drift": [asdict(m) for m in w.causal_drift.ranking],
                "drift": [asdict(d) for d in w.drift],
                "support": asdict(w.support),
                "attribution": asdict(w.attribution),
                "risk": asdict(w.risk) if w.risk is not None else None,
                "performance": asdict(w.performance) if w.performance is not None else None,
                "outcome_change": _change_dict(w.outcome_change),
            }
        )
    alerted = [w.name for w in result.windows if w.alerts]
    data = {
        "schema_version": SCHEMA_VERSION,
        "outcome": result.outcome,
        "features": list(result.features),
        "model": result.model,
        "reference_rows": result.reference_rows,
        "settings": dict(result.settings),
        "notes": list(result.notes),
        "seconds": result.seconds,
        "dropped_rows": dict(result.dropped_rows),
        "summary": {
            "windows": len(result.windows),
            "alerted_windows": alerted,
            "alerts": sum(len(w.alerts) for w in result.windows),
            "exit_code": result.exit_code,
        },
        "windows": windows,
    }
    return clean(data)


def _change_dict(change) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "target": change.target,
        "change": change.change,
        "contributions": [{"node": n, "contribution": v} for n, v in change.contributions],
        "left_out": list(change.left_out),
        "rows": list(change.rows),
        "error": change.error,
    }


def to_json(result) -> str:
    """monitor.json's text: sorted keys, 6 significant digits, NaN as null."""
    return json.dumps(to_dict(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_markdown(result) -> str:
    """A short summary: one line per window, then every alert (names and messages escaped)."""
    md = escape_markdown
    lines = [
        f"# Monitoring: {md(result.outcome)}",
        "",
        f"Model `{result.model.replace('`', chr(39))}`, reference of {result.reference_rows} "
        f"rows, {len(result.windows)} window(s).",
        "",
        "| window | rows | labelled | nDCG | top changed mechanism | alerts |",
        "|---|---|---|---|---|---|",
    ]
    for w in result.windows:
        top = w.causal_drift.ranking[0] if w.causal_drift.ranking else None
        mech = f"{md(top.node)} ({top.score:.3g})" if top is not None and top.changed else "none"
        lines.append(
            f"| {md(w.name)} | {w.n_rows} | {w.labelled} | {w.attribution.ndcg:.3f} | {mech} | "
            f"{len(w.alerts)} |"
        )
    lines.append("")
    if not result.alerts:
        lines.append("No alerts.")
    for name, alert in result.alerts:
        lines.append(f"- **{md(name)}** `{alert.kind}`: {md(alert.message)}")
    changes = [w for w in result.windows if w.outcome_change is not None]
    if changes:
        lines += ["", f"## Change of the mean of {md(result.outcome)}, by mechanism", ""]
        for w in changes:
            lines.append("- " + _change_line(w.name, w.outcome_change, md))
    for note in result.notes:
        lines.append(f"\n_{md(note)}_")
    return "\n".join(lines) + "\n"


def _change_line(name: str, change, quote) -> str:
    """One window's outcome_change in a sentence."""
    if change.error is not None:
        return f"{quote(name)}: not computed ({quote(change.error)})"
    parts = ", ".join(f"{quote(n)} {v:+.3g}" for n, v in change.contributions[:5])
    return f"{quote(name)}: {change.change:+.3g} = {parts}" + (
        " + ..." if len(change.contributions) > 5 else ""
    )


# --------------------------------------------------------------------------- HTML
def timelines(result) -> list[tuple[str, str, dict[str, list[float | None]], float, bool]]:
    """The figures drawn over windows: (id, title, series, threshold, alert_below)."""
    s = result.settings
    ws = result.windows
    figures = []

    def top_series(values_of, key_of) -> dict[str, list[float | None]]:
        names: dict[str, float] = {}
        for w in ws:
            for item in values_of(w):
                value = key_of(item)[1]
                if value is not None and math.isfinite(value):
                    names[key_of(item)[0]] = max(names.get(key_of(item)[0], -math.inf), value)
        chosen = sorted(names, key=lambda n: -names[n])[:_MAX_SERIES]
        series = {}
        for n in chosen:
            series[n] = [
                next((key_of(i)[1] for i in values_of(w) if key_of(i)[0] == n), None) for w in ws
            ]
        return series

    figures.append(
        (
            "drift",
            "Feature drift: distance per column",
            top_series(lambda w: w.drift, lambda d: (d.name, d.distance)),
            s["drift_threshold"],
            False,
        )
    )
    figures.append(
        (
            "support",
            "Rows beyond the reference's 99th percentile of novelty",
            {"novelty share": [w.support.novelty_share for w in ws]},
            s["support_share"],
            False,
        )
    )
    figures.append(
        (
            "range",
            "Share of rows outside a feature's reference range",
            top_series(lambda w: w.support.ranges, lambda r: (r.name, r.share_outside)),
            s["range_share"],
            False,
        )
    )
    figures.append(
        (
            "ndcg",
            "nDCG of the attribution ranking",
            {"nDCG": [w.attribution.ndcg for w in ws]},
            s["ndcg_threshold"],
            True,
        )
    )
    figures.append(
        (
            "share",
            "Attribution share change |current - reference|",
            top_series(lambda w: w.attribution.shares, lambda c: (c.feature, abs(c.change))),
            s["share_change"],
            False,
        )
    )
    figures.append(
        (
            "mechanism",
            "Causal drift: mechanism-change score per node",
            top_series(lambda w: w.causal_drift.ranking, lambda m: (m.node, m.score)),
            s["mechanism_threshold"],
            False,
        )
    )
    if any(w.risk is not None for w in ws):
        figures.append(
            (
                "risk",
                "Causal risk: change of the share on unsupported features",
                {"risk change": [w.risk.change if w.risk else None for w in ws]},
                s["risk_increase"],
                False,
            )
        )
    if any(w.performance is not None for w in ws):
        figures.append(
            (
                "performance",
                "Performance: relative change of the error",
                {
                    "error change": [
                        w.performance.relative_change if w.performance else None for w in ws
                    ]
                },
                s["performance_drop"],
                False,
            )
        )
    return figures


#: Text metrics of the SVG labels (11 px system sans-serif): an upper bound of a character's
#: width and a line's height, so that the margins computed from them always suffice.
_CHAR_WIDTH = 6.6
_LINE_HEIGHT = 14.0
#: Longest window name and legend label drawn in full; longer ones end in an ellipsis (the
#: full text is the element's tooltip).
_MAX_NAME = 40
_MAX_LEGEND = 22


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def timeline_view(
    title: str,
    names: Sequence[str],
    series: dict[str, list[float | None]],
    threshold: float,
    ident: str,
) -> dict[str, Any]:
    """The geometry of one timeline: axes, window labels, threshold, series and legend.

    Window names are drawn rotated (25 degrees, or 60 when neighbours would touch; every k-th
    name when even that is too crowded) with the bottom and left margins sized to the longest
    one, so no name runs off the figure. The legend is a column right of the plot: the
    threshold first, then one entry per series, a line apart.
    """
    labels = [_shorten(str(n), _MAX_NAME) for n in names]
    legend = [(_shorten(str(k), _MAX_LEGEND), str(k)) for k in series]
    legend_width = _CHAR_WIDTH * max([len("threshold 0.0000"), *(len(t) for t, _ in legend)]) + 30
    plot_width = 560.0
    n = len(names)
    spacing = plot_width / (n - 1) if n > 1 else plot_width
    angle = 25.0 if spacing * math.sin(math.radians(25)) >= _LINE_HEIGHT else 60.0
    step = max(1, math.ceil(_LINE_HEIGHT / (spacing * math.sin(math.radians(angle)))))
    longest = max([len(t) for t in labels[::step]] or [1]) * _CHAR_WIDTH
    drop = longest * math.sin(math.radians(angle)) + 20
    reach = longest * math.cos(math.radians(angle))
    left = max(70.0, reach - (0 if n > 1 else plot_width / 2) + 10)
    top = 20.0
    plot_height = max(170.0, _LINE_HEIGHT * (len(legend) + 2))
    width = left + plot_width + 20 + legend_width
    height = top + plot_height + drop
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    low = min([0.0, threshold, *values])
    high = max([threshold, *values]) if values else threshold
    high = high * 1.1 if high > 0 else 1.0
    span = (high - low) or 1.0
    bottom = top + plot_height

    def x(i: int) -> float:
        return left + (plot_width * i / (n - 1) if n > 1 else plot_width / 2)

    def y(v: float) -> float:
        return top + plot_height * (1 - (v - low) / span)

    drawn = []
    for k, (label, vs) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        points = [
            {"x": x(i), "y": y(v), "tip": f"{label} in {names[i]}: {v:.4g}"}
            for i, v in enumerate(vs)
            if v is not None and math.isfinite(v)
        ]
        drawn.append(
            {
                "colour": colour,
                "points": points,
                "path": " ".join(f"{p['x']:.1f},{p['y']:.1f}" for p in points),
            }
        )
    legend_x = left + plot_width + 20
    entries = [
        {"text": f"threshold {threshold:g}", "tip": f"threshold {threshold:g}",
         "colour": "#d62728", "dashed": True, "y": top + _LINE_HEIGHT}
    ] + [
        {"text": text, "tip": full, "colour": _COLOURS[k % len(_COLOURS)], "dashed": False,
         "y": top + _LINE_HEIGHT * (k + 2)}
        for k, (text, full) in enumerate(legend)
    ]  # fmt: skip
    return {
        "id": ident,
        "title": title,
        "width": round(width),
        "height": round(height),
        "left": left,
        "right": left + plot_width,
        "top": top,
        "bottom": bottom,
        "ticks": [{"y": y(t), "text": f"{t:.3g}"} for t in (low, (low + high) / 2, high)],
        "names": [
            {"x": x(i), "y": bottom + 14, "text": labels[i], "tip": str(names[i])}
            for i in range(0, n, step)
        ],
        "angle": angle,
        "threshold": y(threshold),
        "series": drawn,
        "legend_x": legend_x,
        "legend": entries,
    }


def to_html(result) -> str:
    """One self-contained page: summary, alerts, a timeline per figure, per-window tables."""
    names = [w.name for w in result.windows]
    figures = [
        {
            "direction": "below" if below else "above",
            **timeline_view(title, names, series, threshold, ident),
        }
        for ident, title, series, threshold, below in timelines(result)
    ]
    windows = [
        {
            "name": w.name,
            "n_rows": w.n_rows,
            "labelled": w.labelled,
            "target": w.causal_drift.target,
            "ranking": w.causal_drift.ranking[:8],
            "change": None
            if w.outcome_change is None
            else _change_line(w.name, w.outcome_change, str),
        }
        for w in result.windows
    ]
    return (
        environment()
        .get_template("monitor.html")
        .render(result=result, alerts=result.alerts, figures=figures, windows=windows)
    )


def write(result, out_dir: str | Path) -> dict[str, Path]:
    """monitor.json, monitor.md, monitor.html in ``out_dir`` (created), written atomically.

    Returns ``{"json": path, "markdown": path, "html": path}``, as :meth:`Report.write
    <causalinterp.report.Report.write>` does.
    """
    out = Path(out_dir)
    texts = {
        "json": ("monitor.json", to_json(result)),
        "markdown": ("monitor.md", to_markdown(result)),
        "html": ("monitor.html", to_html(result)),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = write_texts_atomic({out / name: text for name, text in texts.values()})
    return dict(zip(texts, written, strict=True))
