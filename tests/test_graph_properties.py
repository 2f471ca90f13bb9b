"""Property tests for causalinterp.graph: round trips, parser robustness, back-door sets."""

from __future__ import annotations

import contextlib

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causalinterp.errors import GraphError
from causalinterp.graph import CausalGraph

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any non-empty text is a valid node name.
names = st.text(min_size=1, max_size=12)


@st.composite
def dags(draw, max_nodes: int = 8, name_strategy=names) -> CausalGraph:
    """A random DAG: edges only go from earlier to later nodes of a random order."""
    labels = draw(st.lists(name_strategy, min_size=1, max_size=max_nodes, unique=True))
    n = len(labels)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    edges = [(labels[i], labels[j]) for (i, j), keep in zip(pairs, chosen, strict=True) if keep]
    return CausalGraph.from_edges(edges, nodes=labels)


@SETTINGS
@given(dags())
def test_every_format_round_trips_with_arbitrary_names(graph):
    assert CausalGraph.from_edge_string(graph.to_edge_string()) == graph
    assert CausalGraph.from_dot(graph.to_dot()) == graph
    assert CausalGraph.from_gml(graph.to_gml()) == graph
    assert CausalGraph.from_networkx(graph.to_networkx()) == graph
    assert CausalGraph.from_edges(graph.edges, graph.nodes) == graph
    # parse() must recognise each writer's output by its content alone.
    for text in (graph.to_edge_string(), graph.to_dot(), graph.to_gml()):
        assert CausalGraph.parse(text) == graph


@settings(SETTINGS, max_examples=40)
@given(dags(), st.sampled_from([".dot", ".gml", ".txt", ".edges"]))
def test_files_round_trip(tmp_path_factory, graph, suffix):
    path = tmp_path_factory.mktemp("g") / f"graph{suffix}"
    text = graph.to_gml() if suffix == ".gml" else graph.to_dot()
    if suffix == ".edges":
        text = graph.to_edge_string()
    path.write_text(text, encoding="utf-8", newline="")
    assert CausalGraph.parse(path) == graph
    assert CausalGraph.parse(str(path)) == graph


def _parse_or_graph_error(text: str) -> None:
    try:
        graph = CausalGraph.parse(text)
    except GraphError as exc:
        message = str(exc)
        assert message.startswith("graph: ")
        assert "\n" not in message
    else:
        assert len(graph) >= 1


# Fragments of every syntax, so the parsers' error paths are exercised, not just the sniffer.
syntax_soup = st.lists(
    st.sampled_from(
        [
            *'ab "\\;#\n->{}[]=,:<>/*+1',
            *["digraph", "graph", "strict", "node", "subgraph", "directed 1", "id", "label"],
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=250, deadline=None)
@given(st.one_of(st.text(max_size=60), syntax_soup))
def test_parse_raises_only_graph_error_on_arbitrary_text(text):
    _parse_or_graph_error(text)


@settings(max_examples=120, deadline=None)
@given(st.text(max_size=40))
def test_dot_and_gml_readers_raise_only_graph_error(body):
    for text in (f"digraph {{ {body} }}", f"graph [ directed 1 {body} ]", body):
        for reader in (CausalGraph.from_dot, CausalGraph.from_gml, CausalGraph.from_edge_string):
            with contextlib.suppress(GraphError):
                reader(text)


short_names = st.text(alphabet="abcdefghij", min_size=1, max_size=2)


@st.composite
def queries(draw):
    graph = draw(dags(max_nodes=9, name_strategy=short_names))
    nodes = list(graph.nodes)
    if len(nodes) < 2:
        nodes.append("zz")
        graph = CausalGraph.from_edges(graph.edges, nodes)
    t, y = draw(st.lists(st.sampled_from(nodes), min_size=2, max_size=2, unique=True))
    observed = draw(st.lists(st.sampled_from(nodes), unique=True))
    return graph, t, y, set(observed) | {t, y}


def _satisfies_backdoor(graph: CausalGraph, t: str, y: str, z: set[str]) -> bool:
    """Pearl's criterion, checked independently: no descendant of t, and z d-separates t
    from y once the edges out of t are removed."""
    if z & (graph.descendants(t) | {t, y}):
        return False
    cut = graph.to_networkx()
    cut.remove_edges_from(list(cut.out_edges(t)))
    return nx.is_d_separator(cut, {t}, {y}, z)


@settings(max_examples=150, deadline=None)
@given(queries())
def test_backdoor_set_is_valid_precise_and_found_when_one_exists(query):
    graph, t, y, observed = query
    found = graph.backdoor_adjustment_set(t, y, observed)
    # An(t, y) minus forbidden nodes separates whenever any allowed set does.
    canonical = (
        ((graph.ancestors(t) | graph.ancestors(y)) & observed) - graph.descendants(t) - {t, y}
    )
    if found is None:
        assert not _satisfies_backdoor(graph, t, y, canonical)
        return
    assert found <= canonical
    assert _satisfies_backdoor(graph, t, y, set(found))
    # The optimal set (parents of y and of the mediators, minus t and its descendants) is
    # returned whenever it is observed and valid.
    causal = (graph.descendants(t) & graph.ancestors(y)) | {y}
    optimal = set().union(*(graph.parents(c) for c in causal)) - graph.descendants(t) - {t}
    if optimal <= observed and _satisfies_backdoor(graph, t, y, optimal):
        assert found == optimal


@pytest.mark.parametrize("name", ["digraph", "graph [", "strict x", "/* c */", "a.dot", " x "])
def test_edge_string_of_lookalike_names_is_not_mistaken_for_another_format(name):
    graph = CausalGraph.from_edges([], nodes=[name])
    assert CausalGraph.parse(graph.to_edge_string()) == graph


def _proper_backdoor(graph: CausalGraph, t: str, y: str) -> nx.DiGraph:
    g = graph.to_networkx()
    causal = graph.ancestors(y) | {y}
    g.remove_edges_from([(t, c) for c in list(g.successors(t)) if c in causal])
    return g


def _open_paths(g: nx.DiGraph, t: str, y: str, z: set[str]) -> list[tuple[list[str], list[str]]]:
    """Brute force: every simple path of the skeleton, kept when open given z, with its
    colliders."""
    an_z = set(z).union(*(nx.ancestors(g, v) for v in z))
    out = []
    for path in nx.all_simple_paths(g.to_undirected(), t, y):
        colliders, is_open = [], True
        for prev, v, nxt in zip(path, path[1:], path[2:], strict=False):
            if g.has_edge(prev, v) and g.has_edge(nxt, v):
                colliders.append(v)
                is_open &= v in an_z
            else:
                is_open &= v not in z
        if is_open:
            out.append((path[1:-1], colliders))
    return out


def _expected_diagnosis(graph: CausalGraph, t: str, y: str, s: set[str], observed: set[str]):
    g = _proper_backdoor(graph, t, y)
    de_t, de_y = graph.descendants(t), graph.descendants(y)
    mediators = s & graph.mediators(t, y)
    on_paths = set().union(*(set(p) for p, _ in _open_paths(g, t, y, s - de_t)))
    named = (graph.confounders(t, y) - s) & on_paths
    zc = s - mediators
    common = s & de_t & de_y
    opened = set()
    for _, colliders in _open_paths(g, t, y, zc):
        for k in colliders:
            activators = ({k} | nx.descendants(g, k)) & zc
            if len(activators) == 1:
                opened |= activators
    return (
        tuple(sorted(mediators)),
        tuple(sorted(named & observed)),
        tuple(sorted(named - observed)),
        t in de_y,
        tuple(sorted(common | (opened - common))),
    )


@settings(max_examples=150, deadline=None)
@given(queries(), st.data())
def test_diagnosis_matches_brute_force_path_enumeration(query, data):
    graph, t, y, observed = query
    features = set(data.draw(st.lists(st.sampled_from(sorted(graph.nodes)), unique=True))) - {y}
    d = graph.feature_set_diagnosis(t, y, sorted(features), observed)
    got = (
        d.mediators_in_model,
        d.missing_confounders,
        d.latent_confounders,
        d.outcome_descendant,
        d.colliders_in_model,
    )
    assert got == _expected_diagnosis(graph, t, y, features - {t}, observed)
    # A model set that satisfies the back-door criterion leaves nothing to report.
    if _satisfies_backdoor(graph, t, y, features - {t}):
        assert got == ((), (), (), d.outcome_descendant, ())


@settings(max_examples=50, deadline=None)
@given(queries(), st.data())
def test_walk_fallback_names_a_superset_of_the_exact_answer(query, data):
    graph, t, y, observed = query
    features = sorted(set(data.draw(st.lists(st.sampled_from(sorted(graph.nodes))))) - {y})
    exact = graph.feature_set_diagnosis(t, y, features, observed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("causalinterp.graph.structure._PATH_BUDGET", 0)
        walks = graph.feature_set_diagnosis(t, y, features, observed)
    assert set(exact.missing_confounders) <= set(walks.missing_confounders)
    assert set(exact.latent_confounders) <= set(walks.latent_confounders)
    assert set(exact.colliders_in_model) <= set(walks.colliders_in_model)
    assert exact.mediators_in_model == walks.mediators_in_model
