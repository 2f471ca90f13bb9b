"""The findings at the top of a report, and the one-screen text of ``causalinterp --summary``.

Both read ``report.json`` data only, so every renderer ranks and words them the same way. The
ranking rules are documented in ``docs/verdicts.md`` ("Findings").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from causalinterp.render._text import fmt, fmt_effect, unused_columns_text, verdict_label

__all__ = ["LARGE_EFFECT", "MAX_FINDINGS", "findings", "summary_text"]

#: At most this many findings head a report.
MAX_FINDINGS = 5
#: An under-used effect is large from this many outcome standard deviations (per standard
#: deviation of a continuous feature, per 0 -> 1 of a binary one).
LARGE_EFFECT = 0.1

_LABELS = {"flagged": "flagged", "leakage": "leakage", "under_used": "under-used", "graph": "graph"}


def findings(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's findings, most material first, at most :data:`MAX_FINDINGS`.

    In this order: flagged attributions (largest share of the attribution first; a flagged
    leaking feature is kind ``"leakage"``), large effects the model under-uses (verdict
    ``under_attributed`` with a standardized effect of at least :data:`LARGE_EFFECT`, largest
    first), leakage that is not flagged, and a DAG that does not fit the data. The last, when
    present, is always kept: it bears on every verdict. A feature declared ``fixed`` (not a
    lever) is never an under-used effect: nobody can use it.

    Parameters
    ----------
    data : Mapping
        The analysis as ``report.json`` data (its ``features``, ``graph_test`` and ``outcome``).

    Returns
    -------
    list of dict
        Each with ``kind`` (``"flagged"``, ``"leakage"``, ``"under_used"`` or ``"graph"``),
        ``feature`` (None for the graph), ``text`` and ``action`` (one sentence each).

    Examples
    --------
    >>> row = {"name": "visits", "flagged": True, "verdict": "no_causal_path",
    ...        "reason_summary": "no causal path to churn; leakage: a consequence of churn",
    ...        "action": "Drop visits from the model: it is a consequence of churn and leaks it.",
    ...        "attribution": {"share": 0.31, "slope": 0.1}, "effect": None}
    >>> found = findings({"outcome": "churn", "features": [row], "graph_test": None})
    >>> found[0]["kind"], found[0]["text"]
    ('leakage', "visits carries 31% of the model's attribution but no causal path to churn; \
leakage: a consequence of churn.")
    """
    outcome = data.get("outcome", "the outcome")
    ranked: list[tuple[int, float, dict[str, Any]]] = []
    for row in data.get("features", ()):
        name, why = row["name"], row.get("reason_summary") or verdict_label(row["verdict"])
        share = _number(row["attribution"].get("share"))
        leaking = "leakage" in (row.get("reason_summary") or "")
        if row["flagged"]:
            text = f"{name} carries {share:.0%} of the model's attribution but {why}."
            kind = "leakage" if leaking else "flagged"
            ranked.append((0, -share, _item(kind, name, text, row.get("action"))))
        elif leaking:
            text = f"{name} is a consequence of {outcome} (leakage); its attribution is small."
            ranked.append((2, -share, _item("leakage", name, text, row.get("action"))))
        elif row["verdict"] == "under_attributed" and not row.get("fixed"):
            size = abs(_number((row.get("effect") or {}).get("standardized")))
            if size >= LARGE_EFFECT:
                text = (
                    f"{name} has a large causal effect on {outcome}, {fmt_effect(row['effect'])}, "
                    f"but the model's slope is only {fmt(row['attribution'].get('slope'))}: {why}."
                )
                ranked.append((1, -size, _item("under_used", name, text, row.get("action"))))
    ranked.sort(key=lambda item: item[:2])
    items = [item for _, _, item in ranked]
    graph = _graph_finding(data.get("graph_test"))
    if graph is not None:
        items = [*items[: MAX_FINDINGS - 1], graph]
    return items[:MAX_FINDINGS]


def _item(kind: str, feature: str | None, text: str, action: str | None) -> dict[str, Any]:
    return {"kind": kind, "feature": feature, "text": text, "action": action}


def _graph_finding(test: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not test or test.get("fits") is not False:
        return None
    violations = test.get("violations") or []
    first = ""
    if violations:
        v = violations[0]
        given = ", ".join(v.get("given") or ())
        first = f" (first: {v['x']} ⟂ {v['y']}" + (f" | {given})" if given else ")")
    text = (
        f"The DAG does not fit the data: {len(violations)} of {test.get('tested')} implied "
        f"independences are rejected{first}; every verdict assumes this graph."
    )
    action = "Revise the DAG (see the graph test's suggestions) before acting on any verdict."
    return _item("graph", None, text, action)


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0  # NaN ranks as nothing


def summary_text(report: Any, *, width: int = 100) -> str:
    """The findings in one screen of plain text, for ``causalinterp ... --summary``.

    Parameters
    ----------
    report : Report or Mapping
        A :class:`causalinterp.Report`, or its ``report.json`` data.
    width : int, default 100
        Lines are wrapped at this many characters.

    Returns
    -------
    str
        A headline, then each finding with its action, numbered; no trailing newline.

    Examples
    --------
    >>> data = {"outcome": "churn", "graph_test": None, "features": [],
    ...         "summary": {"flagged": [], "findings": []}}
    >>> print(summary_text(data))
    churn: 0 features, 0 flagged. Nothing needs doing: no finding.
    """
    import textwrap

    data = report.to_dict() if hasattr(report, "to_dict") else report
    summary = data.get("summary") or {}
    found = summary.get("findings")
    if found is None:
        found = findings(data)
    head = (
        f"{data.get('outcome')}: {len(data.get('features') or ())} features, "
        f"{len(summary.get('flagged') or ())} flagged."
    )
    # The graph columns the model leaves out, on their own line under the headline.
    unused = textwrap.wrap(
        unused_columns_text(list(data.get("graph_columns_unused") or [])), width
    )
    if not found:
        return "\n".join([head + " Nothing needs doing: no finding.", *unused])
    lines = [head + f" Findings, most material first ({len(found)}):", *unused]
    for number, item in enumerate(found, start=1):
        lines += textwrap.wrap(
            f"[{_LABELS.get(item['kind'], item['kind'])}] {item['text']}",
            width,
            initial_indent=f"{number}. ",
            subsequent_indent="   ",
        )
        if item.get("action"):
            lines += textwrap.wrap(
                item["action"], width, initial_indent="   -> ", subsequent_indent="      "
            )
    return "\n".join(lines)
