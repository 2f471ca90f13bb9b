"""``explain.json``, ``explain.md`` and ``explain.html`` (one self-contained card per row)."""

from __future__ import annotations

import html as html_escape
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from causalinterp._io import write_text_atomic, write_texts_atomic
from causalinterp.render._text import escape_markdown, fmt
from causalinterp.render.json import clean
from causalinterp.render.json import json_text as _json_text

if TYPE_CHECKING:
    from causalinterp.explain.core import Explanations, RowExplanation

__all__ = ["EXPLAIN_SCHEMA_VERSION", "explain_dict", "html", "json_text", "markdown", "write"]

#: Version of the explain.json layout (docs/local-explanations.md).
EXPLAIN_SCHEMA_VERSION = "1.0"


def _label(value: Any) -> int | str:
    """A row label as JSON: integers stay numbers (numpy's too), anything else is text."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    return value if isinstance(value, str) else str(value)


def _row_dict(row: RowExplanation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "row": _label(row.row),
        "position": row.position,
        "prediction": row.prediction,
        "base_value": row.base_value,
        "levers": list(row.levers),
        "contributions": [
            {
                "feature": c.feature,
                "value": c.value,
                **({"level": c.level} if c.level is not None else {}),
                "shap": c.shap,
                **({"lime": c.lime} if c.lime is not None else {}),
                "verdict": c.verdict,
                "causal_support": c.causal_support,
                "lever": c.lever,
                "lever_rank": c.lever_rank,
                "reason": c.reason,
                "effect": dict(c.effect) if c.effect is not None else None,
                "change": dict(c.change) if c.change is not None else None,
            }
            for c in row.contributions
        ],
        "lime": None,
    }
    if row.lime is not None:
        out["lime"] = {
            "vsi": row.lime.vsi,
            "csi": row.lime.csi,
            "runs": row.lime.runs,
            "seed": row.lime.seed,
            "local_r2": row.lime.local_r2,
            "kendall_tau": row.lime.kendall_tau,
            "disagrees_with_shap": row.lime.disagrees,
        }
    return out


def explain_dict(explanations: Explanations) -> dict[str, Any]:
    """The explanations as plain JSON data (floats to 6 significant digits, NaN as null).

    Examples
    --------
    >>> from causalinterp.explain.core import Explanations
    >>> explain_dict(Explanations((), "y", "outcome", "shap", "linear", 0))["rows"]
    []
    """
    data = {
        "schema_version": EXPLAIN_SCHEMA_VERSION,
        "outcome": explanations.outcome,
        "scale": explanations.scale,
        "explainer": explanations.explainer,
        "cate": explanations.cate,
        "seed": explanations.seed,
        "effects": {k: dict(v) for k, v in explanations.effects.items()},
        "notes": list(explanations.notes),
        "seconds": dict(explanations.seconds),
        "rows": [_row_dict(r) for r in explanations.rows],
    }
    return clean(data)


def json_text(explanations: Explanations) -> str:
    """``explain.json``'s text."""
    return _json_text(explain_dict(explanations))


def write_or_return(text: str, path: str | os.PathLike[str] | None) -> str:
    if path is not None:
        write_text_atomic(path, text)
    return text


def _effect_text(c: dict[str, Any]) -> str:
    change = c.get("change")
    if not change:
        return "—"
    return (
        f"{fmt(change['estimate'])} [{fmt(change['ci_low'])}, {fmt(change['ci_high'])}] "
        f"for {fmt(change['step'])}"
    )


def markdown(explanations: Explanations) -> str:
    """One section per row: its levers, then every contribution with its verdict."""
    data = explain_dict(explanations)
    lines = [f"# Per-row explanations of {escape_markdown(data['outcome'])}", ""]
    for note in data["notes"]:
        lines.append(f"_Note: {escape_markdown(note)}._")
    for row in data["rows"]:
        lines += [
            "",
            f"## Row {escape_markdown(row['row'])}",
            "",
            f"Prediction {fmt(row['prediction'])} (average {fmt(row['base_value'])}).",
        ]
        levers = ", ".join(escape_markdown(n) for n in row["levers"]) or "none"
        lines.append(f"Levers, largest change first: {levers}.")
        if row["lime"]:
            lime = row["lime"]
            flag = (
                " **SHAP and LIME rank the features differently.**"
                if lime["disagrees_with_shap"]
                else ""
            )
            lines.append(
                f"LIME stability over {lime['runs']} runs: VSI {fmt(lime['vsi'])}, "
                f"CSI {fmt(lime['csi'])}; Kendall tau with SHAP "
                f"{fmt(lime['kendall_tau'])}.{flag}"
            )
        has_lime = any("lime" in c for c in row["contributions"])
        head = "| feature | value | SHAP |" + (" LIME |" if has_lime else "")
        lines += [
            "",
            head + " verdict | lever | change of the outcome (95% CI) | why |",
            "|" + "---|" * (7 + has_lime),
        ]
        for c in row["contributions"]:
            lever = f"yes (#{c['lever_rank']})" if c["lever"] else "no"
            lime_cell = f" {fmt(c.get('lime'))} |" if has_lime else ""
            lines.append(
                f"| {escape_markdown(c['feature'])} | {escape_markdown(_shown(c))} | "
                f"{fmt(c['shap'])} |"
                f"{lime_cell} {escape_markdown(c['verdict'])} | {lever} | {_effect_text(c)} | "
                f"{escape_markdown(c['reason'])} |"
            )
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:70rem}
.card{border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.3rem;
text-align:left;font-size:.9rem}.lever{background:#eaf6ea}.no{color:#777}
.bar{display:inline-block;height:.7rem;background:#4a7fb5}.neg{background:#c0504d}
.flag{color:#a00;font-weight:bold}"""


def _shown(contribution: dict[str, Any]) -> str:
    """A contribution's value as a reader wants it: the level's label for a coded feature."""
    level = contribution.get("level")
    return str(level) if level is not None else fmt(contribution["value"])


def _bar(value: Any, scale: float) -> str:
    if not isinstance(value, int | float) or scale <= 0:
        return ""
    width = min(100.0, 100.0 * abs(value) / scale)
    kind = "bar neg" if value < 0 else "bar"
    return f'<span class="{kind}" style="width:{width:.0f}px"></span> '


def html(explanations: Explanations) -> str:
    """A self-contained page (inline CSS, no scripts, nothing loaded) with a card per row."""
    data = explain_dict(explanations)
    esc = html_escape.escape
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        # The report's Content-Security-Policy, word for word (templates/report.html).
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">",
        f"<title>Per-row explanations of {esc(str(data['outcome']))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Per-row explanations of {esc(str(data['outcome']))}</h1>",
    ]
    parts += [f"<p><em>Note: {esc(n)}.</em></p>" for n in data["notes"]]
    for row in data["rows"]:
        contributions = row["contributions"]
        scale = max([abs(c["shap"] or 0.0) for c in contributions] + [1e-12])
        parts.append(f'<section class="card"><h2>Row {esc(str(row["row"]))}</h2>')
        parts.append(
            f"<p>Prediction {esc(fmt(row['prediction']))} (average "
            f"{esc(fmt(row['base_value']))}). Levers, largest change first: "
            f"<strong>{esc(', '.join(row['levers']) or 'none')}</strong>.</p>"
        )
        if row["lime"]:
            lime = row["lime"]
            flag = (
                '<span class="flag">SHAP and LIME rank the features differently.</span>'
                if lime["disagrees_with_shap"]
                else ""
            )
            parts.append(
                f"<p>LIME stability over {lime['runs']} runs: VSI "
                f"{esc(fmt(lime['vsi']))}, CSI {esc(fmt(lime['csi']))}; Kendall tau "
                f"with SHAP {esc(fmt(lime['kendall_tau']))}. {flag}</p>"
            )
        has_lime = any("lime" in c for c in contributions)
        parts.append(
            "<table><tr><th>feature</th><th>value</th><th>SHAP</th>"
            + ("<th>LIME</th>" if has_lime else "")
            + "<th>verdict</th><th>lever</th><th>change of the outcome (95% CI)</th>"
            "<th>why</th></tr>"
        )
        for c in contributions:
            klass = "lever" if c["lever"] else "no"
            lever = f"yes (#{c['lever_rank']})" if c["lever"] else "no"
            lime_cell = f"<td>{esc(fmt(c.get('lime')))}</td>" if has_lime else ""
            parts.append(
                f'<tr class="{klass}"><td>{esc(c["feature"])}</td><td>{esc(_shown(c))}'
                f"</td><td>{_bar(c['shap'], scale)}{esc(fmt(c['shap']))}</td>{lime_cell}"
                f"<td>{esc(c['verdict'])}</td><td>{lever}</td><td>{esc(_effect_text(c))}</td>"
                f"<td>{esc(c['reason'])}</td></tr>"
            )
        parts.append("</table></section>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write(explanations: Explanations, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``explain.json``, ``explain.md`` and ``explain.html`` into ``out_dir`` (created)."""
    folder = Path(out_dir)
    texts = {
        "json": ("explain.json", json_text(explanations)),
        "markdown": ("explain.md", markdown(explanations)),
        "html": ("explain.html", html(explanations)),
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = write_texts_atomic({folder / name: text for name, text in texts.values()})
    return dict(zip(texts, written, strict=True))
