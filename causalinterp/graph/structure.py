"""Structural queries on a DAG: causal roles, the back-door rule and open paths.

Functions here take a :class:`networkx.DiGraph` that is already a validated DAG and node names
that are already checked; :class:`~causalinterp.graph.CausalGraph` checks its arguments and
delegates here. :func:`backdoor_set` is the one back-door rule of the package: the public
:meth:`CausalGraph.backdoor_adjustment_set <causalinterp.graph.CausalGraph.backdoor_adjustment_set>`
and the identification step of the pipeline (:mod:`causalinterp.estimate._dowhy`) both call it,
so what the graph method reports is what the effect estimates adjust for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

__all__ = [
    "backdoor_set",
    "colliders_opening_paths",
    "confounders",
    "confounders_on_open_paths",
    "is_backdoor_set",
    "mediators",
    "proper_backdoor_graph",
]


# --------------------------------------------------------------------------------------------
# Causal roles
# --------------------------------------------------------------------------------------------


def mediators(g: nx.DiGraph, t: str, y: str) -> set[str]:
    """Nodes on a directed path ``t -> ... -> y``: De(t) ∩ An(y)."""
    return nx.descendants(g, t) & nx.ancestors(g, y)


def confounders(g: nx.DiGraph, t: str, y: str) -> set[str]:
    """Ancestors of ``t`` with a directed path to ``y`` that avoids ``t``."""
    without_t = nx.restricted_view(g, [t], [])
    return nx.ancestors(g, t) & nx.ancestors(without_t, y)


def proper_backdoor_graph(g: nx.DiGraph, t: str, y: str) -> nx.DiGraph:
    """``g`` without the first edge of every proper causal path ``t -> ... -> y``.

    What is left connecting ``t`` and ``y`` is non-causal (Perković et al., 2018).
    """
    an_y = nx.ancestors(g, y) | {y}
    out = g.copy()
    out.remove_edges_from([(t, c) for c in g.successors(t) if c in an_y])
    return out


# --------------------------------------------------------------------------------------------
# The back-door rule
# --------------------------------------------------------------------------------------------


def _backdoor_graph(g: nx.DiGraph, t: str) -> nx.DiGraph:
    """``g`` without the edges out of ``t`` (Pearl's back-door graph)."""
    out = g.copy()
    out.remove_edges_from([(t, child) for child in g.successors(t)])
    return out


def is_backdoor_set(g: nx.DiGraph, t: str, y: str, z: Iterable[str]) -> bool:
    """Pearl's back-door criterion: ``z`` holds no descendant of ``t`` and d-separates ``t``
    from ``y`` once the edges out of ``t`` are removed."""
    z = set(z)
    if z & (nx.descendants(g, t) | {t, y}):
        return False
    return nx.is_d_separator(_backdoor_graph(g, t), {t}, {y}, z)


def backdoor_set(g: nx.DiGraph, t: str, y: str, observed: Iterable[str]) -> set[str] | None:
    """The back-door adjustment set the analysis uses, over ``observed``; None if none exists.

    Only the ancestors of ``t`` and ``y`` can matter (d-separation among them depends on their
    ancestors alone), so the search runs on that part of ``g``:

    * Existence is decided in polynomial time: a valid set over the observed non-descendants
      of ``t`` exists if and only if all of them that are ancestors of ``t`` or ``y`` form one
      (van der Zander, Liśkiewicz and Textor, 2014).
    * The set aims at precision: the optimal adjustment set O (parents of ``y`` and of the
      mediators, minus ``t`` and its descendants; Henckel, Perković and Maathuis, 2022), which
      has the smallest asymptotic variance among valid sets, when it is observed and valid.
      Otherwise a minimal valid set, enlarged by every observed member of O that keeps it valid
      (these explain outcome variance without touching the treatment), then pruned, in sorted
      order, of members outside O that are no longer needed.

    Descendants of ``t`` are never used. The result depends only on the graph, not on the
    order of its nodes.

    Parameters
    ----------
    g : networkx.DiGraph
        The DAG.
    t, y : str
        Treatment and outcome, distinct nodes of ``g``.
    observed : iterable of str
        Nodes present in the data; other names are ignored.

    Returns
    -------
    set of str or None
        ``set()`` when no adjustment is needed.
    """
    keep = nx.ancestors(g, t) | nx.ancestors(g, y) | {t, y}
    g = nx.DiGraph(g.subgraph(keep))
    obs = (set(observed) & keep) - {t, y}
    g_bd = _backdoor_graph(g, t)

    def valid(z: Iterable[str]) -> bool:
        return nx.is_d_separator(g_bd, {t}, {y}, set(z))

    forbidden = nx.descendants(g, t) | {t}
    causal_nodes = (nx.descendants(g, t) & nx.ancestors(g, y)) | {y}
    optimal = set().union(*(g.predecessors(c) for c in causal_nodes)) - forbidden
    if optimal <= obs and valid(optimal):
        return optimal

    # g holds only ancestors of {t, y}, so these are the canonical candidates.
    candidates = obs - forbidden
    if not valid(candidates):
        return None
    chosen = set(nx.find_minimal_d_separator(g_bd, {t}, {y}, restricted=candidates))
    for v in sorted((optimal & obs) - chosen):
        if valid(chosen | {v}):
            chosen.add(v)
    for v in sorted(chosen - optimal):
        if valid(chosen - {v}):
            chosen.discard(v)
    return chosen


# --------------------------------------------------------------------------------------------
# Open paths for the diagnosis
# --------------------------------------------------------------------------------------------
# A path arrives at a node "up" (from one of its children: the node is a tail there) or
# "down" (from one of its parents: an arrowhead into it). It may continue
#   - from "up" at v not in Z: to v's parents (up) and children (down);
#   - from "down" at v: to v's children (down) if v not in Z, and to v's parents (up) if
#     v is in Z or an ancestor of Z (an activated collider).
# Which nodes lie on some open *simple* path has no known fast exact algorithm, so the
# simple paths are enumerated, within a step budget, over An({t, y} ∪ Z) (no other node
# can lie on an open path). Past the budget (only huge, dense graphs) d-connecting walks
# are used instead: they may also name a node whose connections share a vertex.

_PATH_BUDGET = 5_000


def _ancestors_of(g: nx.DiGraph, nodes: Iterable[str]) -> set[str]:
    """``nodes`` and all their ancestors (one traversal for the whole set)."""
    out = set(nodes)
    stack = list(out)
    while stack:
        for parent in g.predecessors(stack.pop()):
            if parent not in out:
                out.add(parent)
                stack.append(parent)
    return out


def _steps(g: nx.DiGraph, v: str, kind: str, z: set[str], an_z: set[str]) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    if kind == "up":
        if v not in z:
            steps += [(p, "up") for p in g.predecessors(v)]
            steps += [(c, "down") for c in g.successors(v)]
    else:
        if v not in z:
            steps += [(c, "down") for c in g.successors(v)]
        if v in an_z:
            steps += [(p, "up") for p in g.predecessors(v)]
    return steps


def _first_steps(g: nx.DiGraph, start: str) -> list[tuple[str, str]]:
    return [(p, "up") for p in g.predecessors(start)] + [(c, "down") for c in g.successors(start)]


def _open_reach(
    g: nx.DiGraph, start: str, avoid: str, z: set[str], an_z: set[str]
) -> dict[str, set[str]]:
    """Nodes reached from ``start`` by walks open given ``z``, with how they are entered.

    Walks never pass through ``start`` again nor through ``avoid``.
    """
    reached: dict[str, set[str]] = {}
    stack = _first_steps(g, start)
    seen: set[tuple[str, str]] = set()
    while stack:
        state = stack.pop()
        v, kind = state
        if state in seen or v == start:
            continue
        seen.add(state)
        reached.setdefault(v, set()).add(kind)
        if v != avoid:
            stack.extend(_steps(g, v, kind, z, an_z))
    return reached


class _OpenPaths:
    """The open paths between t and y given z in g, searched once per question."""

    def __init__(self, g: nx.DiGraph, t: str, y: str, z: set[str]) -> None:
        self.g, self.t, self.y, self.z = g, t, y, z
        self.an_z = _ancestors_of(g, z)
        self.from_t = _open_reach(g, t, y, z, self.an_z)
        self.from_y = _open_reach(g, y, t, z, self.an_z)
        # A node on an open path is an ancestor of t, y or z, and is reached by open walks
        # from both ends; nothing else needs to be searched.
        self.allowed = (_ancestors_of(g, z | {t, y}) & self.from_t.keys() & self.from_y.keys()) | {
            y
        }

    def search(self, visit: Any) -> bool:
        """Call ``visit(interior, colliders)`` for each open simple path t ... y.

        ``visit`` returns True to stop. Returns False when the step budget ran out first.
        """
        g, t, y, z, an_z, allowed = self.g, self.t, self.y, self.z, self.an_z, self.allowed
        path, kinds, on_path = [t], [""], {t}
        stack = [iter(_first_steps(g, t))]
        steps = 0
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                on_path.discard(path.pop())
                kinds.pop()
                continue
            w, kind = step
            if w in on_path or w not in allowed:
                continue
            steps += 1
            if steps > _PATH_BUDGET:
                return False
            if w == y:
                leaving = [*kinds[2:], kind][: len(path) - 1]  # empty for an edge t - y
                colliders = [
                    v
                    for v, came, went in zip(path[1:], kinds[1:], leaving, strict=True)
                    if came == "down" and went == "up"
                ]
                if visit(path[1:], colliders):
                    return True
                continue
            path.append(w)
            kinds.append(kind)
            on_path.add(w)
            stack.append(iter(_steps(g, w, kind, z, an_z)))
        return True

    def meets(self, v: str) -> bool:
        """Walk test: open walks from t and from y reach v and join there unblocked."""
        kinds_t, kinds_y = self.from_t.get(v, set()), self.from_y.get(v, set())
        if v in self.an_z:
            return bool(kinds_t and kinds_y)
        return any(not (a == b == "down") for a in kinds_t for b in kinds_y)

    def collider_on_walk(self, v: str) -> bool:
        """Walk test: an open walk t ... -> v <- ... y, v an activated collider."""
        return (
            v in self.an_z and "down" in self.from_t.get(v, ()) and "down" in self.from_y.get(v, ())
        )


def confounders_on_open_paths(
    g: nx.DiGraph, t: str, y: str, z: set[str], candidates: frozenset[str]
) -> set[str]:
    """The candidates that lie on a path between t and y open given ``z`` in ``g``."""
    if not candidates or nx.is_d_separator(g, {t}, {y}, z):
        return set()
    paths = _OpenPaths(g, t, y, z)
    candidates = candidates & paths.allowed
    found: set[str] = set()

    def visit(interior: list[str], colliders: list[str]) -> bool:
        found.update(candidates.intersection(interior))
        return found == candidates

    if not candidates or paths.search(visit):
        return found
    return {c for c in candidates if paths.meets(c)}


def colliders_opening_paths(
    g: nx.DiGraph, t: str, y: str, z: set[str], exclude: set[str]
) -> set[str]:
    """Members c of ``z`` such that an open path passes a collider that only c activates."""
    if nx.is_d_separator(g, {t}, {y}, z):
        return set()
    only = {k: next(iter(acts)) for k, acts in _single_activators(g, z).items()}
    only = {k: c for k, c in only.items() if c not in exclude}
    if not only:
        return set()
    paths = _OpenPaths(g, t, y, z)
    only = {k: c for k, c in only.items() if k in paths.allowed}
    wanted = set(only.values())
    found: set[str] = set()

    def visit(interior: list[str], colliders: list[str]) -> bool:
        found.update(only[k] for k in colliders if k in only)
        return found == wanted

    if not wanted or paths.search(visit):
        return found
    return {c for k, c in only.items() if paths.collider_on_walk(k)}


def _single_activators(g: nx.DiGraph, z: set[str]) -> dict[str, set[str]]:
    """Nodes whose only member of ``z`` among themselves and their descendants is one node.

    A collider on a path is opened by conditioning on it or on a descendant; a node mapped
    to ``{c}`` is a collider that only ``c`` opens.
    """
    capped: dict[str, frozenset[str] | None] = {}  # None: two or more
    for v in reversed(list(nx.topological_sort(g))):
        acc: set[str] = {v} if v in z else set()
        many = False
        for child in g.successors(v):
            sub = capped[child]
            if sub is None or len(acc | sub) > 1:
                many = True
                break
            acc |= sub
        capped[v] = None if many else frozenset(acc)
    return {v: set(acts) for v, acts in capped.items() if acts}
