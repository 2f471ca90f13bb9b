"""The causal DAG: its value object, its text formats, its structure and its test against data.

- :mod:`~causalinterp.graph.causal_graph`: :class:`CausalGraph`, the immutable DAG, and
  :class:`FeatureSetDiagnosis`;
- :mod:`~causalinterp.graph.formats`: edge-string, DOT, GML, networkx and file readers and
  writers;
- :mod:`~causalinterp.graph.structure`: causal roles, the back-door rule, open paths;
- :mod:`~causalinterp.graph.independence`: :func:`check_graph`, the test of the DAG's implied
  independences against the data (:class:`GraphTest`, :class:`Implication`).

The graph test loads on first use: it imports scikit-learn, SciPy and statsmodels, and it takes
:class:`~causalinterp.data.CheckedData`, whose module needs :class:`CausalGraph` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from causalinterp.graph.causal_graph import CausalGraph, FeatureSetDiagnosis

if TYPE_CHECKING:
    from causalinterp.graph.independence import GraphTest, Implication, check_graph

__all__ = ["CausalGraph", "FeatureSetDiagnosis", "GraphTest", "Implication", "check_graph"]

_LAZY = ("GraphTest", "Implication", "check_graph")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from causalinterp.graph import independence

        value = getattr(independence, name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module 'causalinterp.graph' has no attribute {name!r}")
