"""Wording and number formats shared by the Markdown and HTML renderers."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "STRUCTURAL_ZERO",
    "VERDICT_LABELS",
    "breakable",
    "contrast_text",
    "dependence_caption",
    "effect_cell",
    "entities",
    "escape_markdown",
    "fmt",
    "fmt_effect",
    "fmt_p",
    "identification_text",
    "level_rows",
    "one_line",
    "ordered_counts",
    "round_number",
    "support_text",
    "unused_columns_text",
    "verdict_label",
]

#: Verdicts in the order reports list them, with the words shown to readers.
VERDICT_LABELS: Mapping[str, str] = {
    "supported": "supported",
    "over_attributed": "over-attributed",
    "under_attributed": "under-attributed",
    "sign_conflict": "sign conflict",
    "fragile": "fragile",
    "limited_overlap": "limited overlap",
    "inconclusive": "inconclusive",
    "no_detectable_effect": "no detectable effect",
    "no_causal_path": "no causal path",
    "not_identifiable": "not identifiable",
    "error": "error",
}


def escape_markdown(text: object) -> str:
    """Escape ``text`` so Markdown (GitHub flavour, tables included) shows it literally.

    Backslash-escapes Markdown punctuation (pipes, backticks, emphasis, brackets, headings,
    math dollars, ...) and turns ``&``, ``<`` and ``>`` into HTML entities, so a name such as
    ``<img src=x onerror=alert(1)>`` stays text. Line breaks become spaces.

    Parameters
    ----------
    text : object
        Anything; it is converted with ``str``.

    Returns
    -------
    str

    Examples
    --------
    >>> escape_markdown("a|b <c>")
    'a\\\\|b &lt;c&gt;'
    """
    out = []
    for char in " ".join(str(text).split()):
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char in "\\`*_[]()#|~@:$":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def round_number(value: float) -> float | None:
    """The one rounding rule of every JSON output: six significant digits.

    NaN and infinities become None and -0.0 becomes 0.0, so the same inputs give the same
    text on every platform. Renderers of text choose their own digits (:func:`fmt`).

    Examples
    --------
    >>> round_number(0.000123456789), round_number(float("nan")), round_number(-0.0)
    (0.000123457, None, 0.0)
    """
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.6g}") + 0.0  # + 0.0 folds -0.0 into 0.0


def entities(text: str) -> str:
    """Only the HTML-significant characters, for text the renderers generated themselves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def fmt(value: Any, digits: int = 3) -> str:
    """A number for reading: ``digits`` significant digits, an em dash when missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = _float(value)
    if not math.isfinite(number):
        return "—"
    return f"{number:.{digits}g}"


def fmt_p(value: Any) -> str:
    """A p-value for reading: three decimals, ``< 0.001`` below that, an em dash when missing."""
    number = _float(value)
    if value is None or not math.isfinite(number):
        return "—"
    if number < 0.001:
        return "< 0.001"
    return f"{number:.3f}"


def fmt_effect(effect: Mapping[str, Any] | None) -> str:
    """An effect row of ``report.json`` as ``estimate [low, high]``."""
    if not effect:
        return "—"
    # report.json writes an unbounded (Anderson-Rubin) end as null.
    low = "−∞" if effect["ci_low"] is None else fmt(effect["ci_low"])
    high = "∞" if effect["ci_high"] is None else fmt(effect["ci_high"])
    return f"{fmt(effect['estimate'])} [{low}, {high}]"


def level_rows(row: Mapping[str, Any]) -> list[dict[str, str]]:
    """A categorical feature's per-level table, as text cells the Markdown and HTML reports
    share: level, reference, causal effect, model contrast, verdict and its reason.

    Examples
    --------
    >>> row = {"effect": {"levels": [{"level": "b", "reference": "a", "estimate": -0.1,
    ...     "ci_low": -0.12, "ci_high": -0.08, "model_contrast": {"estimate": -0.02,
    ...     "ci_low": -0.03, "ci_high": -0.01}, "verdict": "under_attributed",
    ...     "reason": "..."}]}}
    >>> level_rows(row)[0]["model"], level_rows(row)[0]["verdict"]
    ('-0.02 [-0.03, -0.01]', 'under-attributed')
    """
    cells = []
    for level in (row.get("effect") or {}).get("levels") or ():
        contrast = level.get("model_contrast")
        causal = (
            fmt_effect(level) if level.get("estimate") is not None
            else (level.get("error") or "not estimated")
        )
        cells.append(
            {
                "level": str(level["level"]),
                "reference": str(level["reference"]),
                "causal": causal,
                "model": fmt_effect(contrast) if contrast else "—",
                "verdict": verdict_label(level["verdict"]) if level.get("verdict") else "—",
                "reason": level.get("reason") or "—",
            }
        )
    return cells


def unused_columns_text(unused: list[str]) -> str:
    """The sentence naming the observed graph columns the model does not use (``""``: none)."""
    if not unused:
        return ""
    return (
        f"The model does not use {len(unused)} observed graph column(s): {', '.join(unused)}; "
        "its attributions are judged with them left out (see each feature's reasons)."
    )


#: What an effect cell says when the DAG has no directed path from the feature to the outcome.
STRUCTURAL_ZERO = "0 (no causal path in the DAG)"


def contrast_text(effect: Mapping[str, Any] | None) -> str:
    """The level contrast of a categorical feature's headline effect, e.g. ``'south' vs 'north'``;
    ``""`` for other features."""
    contrast = (effect or {}).get("contrast")
    if not contrast:
        return ""
    return f"{contrast['level']!r} vs {contrast['reference']!r}"


def effect_cell(row: Mapping[str, Any]) -> str:
    """A feature's causal effect for a table cell: ``estimate [low, high]``, the level contrast
    of a categorical feature, :data:`STRUCTURAL_ZERO` for a feature without a causal path.

    Examples
    --------
    >>> effect_cell({"verdict": "no_causal_path", "effect": None})
    '0 (no causal path in the DAG)'
    >>> effect_cell({"verdict": "supported", "effect": {"estimate": 0.0649, "ci_low": 0.0239,
    ...     "ci_high": 0.106, "contrast": {"level": "south", "reference": "north"}}})
    "0.0649 [0.0239, 0.106] ('south' vs 'north')"
    """
    if row.get("verdict") == "no_causal_path" and not row.get("effect"):
        return STRUCTURAL_ZERO
    text = fmt_effect(row.get("effect"))
    contrast = contrast_text(row.get("effect"))
    return f"{text} ({contrast})" if contrast else text


def dependence_caption(row: Mapping[str, Any]) -> str:
    """The caption of a feature's dependence plot, naming only what the plot draws."""
    effect = row.get("effect")
    if row.get("kind") == "categorical":
        drawn = any(level.get("estimate") is not None for level in (effect or {}).get("levels", ()))
        text = "Orange diamonds: the model's mean SHAP value at each level."
        if drawn:
            return text + (
                " Blue: each level's causal effect against the reference level, with its 95% "
                "interval, drawn from the reference level's mean SHAP value. The verdict reads "
                "the model's own contrasts (its predictions with the rows set to each level), "
                "in the per-level table."
            )
        return text + f" No causal effect is drawn: {_no_effect_reason(row)}."
    slope = _float((row.get("attribution") or {}).get("slope"))
    parts = ["SHAP values against the feature"]
    if effect and math.isfinite(_float(effect.get("estimate"))):
        parts.append("with the causal effect (blue, 95% band)")
        if math.isfinite(slope):
            parts.append("and the attribution slope (orange, dashed) through the mean point.")
        else:
            parts[-1] += " through the mean point; the attribution slope is undefined."
        return " ".join(parts)
    if math.isfinite(slope):
        parts.append("with the attribution slope (orange, dashed) through the mean point.")
    else:
        parts[-1] += "."
    return " ".join(parts) + f" No causal effect is drawn: {_no_effect_reason(row)}."


def _no_effect_reason(row: Mapping[str, Any]) -> str:
    verdict = row.get("verdict")
    if verdict == "no_causal_path":
        return "the DAG has no causal path from it to the outcome, so its effect is 0"
    if verdict == "not_identifiable":
        return "its effect is not identifiable from the DAG and the observed columns"
    if verdict == "error":
        return "its estimation failed"
    return "no effect was estimated"


def breakable(name: object) -> Any:
    """``name`` escaped for HTML, with line-break opportunities after ``_``, ``.``, ``-`` and
    ``/``, so a long identifier wraps between its words rather than inside one.

    Examples
    --------
    >>> str(breakable("cancel_page_visits<b>"))
    'cancel_<wbr>page_<wbr>visits&lt;b&gt;'
    """
    from markupsafe import Markup, escape

    text = str(escape(str(name)))
    for char in "_.-/":
        text = text.replace(char, char + "<wbr>")
    return Markup(text)


def support_text(value: bool | None) -> str:
    """Causal support in words: yes, no or undetermined."""
    return {True: "yes", False: "no"}.get(value, "undetermined")  # type: ignore[arg-type]


def identification_text(ident: Mapping[str, Any], esc: Callable[[str], str] = str) -> str:
    """A one-line reading of an identification result; ``esc`` escapes each name."""

    def listed(key: str) -> str:
        return ", ".join(esc(n) for n in ident.get(key) or ())

    strategy = ident.get("strategy", "")
    if strategy == "backdoor":
        if ident.get("adjustment_set"):
            return f"back-door, adjusting for {listed('adjustment_set')}"
        return "back-door, no adjustment needed"
    # Conditional designs name the covariates they are valid given.
    given = f" given {listed('adjustment_set')}" if ident.get("conditional") else ""
    if strategy == "frontdoor":
        return f"front-door through {listed('mediators')}{given}"
    if strategy == "iv":
        return f"instrumental variables: {listed('instruments')}{given}"
    if strategy == "none":
        if ident.get("blocking_latents"):
            return f"not identifiable: latent confounding through {listed('blocking_latents')}"
        return "not identifiable from the DAG and the observed columns"
    if strategy == "no_path":
        return "no directed path to the outcome (effect is zero by the DAG)"
    return esc(str(strategy)) or "unknown"


def verdict_label(verdict: str) -> str:
    """The words shown to readers for a verdict."""
    return VERDICT_LABELS.get(verdict, str(verdict).replace("_", " "))


def one_line(error: BaseException, limit: int = 300) -> str:
    """An exception as one short line: ``Type: message`` (``errors.first_line``)."""
    from causalinterp.errors import first_line

    return first_line(error, limit, typed=True)


def ordered_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Verdict counts in the order of :data:`VERDICT_LABELS`, unknown verdicts last."""
    order = {v: i for i, v in enumerate(VERDICT_LABELS)}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
