"""``report.md``: a short summary for a pull-request comment, from ``report.json`` data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from causalinterp.render._text import (
    entities,
    escape_markdown,
    fmt,
    fmt_effect,
    fmt_p,
    identification_text,
    ordered_counts,
    verdict_label,
)

__all__ = ["MAX_TABLE_ROWS", "render_markdown"]

#: Rows of the feature table; the rest are counted and left to the full report.
MAX_TABLE_ROWS = 25


def render_markdown(data: Mapping[str, Any], *, refuted: bool) -> str:
    """A short Markdown summary of one analysis.

    A headline with counts and flagged features, whether the DAG fits the data, a compact
    table and the failing refuters. Every name is escaped, so hostile column names show as
    text.

    Parameters
    ----------
    data : Mapping
        The analysis as ``report.json`` data (see :func:`causalinterp.render.json.report_dict`).
    refuted : bool
        Whether refuters ran; without them the summary says refutation was not run.

    Returns
    -------
    str
        GitHub-flavoured Markdown ending in a newline.
    """
    esc = escape_markdown
    features = data["features"]
    summary = data["summary"]
    lines = [f"### causalinterp: model attributions vs causal effects on {esc(data['outcome'])}"]
    lines.append("")

    supported = summary["verdict_counts"].get("supported", 0)
    headline = (
        f"**{len(features)} features**, {data['n_rows']} rows: "
        f"{supported} supported, **{len(summary['flagged'])} flagged**"
    )
    if summary["flagged"]:
        headline += ": " + ", ".join(esc(n) for n in summary["flagged"])
    lines.append(headline + ".")
    others = [
        f"{verdict_label(v)} {n}"
        for v, n in ordered_counts(summary["verdict_counts"])
        if v != "supported"
    ]
    if others:
        lines.append("")
        lines.append("Verdicts: " + ", ".join(esc(o) for o in others) + ".")
    lines.append("")
    lines.append(_graph_line(data["graph_test"], esc))
    lines.append("")

    lines.append(
        "| feature | verdict | causal effect [95% CI] | attribution slope | "
        "mean \\|SHAP\\| | identification |"
    )
    lines.append("|---|---|---|---:|---:|---|")
    for row in features[:MAX_TABLE_ROWS]:
        name = esc(row["name"])
        if row["flagged"]:
            name = f"**{name}** ⚑"
        cells = [
            name,
            esc(verdict_label(row["verdict"])),
            entities(fmt_effect(row["effect"])),
            entities(fmt(row["attribution"]["slope"])),
            entities(fmt(row["attribution"]["mean_abs_shap"])),
            identification_text(row["identification"], esc),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(features) > MAX_TABLE_ROWS:
        lines.append("")
        lines.append(f"… and {len(features) - MAX_TABLE_ROWS} more features in the full report.")
    lines.append("")
    lines.append(_refuter_lines(features, refuted, esc))
    return "\n".join(lines) + "\n"


def _refuter_lines(features: list[Mapping[str, Any]], refuted: bool, esc) -> str:
    if not refuted:
        return "Refutation was not run."
    failing = [
        (row["name"], ref) for row in features for ref in row["refutations"] if not ref["passed"]
    ]
    total = sum(len(row["refutations"]) for row in features)
    if total == 0:
        return "No effect was estimated, so no refuter ran."
    if not failing:
        return f"All {total} refuter checks passed."
    lines = [f"**Failing refuters** ({len(failing)} of {total}):", ""]
    for name, ref in failing:
        lines.append(
            f"- {esc(name)}: {esc(str(ref['name']).replace('_', ' '))} "
            f"(adjusted p {entities(fmt_p(ref['p_adjusted']))})"
        )
    return "\n".join(lines)


def _graph_line(test: Mapping[str, Any] | None, esc: Callable[[str], str]) -> str:
    if test is None:
        return "The DAG was not tested against the data."
    tested, violations = test["tested"], test["violations"]
    if test["fits"]:
        return (
            f"The DAG fits the data: none of {tested} implied independences is rejected "
            f"(α = {fmt(test['alpha'])})."
        )
    shown = []
    for item in violations[:3]:
        given = ", ".join(esc(g) for g in item["given"])
        pair = f"{esc(item['x'])} ⟂ {esc(item['y'])}" + (f" \\| {given}" if given else "")
        shown.append(f"{pair} (adjusted p {entities(fmt_p(item['p_adjusted']))})")
    more = f" and {len(violations) - 3} more" if len(violations) > 3 else ""
    return (
        f"⚠️ **The DAG does not fit the data**: {len(violations)} of {tested} implied "
        f"independences are rejected: {'; '.join(shown)}{more}."
    )
