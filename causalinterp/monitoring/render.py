"""monitor.json, monitor.md and monitor.html from a :class:`MonitorResult`.

The HTML file is self-contained: inline CSS and one inline SVG timeline per figure, each with
its threshold drawn as a dashed line, and no script.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from html import escape
from pathlib import Path
from typing import Any

from causalinterp._io import write_texts_atomic

#: Version of the monitor.json schema (docs/monitoring.md).
SCHEMA_VERSION = "1.0"
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
_MAX_SERIES = 6


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        return _clean(value.item())
    return value


def to_dict(result) -> dict[str, Any]:
    """The monitor.json data of ``result`` (see docs/monitoring.md)."""
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
        "summary": {
            "windows": len(result.windows),
            "alerted_windows": alerted,
            "alerts": sum(len(w.alerts) for w in result.windows),
            "exit_code": result.exit_code,
        },
        "windows": windows,
    }
    return _clean(data)


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
    """A short summary: one line per window, then every alert."""
    lines = [
        f"# Monitoring: {result.outcome}",
        "",
        f"Model `{result.model}`, reference of {result.reference_rows} rows, "
        f"{len(result.windows)} window(s).",
        "",
        "| window | rows | labelled | nDCG | top changed mechanism | alerts |",
        "|---|---|---|---|---|---|",
    ]
    for w in result.windows:
        top = w.causal_drift.ranking[0] if w.causal_drift.ranking else None
        mech = f"{_md(top.node)} ({top.score:.3g})" if top is not None and top.changed else "none"
        lines.append(
            f"| {_md(w.name)} | {w.n_rows} | {w.labelled} | {w.attribution.ndcg:.3f} | {mech} | "
            f"{len(w.alerts)} |"
        )
    lines.append("")
    if not result.alerts:
        lines.append("No alerts.")
    for name, alert in result.alerts:
        lines.append(f"- **{_md(name)}** `{alert.kind}`: {_md(alert.message)}")
    changes = [w for w in result.windows if w.outcome_change is not None]
    if changes:
        lines += ["", f"## Change of the mean of {_md(result.outcome)}, by mechanism", ""]
        for w in changes:
            lines.append(_change_line(w.name, w.outcome_change, _md))
    for note in result.notes:
        lines.append(f"\n_{_md(note)}_")
    return "\n".join(lines) + "\n"


def _change_line(name: str, change, quote) -> str:
    """One window's outcome_change in a sentence."""
    if change.error is not None:
        return f"- {quote(name)}: not computed ({quote(change.error)})"
    parts = ", ".join(f"{quote(n)} {v:+.3g}" for n, v in change.contributions[:5])
    return f"- {quote(name)}: {change.change:+.3g} = {parts}" + (
        " + ..." if len(change.contributions) > 5 else ""
    )


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


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


def svg_timeline(
    title: str,
    names: Sequence[str],
    series: dict[str, list[float | None]],
    threshold: float,
    ident: str,
) -> str:
    """One timeline as inline SVG: a line per series over the windows, the threshold dashed."""
    width, height, left, right, top, bottom = 760, 260, 100, 170, 30, 60
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    low = min([0.0, threshold, *values])
    high = max([threshold, *values]) if values else threshold
    high = high * 1.1 if high > 0 else 1.0
    span = (high - low) or 1.0
    n = len(names)

    def x(i: int) -> float:
        return left + (width - left - right) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - low) / span)

    parts = [
        f'<svg class="timeline" id="timeline-{ident}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        'stroke="#444"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#444"/>',
    ]
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{tick:.3g}</text>'
        )
    for i, name in enumerate(names):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="end" '
            f'font-size="11" transform="rotate(-25 {x(i):.1f} {height - bottom + 16})">'
            f"{escape(str(name)[:24])}</text>"
        )
    ty = y(threshold)
    parts.append(
        f'<line class="threshold" x1="{left}" y1="{ty:.1f}" x2="{width - right}" '
        f'y2="{ty:.1f}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>'
    )
    parts.append(
        f'<text x="{width - right + 4}" y="{ty + 4:.1f}" font-size="11" '
        f'fill="#d62728">threshold {threshold:g}</text>'
    )
    for k, (label, vs) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        points = [(x(i), y(v), v) for i, v in enumerate(vs) if v is not None and math.isfinite(v)]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
            parts.append(
                f'<polyline class="series" points="{path}" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        for (px, py, v), name in zip(points, names, strict=False):
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(str(label))} in {escape(str(name))}: {v:.4g}</title>"
                "</circle>"
            )
        parts.append(
            f'<text x="{width - right + 4}" y="{top + 14 * (k + 2):.1f}" '
            f'font-size="11" fill="{colour}">{escape(str(label)[:24])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;
color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;font-size:14px}th{background:#f3f3f3}
.alert{color:#a00}.ok{color:#070}section{margin:2rem 0}figure{margin:1rem 0}
figcaption{font-weight:600;margin-bottom:.3rem}
"""


def to_html(result) -> str:
    """One self-contained HTML page: summary, alerts, a timeline per figure, per-window tables."""
    names = [w.name for w in result.windows]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Monitoring: {escape(result.outcome)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Monitoring: {escape(result.outcome)}</h1>",
        f'<p id="summary">Model <code>{escape(result.model)}</code>; reference of '
        f"{result.reference_rows} rows; {len(names)} window(s); "
        f'<span class="{"alert" if result.alerts else "ok"}">{len(result.alerts)} alert(s)'
        "</span>.</p>",
        '<section id="alerts"><h2>Alerts</h2>',
    ]
    if result.alerts:
        out.append(
            "<table><tr><th>window</th><th>kind</th><th>subject</th><th>value</th>"
            "<th>threshold</th><th>message</th></tr>"
        )
        for name, a in result.alerts:
            out.append(
                f"<tr><td>{escape(name)}</td><td>{escape(a.kind)}</td>"
                f"<td>{escape(a.subject)}</td><td>{a.value:.4g}</td>"
                f"<td>{a.threshold:g}</td><td>{escape(a.message)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append('<p class="ok">No alerts.</p>')
    out.append('</section><section id="timelines"><h2>Timelines</h2>')
    for ident, title, series, threshold, below in timelines(result):
        direction = "below" if below else "above"
        out.append(
            f"<figure><figcaption>{escape(title)} (alert {direction} the dashed "
            f"threshold)</figcaption>{svg_timeline(title, names, series, threshold, ident)}"
            "</figure>"
        )
    out.append('</section><section id="windows"><h2>Windows</h2>')
    for w in result.windows:
        out.append(
            f"<h3>{escape(w.name)}</h3><p>{w.n_rows} rows, {w.labelled} labelled; causal "
            f"drift for {escape(w.causal_drift.target)}.</p>"
        )
        out.append("<table><tr><th>node</th><th>score</th><th>adjusted p</th><th>changed</th></tr>")
        for m in w.causal_drift.ranking[:8]:
            out.append(
                f"<tr><td>{escape(m.node)}</td><td>{m.score:.3g}</td>"
                f"<td>{m.p_adjusted:.2g}</td><td>{'yes' if m.changed else ''}</td></tr>"
            )
        out.append("</table>")
        if w.outcome_change is not None:
            out.append(f"<p>Change of the mean, by mechanism: "
                       f"{_change_line(w.name, w.outcome_change, escape)[2:]}</p>")
    out.append("</section>")
    for note in result.notes:
        out.append(f"<p><em>{escape(note)}</em></p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write(result, out_dir: str | Path) -> list[Path]:
    """monitor.json, monitor.md, monitor.html in ``out_dir`` (created), written atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_texts_atomic(
        {
            out / "monitor.json": to_json(result),
            out / "monitor.md": to_markdown(result),
            out / "monitor.html": to_html(result),
        }
    )
