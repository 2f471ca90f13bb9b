"""Per-row explanations with causal levers (SHAP, LIME, per-row conditional effects).

See :func:`explain_rows`, :func:`prepare` and docs/local-explanations.md. The names load on
first use, so that the command line's ``--help`` does not import EconML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Contribution",
    "Explainer",
    "Explanations",
    "LimeSummary",
    "RowExplanation",
    "explain_rows",
    "prepare",
]

if TYPE_CHECKING:
    from causalinterp.explain.core import (
        Contribution,
        Explainer,
        Explanations,
        LimeSummary,
        RowExplanation,
        explain_rows,
        prepare,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from causalinterp.explain import core

        return getattr(core, name)
    raise AttributeError(f"module 'causalinterp.explain' has no attribute {name!r}")
