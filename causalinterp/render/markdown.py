"""``report.md``: a short summary for a pull-request comment, from ``report.json`` data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from causalinterp.render._text import (
    effect_cell,
    entities,
    escape_markdown,
    fmt,
    fmt_p,
    level_rows,
    ordered_counts,
    unused_columns_text,
    verdict_label,
)
from causalinterp.render.curves import markdown_section as curves_markdown
from causalinterp.render.overlap import markdown_line as overlap_markdown_line

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
    unused = data.get("graph_columns_unused") or []
    if unused:
        lines += ["", esc(unused_columns_text(unused))]
    lines.append("")
    lines.append(_graph_line(data["graph_test"], esc))
    lines.append("")
    population = overlap_markdown_line(data)  # att/atc runs only
    if population:
        lines += [esc(population), ""]
    lines.extend(_findings_lines(summary.get("findings") or [], esc))

    lines.append(
        "| feature | verdict | causal effect [95% CI] | attribution slope | "
        "mean \\|SHAP\\| | why | what to do |"
    )
    lines.append("|---|---|---|---:|---:|---|---|")
    for row in features[:MAX_TABLE_ROWS]:
        name = esc(row["name"])
        if row["flagged"]:
            name = f"**{name}** ⚑"
        cells = [
            name,
            esc(verdict_label(row["verdict"])),
            esc(effect_cell(row)),
            entities(fmt(row["attribution"]["slope"])),
            entities(fmt(row["attribution"]["mean_abs_shap"])),
            esc(row.get("reason_summary") or "—"),
            esc(row.get("action") or "—"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(features) > MAX_TABLE_ROWS:
        lines.append("")
        lines.append(f"… and {len(features) - MAX_TABLE_ROWS} more features in the full report.")
    lines.extend(_level_lines(features, esc))
    lines.append("")
    lines.append(_refuter_lines(features, refuted, esc))
    if data.get("domain") is not None:
        from causalinterp.domain.render import markdown_section

        lines += ["", markdown_section(dict(data))]
    curves_text = curves_markdown(data, esc)
    if curves_text:
        lines += ["", curves_text]
    return "\n".join(lines) + "\n"


def _level_lines(features: list[Mapping[str, Any]], esc: Callable[[str], str]) -> list[str]:
    """Per categorical feature, its levels: causal effect beside the model's contrast."""
    lines: list[str] = []
    for row in features:
        cells = level_rows(row)
        if not cells:
            continue
        lines += [
            "",
            f"**{esc(row['name'])}, level by level** (each level against the reference; the "
            "model's contrast is its mean prediction at the level minus at the reference):",
            "",
            "| level | vs | causal effect [95% CI] | model contrast [95% CI] | verdict | why |",
            "|---|---|---|---|---|---|",
        ]
        for c in cells:
            lines.append(
                "| " + " | ".join(esc(c[k]) for k in (
                    "level", "reference", "causal", "model", "verdict", "reason"
                )) + " |"
            )
    return lines


_KINDS = {
    "flagged": "Flagged attribution",
    "leakage": "Leakage",
    "under_used": "Under-used effect",
    "graph": "Graph",
}


def _findings_lines(findings: list[Mapping[str, Any]], esc: Callable[[str], str]) -> list[str]:
    """The Findings block: numbered, most material first, each with its action."""
    if not findings:
        return ["**Findings**: nothing needs doing.", ""]
    lines = ["**Findings**, most material first:", ""]
    for number, item in enumerate(findings, start=1):
        kind = _KINDS.get(item["kind"], str(item["kind"]))
        lines.append(f"{number}. **{esc(kind)}**: {esc(item['text'])}")
        if item.get("action"):
            lines.append(f"   *What to do*: {esc(item['action'])}")
    lines.append("")
    return lines


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
    if test["fits"] is None:
        return (
            "The DAG is untestable here: it implies no independence among the observed "
            "columns that could be tested, so the data neither support nor contradict it."
        )
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
