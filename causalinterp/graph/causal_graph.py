"""The causal graph value object: an immutable DAG and the questions verdicts ask of it.

A :class:`CausalGraph` is an immutable DAG over named variables. It can be written as an
edge string (``"A -> B; B -> C"``), DOT, GML, a networkx ``DiGraph``, a list of
``(cause, effect)`` pairs or a file in one of those text formats. Every constructor
validates the graph (acyclic, no self-loop, non-empty) and reports bad input as a one-line
:class:`~causalinterp.errors.GraphError`.

The class checks names and arguments and delegates: reading and writing to
:mod:`causalinterp.graph.formats`, the structural queries (back-door sets, confounders,
mediators, colliders, open paths) to :mod:`causalinterp.graph.structure`. Those answer one
question for the verdicts: can a model's partial dependence on a feature be read as that
feature's total causal effect?
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from causalinterp.graph import formats, structure
from causalinterp.graph._messages import graph_error, quoted_names
from causalinterp.graph.formats import GraphSource

__all__ = ["CausalGraph", "FeatureSetDiagnosis", "GraphSource"]


@dataclass(frozen=True)
class FeatureSetDiagnosis:
    """How a model's feature set stands against the DAG, for one feature (the treatment).

    The question answered is: can the model's partial dependence on the treatment ``t`` be
    read as the total causal effect of ``t`` on the outcome ``y``? With ``S`` the model's
    other features, it can when ``S`` is a valid adjustment set: no mediator, no
    descendant of a collider, every back-door path blocked. Each field names one way it
    fails. All name tuples are sorted.

    Attributes
    ----------
    mediators_in_model : tuple of str
        Features in ``S`` that lie on a directed path ``t -> ... -> y``. Holding them fixed
        leaves the model only the direct effect of ``t``.
    missing_confounders : tuple of str
        Observed confounders of ``t`` and ``y`` (see :meth:`CausalGraph.confounders`) that
        are not in ``S`` and lie on a back-door path left open by ``S``.
    latent_confounders : tuple of str
        As ``missing_confounders``, for confounders absent from the data.
    outcome_descendant : bool
        ``t`` is a descendant of ``y``: the model uses a consequence of the outcome
        (leakage or reverse causation).
    colliders_in_model : tuple of str
        Features in ``S`` whose conditioning opens a non-causal path between ``t`` and
        ``y`` (see :meth:`CausalGraph.feature_set_diagnosis`).

    Examples
    --------
    >>> g = CausalGraph.parse("z -> x; z -> y; x -> m -> y")
    >>> d = g.feature_set_diagnosis("x", "y", ["x", "m"], observed=["x", "m", "y", "z"])
    >>> d.mediators_in_model, d.missing_confounders
    (('m',), ('z',))
    """

    mediators_in_model: tuple[str, ...]
    missing_confounders: tuple[str, ...]
    latent_confounders: tuple[str, ...]
    outcome_descendant: bool
    colliders_in_model: tuple[str, ...]


def _restore(
    nodes: tuple[str, ...],
    edges: tuple[tuple[str, str], ...],
    signs: tuple[tuple[tuple[str, str], str], ...] = (),
    latent: tuple[str, ...] = (),
) -> CausalGraph:
    graph = CausalGraph.from_edges(edges, nodes, signs=dict(signs))
    if latent:
        g = graph.to_networkx()
        for name in latent:
            g.nodes[name]["latent"] = True
        graph = CausalGraph._wrap(g)
    return graph


# --------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------


class CausalGraph:
    """An immutable causal DAG over named variables.

    Build one with :meth:`parse` (which takes any supported source), or with a specific
    constructor: :meth:`from_edges`, :meth:`from_edge_string`, :meth:`from_dot`,
    :meth:`from_gml`, :meth:`from_networkx`, :meth:`from_file`. ``CausalGraph(source)`` is
    the same as ``CausalGraph.parse(source)``. Every constructor checks that the graph is
    non-empty, has no self-loop and no cycle; duplicate edges are merged.

    Node names are arbitrary non-empty strings (spaces, unicode, punctuation, quotes,
    HTML). An edge may carry a declared sign, ``"+"`` (the cause raises the effect) or
    ``"-"`` (:attr:`signs`; see ``docs/domain-logic.md``). Two graphs are equal when they
    have the same nodes, edges and signs.

    Parameters
    ----------
    source : CausalGraph, networkx.DiGraph, list of (str, str), str or path
        See :meth:`parse`.

    Raises
    ------
    GraphError
        The source cannot be read or is not a DAG.

    Examples
    --------
    >>> g = CausalGraph.parse("age -> income; age -> spend; income -> spend")
    >>> g.nodes
    ('age', 'income', 'spend')
    >>> sorted(g.parents("spend"))
    ['age', 'income']
    >>> g.backdoor_adjustment_set("income", "spend", observed=g.nodes)
    frozenset({'age'})
    >>> CausalGraph.parse(g.to_dot()) == g
    True
    """

    __slots__ = ("_edges", "_g", "_nodes")

    _g: nx.DiGraph
    _nodes: tuple[str, ...]
    _edges: tuple[tuple[str, str], ...]

    def __init__(self, source: GraphSource) -> None:
        self._set(source._g if isinstance(source, CausalGraph) else formats.read_source(source))

    def _set(self, g: nx.DiGraph) -> None:
        object.__setattr__(self, "_g", g)
        object.__setattr__(self, "_nodes", tuple(sorted(g.nodes)))
        object.__setattr__(self, "_edges", tuple(sorted(g.edges)))

    @classmethod
    def _wrap(cls, g: nx.DiGraph) -> CausalGraph:
        obj = cls.__new__(cls)
        obj._set(g)
        return obj

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CausalGraph is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _restore,
            (self._nodes, self._edges, tuple(self.signs.items()), tuple(self.declared_latent)),
        )

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def parse(cls, source: GraphSource) -> CausalGraph:
        """Build a graph from any supported source.

        Parameters
        ----------
        source : CausalGraph, networkx.DiGraph, list of pairs, str, bytes or path
            - a ``CausalGraph`` (returned as is, it is immutable);
            - a networkx ``DiGraph`` or ``MultiDiGraph`` (attributes are dropped);
            - a list or tuple of ``(cause, effect)`` pairs;
            - a ``pathlib.Path``, or a one-line string that names a file or ends in a file
              suffix: the file is read by suffix (``.dot``/``.gv`` DOT, ``.gml`` GML,
              ``.edges`` edge string, ``.txt`` any text format);
            - text: DOT when it starts with ``digraph``/``strict``/``graph ... {``, GML when
              it starts with ``graph [``, otherwise an edge string (comments may come first).

        Returns
        -------
        CausalGraph

        Raises
        ------
        GraphError
            Unreadable source (with ``line:column`` for text), unknown file suffix, missing
            file, empty graph, self-loop or cycle.
        """
        if isinstance(source, cls):
            return source
        return cls._wrap(formats.read_source(source))

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[Any],
        nodes: Iterable[Any] = (),
        *,
        signs: Mapping[tuple[Any, Any], Any] | None = None,
    ) -> CausalGraph:
        """Build a graph from ``(cause, effect)`` pairs, plus optional isolated ``nodes``.

        Names that are not strings are converted with ``str``. ``signs`` maps edges to
        ``"+"`` or ``"-"``.

        Examples
        --------
        >>> CausalGraph.from_edges([("a", "b")], nodes=["c"]).nodes
        ('a', 'b', 'c')
        >>> CausalGraph.from_edges([("a", "b")], signs={("a", "b"): "-"}).signs
        {('a', 'b'): '-'}
        """
        return cls._wrap(formats.read_edges(edges, nodes, signs=signs))

    @classmethod
    def from_edge_string(cls, text: str) -> CausalGraph:
        """Build a graph from an edge string.

        Statements are separated by ``;`` or new lines; a statement is a chain
        ``A -> B -> C`` or a single name (an isolated node). Unquoted names run up to the
        next ``->``, ``;``, new line or ``#`` and are stripped of surrounding spaces. Names in
        double quotes may hold anything; inside quotes ``\\"``, ``\\\\``, ``\\n``, ``\\r``,
        ``\\t`` are escapes. ``#`` starts a comment to the end of the line. ``[+]`` or
        ``[-]`` after an edge's effect (after a space) declares the edge's sign.

        Examples
        --------
        >>> CausalGraph.from_edge_string('"tenure (years)" -> churn  # comment').edges
        (('tenure (years)', 'churn'),)
        >>> CausalGraph.from_edge_string("price -> churn [+]").signs
        {('price', 'churn'): '+'}
        """
        return cls._wrap(formats.read_edge_string(text))

    @classmethod
    def from_dot(cls, text: str) -> CausalGraph:
        """Build a graph from DOT text (``digraph { ... }``).

        Supported: ``strict``, an optional graph name, node and edge statements, chains
        ``A -> B -> C``, subgraphs ``{A B} -> C``, ports, attribute lists (ignored but an
        edge's ``sign="+"`` or ``sign="-"``), bare,
        numeral, quoted (``\\"`` and ``\\\\`` escapes) and ``<...>`` names, ``//``,
        ``/* */`` and ``#`` comments. Undirected graphs and ``--`` edges are errors.
        """
        return cls._wrap(formats.read_dot(text))

    @classmethod
    def from_gml(cls, text: str) -> CausalGraph:
        """Build a graph from GML text (read with :func:`networkx.parse_gml`).

        A node's name is its ``label`` (its ``id`` when it has none). The graph must say
        ``directed 1`` when it has edges. An edge's ``sign "+"`` or ``sign "-"`` is kept.
        """
        return cls._wrap(formats.read_gml(text))

    @classmethod
    def from_networkx(cls, graph: nx.DiGraph) -> CausalGraph:
        """Build a graph from a networkx ``DiGraph`` (a copy; of the attributes only the edge
        attribute ``sign``, ``"+"`` or ``"-"``, is kept)."""
        return cls._wrap(formats.read_networkx(graph))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CausalGraph:
        """Read a graph file; the suffix picks the format (see :meth:`parse`)."""
        return cls._wrap(formats.read_file(path))

    # -- structure ----------------------------------------------------------------------
    @property
    def nodes(self) -> tuple[str, ...]:
        """All node names, sorted."""
        return self._nodes

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """All ``(cause, effect)`` edges, sorted."""
        return self._edges

    @property
    def signs(self) -> dict[tuple[str, str], str]:
        """Declared edge signs: ``(cause, effect)`` to ``"+"`` or ``"-"`` (a new dict, sorted).

        Examples
        --------
        >>> CausalGraph.parse("a -> b [-]; a -> c").signs
        {('a', 'b'): '-'}
        """
        return {(u, v): s for u, v, s in self._g.edges(data="sign") if s}

    @property
    def declared_latent(self) -> tuple[str, ...]:
        """Nodes declared unobserved in the graph itself (DOT ``U [latent=true]``, or a
        networkx node attribute ``latent``), sorted. Not part of graph equality: a
        declaration about the data, not the structure. :func:`causalinterp.data.check_data`
        accepts these (and its ``latent`` argument) as absent columns without asking
        whether a column with a similar name was meant.

        Examples
        --------
        >>> CausalGraph.parse("digraph { U [latent=true]; U -> x; U -> y; x -> y }").declared_latent
        ('U',)
        """
        return tuple(sorted(n for n, flag in self._g.nodes(data="latent") if flag))

    def to_networkx(self) -> nx.DiGraph:
        """A new networkx ``DiGraph`` with the same nodes and edges (a copy); declared signs
        are the edge attribute ``sign``."""
        return self._g.copy()

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._g

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalGraph):
            return NotImplemented
        return (
            self._nodes == other._nodes
            and self._edges == other._edges
            and self.signs == other.signs
        )

    def __hash__(self) -> int:
        return hash((self._nodes, self._edges, tuple(self.signs.items())))

    def __repr__(self) -> str:
        statements = formats.statements(self._g)
        if len(statements) <= 12:
            return f"CausalGraph.parse({'; '.join(statements)!r})"
        return f"<CausalGraph: {len(self._nodes)} nodes, {len(self._edges)} edges>"

    # -- writers ------------------------------------------------------------------------
    def to_edge_string(self) -> str:
        """The graph as an edge string, one edge (or isolated node) per line.

        ``CausalGraph.parse(g.to_edge_string()) == g`` for every graph.
        """
        return formats.write_edge_string(self._g)

    def to_dot(self) -> str:
        """The graph as DOT text; reading it back gives an equal graph."""
        return formats.write_dot(self._g)

    def to_gml(self) -> str:
        """The graph as GML text (written by networkx); reading it back gives an equal graph."""
        return formats.write_gml(self._g)

    # -- checks -------------------------------------------------------------------------
    def _close(self, name: str) -> str:
        lowered = {n.lower(): n for n in self._nodes}
        matches = difflib.get_close_matches(name, self._nodes, n=3, cutoff=0.6)
        if name.lower() in lowered and lowered[name.lower()] not in matches:
            matches.insert(0, lowered[name.lower()])
        return f" (did you mean {quoted_names(matches)}?)" if matches else ""

    def _need(self, name: Any, role: str = "node") -> str:
        if not isinstance(name, str) or name not in self._g:
            close = self._close(name) if isinstance(name, str) else ""
            raise graph_error(
                f"{role} {name!r} is not in the graph{close}",
                "check the spelling or add the node to the graph",
            )
        return name

    def _need_all(self, names: Any, role: str) -> frozenset[str]:
        if isinstance(names, str):
            names = [names]
        out = frozenset(names)
        for name in sorted(out, key=str):
            self._need(name, role)
        return out

    def validate_request(self, outcome: str, features: Iterable[str]) -> None:
        """Check that ``outcome`` and every feature are nodes of the graph.

        Raises
        ------
        GraphError
            Naming the outcome or every unknown feature, with close matches.
        """
        self._need(outcome, "outcome")
        if isinstance(features, str):
            features = [features]
        unknown = [f for f in dict.fromkeys(features) if f not in self]
        if unknown:
            parts = [repr(f) + (self._close(f) if isinstance(f, str) else "") for f in unknown]
            noun = "feature" if len(unknown) == 1 else "features"
            verb = "is" if len(unknown) == 1 else "are"
            raise graph_error(
                f"{noun} {', '.join(parts)} {verb} not in the graph",
                "check the spelling or add them to the graph",
            )

    # -- local structure ----------------------------------------------------------------
    def parents(self, node: str) -> frozenset[str]:
        """Direct causes of ``node``."""
        return frozenset(self._g.predecessors(self._need(node)))

    def children(self, node: str) -> frozenset[str]:
        """Direct effects of ``node``."""
        return frozenset(self._g.successors(self._need(node)))

    def ancestors(self, node: str) -> frozenset[str]:
        """Nodes with a directed path to ``node`` (``node`` excluded)."""
        return frozenset(nx.ancestors(self._g, self._need(node)))

    def descendants(self, node: str) -> frozenset[str]:
        """Nodes reached by a directed path from ``node`` (``node`` excluded)."""
        return frozenset(nx.descendants(self._g, self._need(node)))

    def has_directed_path(self, source: str, target: str) -> bool:
        """Whether a directed path ``source -> ... -> target`` exists (False if equal)."""
        self._need(source)
        self._need(target)
        return source != target and nx.has_path(self._g, source, target)

    def is_descendant_of(self, node: str, other: str) -> bool:
        """Whether ``node`` is a (strict) descendant of ``other``."""
        return self.has_directed_path(other, node)

    def latent(self, observed: Iterable[str]) -> frozenset[str]:
        """Nodes not in ``observed`` (names in ``observed`` outside the graph are ignored)."""
        if isinstance(observed, str):
            observed = [observed]
        return frozenset(self._g.nodes) - frozenset(observed)

    # -- causal structure ---------------------------------------------------------------
    def _pair(self, treatment: str, outcome: str) -> tuple[str, str]:
        t = self._need(treatment, "treatment")
        y = self._need(outcome, "outcome")
        if t == y:
            raise graph_error(
                f"treatment and outcome are the same node {t!r}",
                "pick two different nodes",
            )
        return t, y

    def mediators(self, treatment: str, outcome: str) -> frozenset[str]:
        """Nodes on a directed path ``treatment -> ... -> outcome`` (ends excluded).

        That is descendants(treatment) ∩ ancestors(outcome).
        """
        t, y = self._pair(treatment, outcome)
        return frozenset(structure.mediators(self._g, t, y))

    def confounders(self, treatment: str, outcome: str) -> frozenset[str]:
        """Common causes of ``treatment`` and ``outcome``.

        A node ``c`` is a confounder when it is an ancestor of ``treatment`` and has a
        directed path to ``outcome`` that does not pass through ``treatment``; such a node
        starts a back-door path ``treatment <- ... c ... -> outcome``. Common ancestors
        whose every path to ``outcome`` goes through ``treatment`` (causes of the treatment
        only, such as instruments) are not confounders.

        Examples
        --------
        >>> g = CausalGraph.parse("u -> x; u -> y; z -> x; x -> y")
        >>> sorted(g.confounders("x", "y"))
        ['u']
        """
        t, y = self._pair(treatment, outcome)
        return frozenset(structure.confounders(self._g, t, y))

    def is_d_separated(
        self, x: str | Iterable[str], y: str | Iterable[str], given: str | Iterable[str] = ()
    ) -> bool:
        """Whether ``x`` and ``y`` are d-separated given ``given`` (``networkx.is_d_separator``).

        Each argument is a node name or a collection of names; the three sets must be
        disjoint.
        """
        xs = self._need_all(x, "node")
        ys = self._need_all(y, "node")
        zs = self._need_all(given, "node")
        overlap = (xs & ys) | (xs & zs) | (ys & zs)
        if overlap:
            raise graph_error(
                f"d-separation sets overlap in {quoted_names(overlap)}",
                "pass disjoint x, y and given",
            )
        return nx.is_d_separator(self._g, set(xs), set(ys), set(zs))

    def backdoor_adjustment_set(
        self, treatment: str, outcome: str, observed: Iterable[str]
    ) -> frozenset[str] | None:
        """The back-door adjustment set the analysis uses, over observed nodes, or None.

        The set satisfies Pearl's back-door criterion: it contains no descendant of
        ``treatment`` and d-separates ``treatment`` from ``outcome`` once the edges out of
        ``treatment`` are removed. Among such sets it aims at precision: the optimal
        adjustment set (observed parents of ``outcome`` and of the mediators; Henckel,
        Perković and Maathuis, 2022) when it is observed and valid, otherwise a minimal set
        enlarged by the observed members of the optimal set that keep it valid. It is the
        same rule, in the same function (:func:`causalinterp.graph.structure.backdoor_set`),
        that :func:`causalinterp.estimate_effects` adjusts for, so the report's
        ``adjustment_set`` is what this method returns. ``frozenset()`` means no adjustment
        is needed.

        Parameters
        ----------
        treatment, outcome : str
        observed : iterable of str
            Nodes present in the data; names outside the graph are ignored.

        Returns
        -------
        frozenset of str or None
            None when no set of observed nodes satisfies the criterion (e.g. a latent
            confounder).

        Examples
        --------
        >>> g = CausalGraph.parse("u -> x; u -> y; x -> y")
        >>> g.backdoor_adjustment_set("x", "y", ["x", "y", "u"])
        frozenset({'u'})
        >>> g.backdoor_adjustment_set("x", "y", ["x", "y"]) is None
        True

        ``w`` is not needed to block a back-door path, but as a cause of the outcome it
        makes the estimate more precise:

        >>> g = CausalGraph.parse("z -> x; z -> y; w -> y; x -> y")
        >>> sorted(g.backdoor_adjustment_set("x", "y", g.nodes))
        ['w', 'z']
        """
        t, y = self._pair(treatment, outcome)
        if isinstance(observed, str):
            observed = [observed]
        found = structure.backdoor_set(self._g, t, y, observed)
        return None if found is None else frozenset(found)

    def feature_set_diagnosis(
        self,
        treatment: str,
        outcome: str,
        model_features: Iterable[str],
        observed: Iterable[str],
    ) -> FeatureSetDiagnosis:
        """Can the model's partial dependence on ``treatment`` be read as its total effect?

        With ``t`` the treatment, ``y`` the outcome, ``S`` = ``model_features`` minus
        ``{t, y}``, ``De``/``An`` descendants/ancestors and ``G'`` the proper back-door
        graph (the DAG without the first edge of each directed path ``t -> ... -> y``):

        - ``mediators_in_model`` = S ∩ De(t) ∩ An(y): conditioning on them removes the
          indirect effect, the model shows only the direct one.
        - ``outcome_descendant``: t ∈ De(y), leakage or reverse causation.
        - ``missing_confounders`` / ``latent_confounders``: empty when t and y are
          d-separated in G' given Z = S \\ De(t). Otherwise the confounders ``c`` (see
          :meth:`confounders`) not in S that lie on a (simple) path between t and y in G'
          that is open given Z: a back-door path the model leaves open. Observed ones are
          "missing", the others "latent". A common cause whose every back-door path runs
          through a closer confounder is on no such path and is not named.
        - ``colliders_in_model``: features ``C`` in S such that
          (a) C ∈ De(t) ∩ De(y), a common effect; or
          (b) C is not a mediator and, with Zc = S \\ mediators, some path between t and
          y in G' is open given Zc because of C alone: it passes a collider activated by
          C (the collider is C or an ancestor of C) and by no other member of Zc. When
          Zc \\ {C} blocks every back-door path this is exactly "t ⟂ y | Zc \\ {C} but not
          t ⟂ y | Zc" (M-bias); unlike that test it also names C when other paths are
          open too (M-bias next to a missing confounder, two M-structures).

        Open paths are enumerated exactly; past a budget of 5,000 search steps (huge,
        dense graphs only) d-connecting walks replace paths, which may also name a node
        whose connections to t and y share a vertex.

        Parameters
        ----------
        treatment, outcome : str
        model_features : iterable of str
            All the model's features (``treatment`` among them or not).
        observed : iterable of str
            Nodes present in the data; names outside the graph are ignored.

        Returns
        -------
        FeatureSetDiagnosis

        Examples
        --------
        M-bias: ``c`` is a collider between causes of ``x`` and ``y``.

        >>> g = CausalGraph.parse("a -> x; a -> c; b -> c; b -> y; x -> y")
        >>> g.feature_set_diagnosis("x", "y", ["x", "c"], g.nodes).colliders_in_model
        ('c',)
        """
        t, y = self._pair(treatment, outcome)
        if isinstance(model_features, str):
            model_features = [model_features]
        features = list(model_features)
        self.validate_request(y, features)
        if isinstance(observed, str):
            observed = [observed]
        obs = set(observed) & set(self._g)
        s = set(features) - {t, y}
        g = self._g
        de_t = nx.descendants(g, t)
        de_y = nx.descendants(g, y)
        an_y = nx.ancestors(g, y)
        mediators = s & de_t & an_y
        gp = structure.proper_backdoor_graph(g, t, y)

        z = s - de_t
        named = structure.confounders_on_open_paths(gp, t, y, z, self.confounders(t, y) - s)
        colliders = s & de_t & de_y
        colliders |= structure.colliders_opening_paths(gp, t, y, s - mediators, exclude=colliders)
        return FeatureSetDiagnosis(
            mediators_in_model=tuple(sorted(mediators)),
            missing_confounders=tuple(sorted(named & obs)),
            latent_confounders=tuple(sorted(named - obs)),
            outcome_descendant=t in de_y,
            colliders_in_model=tuple(sorted(colliders)),
        )
