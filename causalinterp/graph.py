"""Stage: the causal graph — parsing, validation and the structural queries verdicts need."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureSetDiagnosis:
    """How a model's feature set stands against the DAG, for one feature.

    All fields name variables, sorted. ``colliders_in_model`` are model features whose
    conditioning opens a non-causal path between the feature and the outcome.
    """

    mediators_in_model: tuple[str, ...]
    missing_confounders: tuple[str, ...]
    latent_confounders: tuple[str, ...]
    outcome_descendant: bool
    colliders_in_model: tuple[str, ...]


class CausalGraph:
    """A causal DAG (stub; see the contract)."""


# --- minimal core so other stages can build on it; parsing and validation extend this ---
import networkx as nx  # noqa: E402


class CausalGraph:  # noqa: F811
    """An immutable causal DAG over named variables."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self._g = nx.DiGraph(graph)

    @classmethod
    def from_edges(cls, edges, nodes=()) -> CausalGraph:
        g = nx.DiGraph()
        g.add_nodes_from(str(n) for n in nodes)
        g.add_edges_from((str(u), str(v)) for u, v in edges)
        return cls(g)

    @classmethod
    def from_networkx(cls, graph: nx.DiGraph) -> CausalGraph:
        return cls(graph)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(sorted(self._g.nodes))

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self._g.edges))

    def to_networkx(self) -> nx.DiGraph:
        return nx.DiGraph(self._g)

    def parents(self, node: str) -> frozenset[str]:
        return frozenset(self._g.predecessors(node))

    def children(self, node: str) -> frozenset[str]:
        return frozenset(self._g.successors(node))

    def ancestors(self, node: str) -> frozenset[str]:
        return frozenset(nx.ancestors(self._g, node))

    def descendants(self, node: str) -> frozenset[str]:
        return frozenset(nx.descendants(self._g, node))

    def has_directed_path(self, source: str, target: str) -> bool:
        return source != target and nx.has_path(self._g, source, target)

    def latent(self, observed) -> frozenset[str]:
        return frozenset(self._g.nodes) - frozenset(observed)
