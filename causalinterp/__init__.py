"""causalinterp: which of a model's explanations may be read as causes.

The public API is :func:`analyze`, :class:`CausalGraph`, :class:`Report` and the error classes.
Heavy dependencies (DoWhy, EconML, SHAP) load on first use, so ``import causalinterp`` and the
command line's ``--help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    CausalInterpError,
    DataError,
    EstimationError,
    GraphError,
    ModelError,
    OptionError,
)

__version__ = "0.1.0"

__all__ = [
    "CausalGraph",
    "CausalInterpError",
    "DataError",
    "EstimationError",
    "GraphError",
    "ModelError",
    "OptionError",
    "Report",
    "analyze",
]

_LAZY = {
    "analyze": ("pipeline", "analyze"),
    "CausalGraph": ("graph", "CausalGraph"),
    "Report": ("report", "Report"),
}

if TYPE_CHECKING:
    from .graph import CausalGraph
    from .pipeline import analyze
    from .report import Report


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        return getattr(import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module 'causalinterp' has no attribute {name!r}")
