"""causalinterp: which of a model's explanations may be read as causes.

The public API: :func:`analyze`, the composition of the stage verbs :func:`check_data`,
:func:`estimate_effects`, :func:`refute_effects`, :func:`check_graph`,
:func:`attribute_model` and :func:`judge` (each usable by hand, with the seeds
:func:`stage_seeds` says ``analyze`` gives them); the verbs built on an analysis or its data:
:func:`explain_rows` (per-row explanations and levers), :func:`constrain` (refit with the DAG's
directions) and :func:`monitor` (a deployed model over time); :class:`CausalGraph`;
:class:`Report`; the options table :mod:`causalinterp.options`; and the error classes.
Heavy dependencies (DoWhy, EconML, SHAP) load on first use, so ``import causalinterp`` and the
command line's ``--help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import options
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
    "attribute_model",
    "check_data",
    "check_graph",
    "constrain",
    "estimate_curves",
    "estimate_effects",
    "explain_rows",
    "judge",
    "monitor",
    "options",
    "refute_effects",
    "stage_seeds",
]

#: Public name -> (module, attribute), imported on first access.
_LAZY = {
    "analyze": ("pipeline", "analyze"),
    "check_data": ("data", "check_data"),
    "estimate_effects": ("estimate", "estimate_effects"),
    "estimate_curves": ("estimate.curves", "estimate_curves"),
    "refute_effects": ("refute", "refute_effects"),
    "check_graph": ("graph", "check_graph"),
    "attribute_model": ("attribute", "attribute_model"),
    "judge": ("verdicts", "judge"),
    "CausalGraph": ("graph", "CausalGraph"),
    "Report": ("report", "Report"),
    "stage_seeds": ("_seeds", "stage_seeds"),
    "constrain": ("domain", "constrain"),
    "explain_rows": ("explain", "explain_rows"),
    "monitor": ("monitoring", "monitor"),
}

if TYPE_CHECKING:
    from ._seeds import stage_seeds
    from .attribute import attribute_model
    from .data import check_data
    from .domain import constrain
    from .estimate import estimate_effects
    from .estimate.curves import estimate_curves
    from .explain import explain_rows
    from .graph import CausalGraph, check_graph
    from .monitoring import monitor
    from .pipeline import analyze
    from .refute import refute_effects
    from .report import Report
    from .verdicts import judge


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attribute = _LAZY[name]
        value = getattr(import_module(f".{module}", __name__), attribute)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module 'causalinterp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
