"""``explain.json``, ``explain.md`` and ``explain.html`` (one self-contained card per row)."""

from __future__ import annotations

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
EXPLAIN_SCHEMA_VERSION = "1.1"


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
                "move": c.move,
                "advice": c.advice,
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
        "mean_prediction": explanations.mean_prediction,
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
    lines = [
        f"# Per-row explanations of {escape_markdown(data['outcome'])}",
        "",
        f"The model's mean prediction over the analysed rows: {fmt(data['mean_prediction'])} "
        f"(on the {escape_markdown(data['scale'])} scale).",
        "",
    ]
    for note in data["notes"]:
        lines.append(f"_Note: {escape_markdown(note)}._")
    for row in data["rows"]:
        lines += [
            "",
            f"## Row {escape_markdown(row['row'])}",
            "",
            f"Prediction {fmt(row['prediction'])}; the model's mean prediction "
            f"{fmt(data['mean_prediction'])}; SHAP base value {fmt(row['base_value'])} (base "
            "value plus the SHAP column is the prediction).",
        ]
        levers = sorted(
            (c for c in row["contributions"] if c["lever"]), key=lambda c: c["lever_rank"]
        )
        if levers:
            lines.append("Levers, largest change first:")
            lines += [
                f"{k}. **{escape_markdown(c['feature'])}**: {escape_markdown(c['advice'])}"
                for k, c in enumerate(levers, start=1)
            ]
        else:
            lines.append(
                "No lever: no feature with causal support has an effect on this row whose "
                "interval excludes 0."
            )
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


def _shown(contribution: dict[str, Any]) -> str:
    """A contribution's value as a reader wants it: the level's label for a coded feature."""
    level = contribution.get("level")
    return str(level) if level is not None else fmt(contribution["value"])


def html(explanations: Explanations) -> str:
    """A self-contained page (``templates/explain.html``: inline CSS, no scripts, nothing
    loaded, the reports' Content-Security-Policy) with a foldable card per row."""
    from causalinterp.render._templates import render

    return render("explain.html", data=explain_dict(explanations))


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
