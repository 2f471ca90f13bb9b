"""Monitoring a deployed model: drift, out-of-support rows, attribution drift, which causal
mechanism changed, causal risk and performance, with alerts (see docs/monitoring.md).

The verb is :func:`causalinterp.monitor` (this subpackage's :func:`monitor`). Names load on
first use, so that ``causalinterp monitor --help`` (which imports
:mod:`causalinterp.monitoring.cli`) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "Alert",
    "MonitorResult",
    "ReferenceSummary",
    "WindowResult",
    "monitor",
    "summarize_reference",
]

_LAZY = {
    "Alert": "alerts",
    "MonitorResult": "core",
    "WindowResult": "core",
    "monitor": "core",
    "ReferenceSummary": "reference",
    "summarize_reference": "reference",
}

if TYPE_CHECKING:
    from causalinterp.monitoring.alerts import Alert
    from causalinterp.monitoring.core import MonitorResult, WindowResult, monitor
    from causalinterp.monitoring.reference import ReferenceSummary, summarize_reference


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
