"""Wording and number formats shared by the Markdown and HTML renderers."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "VERDICT_LABELS",
    "entities",
    "escape_markdown",
    "fmt",
    "fmt_effect",
    "fmt_p",
    "identification_text",
    "one_line",
    "ordered_counts",
    "support_text",
    "verdict_label",
]

#: Verdicts in the order reports list them, with the words shown to readers.
VERDICT_LABELS: Mapping[str, str] = {
    "supported": "supported",
    "over_attributed": "over-attributed",
    "under_attributed": "under-attributed",
    "sign_conflict": "sign conflict",
    "fragile": "fragile",
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
    return f"{fmt(effect['estimate'])} [{fmt(effect['ci_low'])}, {fmt(effect['ci_high'])}]"


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
    if strategy == "frontdoor":
        return f"front-door through {listed('mediators')}"
    if strategy == "iv":
        return f"instrumental variables: {listed('instruments')}"
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
    """An exception as one short line: ``Type: message``."""
    message = " ".join(str(error).split())
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ordered_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Verdict counts in the order of :data:`VERDICT_LABELS`, unknown verdicts last."""
    order = {v: i for i, v in enumerate(VERDICT_LABELS)}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
