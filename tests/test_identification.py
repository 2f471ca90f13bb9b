"""Identification adapter: strategies, chosen sets, and agreement with brute force."""

from __future__ import annotations

import itertools
import time
import warnings

import networkx as nx
import numpy as np
import pytest

from causalinterp.errors import GraphError
from causalinterp.estimate._dowhy import Identification, identify_effect
from causalinterp.graph import CausalGraph


def ident(edges, t, y, observed, nodes=()):
    return identify_effect(CausalGraph.from_edges(edges, nodes), t, y, list(observed))


def test_no_directed_path_is_a_structural_zero():
    result = ident([("T", "A"), ("Y", "B"), ("C", "T"), ("C", "Y")], "T", "Y", "TYABC")
    assert result == Identification(strategy="no_path")


def test_no_path_when_outcome_causes_feature():
    result = ident([("Y", "T")], "T", "Y", "TY")
    assert result.strategy == "no_path"


def test_backdoor_prefers_precision_set():
    # W confounds, P only causes Y (precision), I only causes T (instrument-like, hurts
    # precision), M mediates, D is a descendant of T: the set is exactly {P, W}.
    edges = [
        ("W", "T"),
        ("W", "Y"),
        ("P", "Y"),
        ("I", "T"),
        ("T", "M"),
        ("M", "Y"),
        ("T", "D"),
        ("Y", "D"),
    ]
    result = ident(edges, "T", "Y", ["W", "P", "I", "T", "M", "D", "Y"])
    assert result.strategy == "backdoor"
    assert result.adjustment_set == ("P", "W")


def test_backdoor_includes_parents_of_mediators():
    edges = [("T", "M"), ("M", "Y"), ("Q", "M"), ("W", "T"), ("W", "Y")]
    result = ident(edges, "T", "Y", "TMYQW")
    assert result.strategy == "backdoor"
    assert result.adjustment_set == ("Q", "W")


def test_graph_method_returns_what_the_pipeline_adjusts_for():
    # w is not needed to block the back door through z, but as a cause of y only it makes
    # the estimate more precise; the public method and the identification step give one
    # answer, from the one back-door rule.
    graph = CausalGraph.parse("z -> x; z -> y; w -> y; x -> y")
    observed = ["w", "x", "y", "z"]
    result = identify_effect(graph, "x", "y", observed)
    assert result == Identification("backdoor", ("w", "z"))
    assert graph.backdoor_adjustment_set("x", "y", observed) == {"w", "z"}


def test_backdoor_needs_nothing_for_unconfounded_root():
    assert ident([("T", "Y")], "T", "Y", "TY") == Identification("backdoor", ())


def test_backdoor_through_observed_proxy_of_latent_confounder():
    # U is latent but every back-door path passes through observed A.
    result = ident([("U", "A"), ("A", "T"), ("U", "Y"), ("T", "Y")], "T", "Y", "TYA")
    assert result.strategy == "backdoor"
    assert result.adjustment_set == ("A",)


def test_m_bias_collider_is_not_adjusted():
    edges = [("U1", "T"), ("U1", "C"), ("U2", "C"), ("U2", "Y"), ("T", "Y")]
    result = ident(edges, "T", "Y", ["T", "Y", "C"])
    assert result == Identification("backdoor", ())


def test_frontdoor_with_latent_confounder():
    edges = [("U", "T"), ("U", "Y"), ("T", "M"), ("M", "Y")]
    result = ident(edges, "T", "Y", "TMY")
    assert result.strategy == "frontdoor"
    assert result.mediators == ("M",)


def test_iv_with_latent_confounder_and_precision_controls():
    edges = [("U", "T"), ("U", "Y"), ("Z", "T"), ("T", "Y"), ("P", "Y")]
    result = ident(edges, "T", "Y", "TZYP")
    assert result.strategy == "iv"
    assert result.instruments == ("Z",)
    assert result.adjustment_set == ("P",)


def test_latent_instrument_is_not_used():
    edges = [("U", "T"), ("U", "Y"), ("Z", "T"), ("T", "Y")]
    result = ident(edges, "T", "Y", "TY")
    assert result.strategy == "none"
    assert result.blocking_latents == ("U",)


def test_not_identifiable_names_only_the_open_latent_confounder():
    # U is blocked by observed A; V is the one that makes identification fail.
    edges = [("U", "A"), ("A", "T"), ("U", "Y"), ("V", "T"), ("V", "Y"), ("T", "Y")]
    result = ident(edges, "T", "Y", "TYA")
    assert result.strategy == "none"
    assert result.blocking_latents == ("V",)


def test_m_bias_with_direct_path_through_collider_is_not_identifiable():
    edges = [("U1", "T"), ("U1", "C"), ("U2", "C"), ("U2", "Y"), ("T", "Y"), ("C", "Y")]
    result = ident(edges, "T", "Y", ["T", "Y", "C"])
    assert result.strategy == "none"
    assert result.blocking_latents == ("U1",)


def test_irrelevant_parts_of_the_graph_do_not_matter():
    base = [("W", "T"), ("W", "Y"), ("T", "Y")]
    extra = [("Y", "D1"), ("T", "D2"), ("D2", "D3"), ("L", "D3"), ("L", "D1")]
    assert ident(base, "T", "Y", "TWY") == ident(base + extra, "T", "Y", "TWY")


def test_names_with_spaces_and_punctuation():
    edges = [("age (years)", "dose, mg"), ("age (years)", 'out"come'), ("dose, mg", 'out"come')]
    result = ident(edges, "dose, mg", 'out"come', [n for e in edges for n in e])
    assert result == Identification("backdoor", ("age (years)",))


@pytest.mark.parametrize(
    ("t", "y", "observed", "fragment"),
    [
        ("X", "Y", "TY", "'X' is not a node"),
        ("T", "Q", "TY", "'Q' is not a node"),
        ("T", "Y", "Y", "'T' is not observed"),
        ("T", "T", "TY", "both treatment and outcome"),
    ],
)
def test_bad_requests_raise_one_line_graph_errors(t, y, observed, fragment):
    with pytest.raises(GraphError, match=fragment) as info:
        ident([("T", "Y")], t, y, observed)
    assert "\n" not in str(info.value)


def test_fast_with_many_confounders_and_a_latent():
    # DoWhy's exhaustive search would enumerate 2**30 subsets here.
    k = 30
    edges = [(f"c{i}", "T") for i in range(k)] + [(f"c{i}", "Y") for i in range(k)]
    edges += [("U", "T"), ("U", "Y"), ("T", "M"), ("M", "Y")]
    observed = ["T", "Y", "M"] + [f"c{i}" for i in range(k)]
    ident(edges, "T", "Y", observed)  # pays the DoWhy import
    start = time.perf_counter()
    result = ident(edges, "T", "Y", observed)
    assert time.perf_counter() - start < 1.0
    assert result.strategy == "frontdoor"
    assert result.mediators == ("M",)
    observed_all = [*observed, "U"]
    result = ident(edges, "T", "Y", observed_all)
    assert result.strategy == "backdoor"
    assert set(result.adjustment_set) == {f"c{i}" for i in range(k)} | {"U"}


def test_silent_and_leaves_global_rng_alone():
    state = np.random.get_state()[1].copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ident([("U", "T"), ("U", "Y"), ("T", "Y")], "T", "Y", "TY")
        ident([("W", "T"), ("W", "Y"), ("T", "Y")], "T", "Y", "TWY")
    assert caught == []
    assert np.array_equal(np.random.get_state()[1], state)


# ---------------------------------------------------------------- brute-force agreement


def _random_dag(rng: np.random.Generator, n_nodes: int, p: float) -> nx.DiGraph:
    order = [f"v{i}" for i in range(n_nodes)]
    g = nx.DiGraph()
    g.add_nodes_from(order)
    for i, j in itertools.combinations(range(n_nodes), 2):
        if rng.random() < p:
            g.add_edge(order[i], order[j])
    return g


def _valid_backdoor(g: nx.DiGraph, t: str, y: str, z: set[str]) -> bool:
    if z & (nx.descendants(g, t) | {t, y}):
        return False
    g_bd = g.copy()
    g_bd.remove_edges_from(list(g.out_edges(t)))
    return nx.is_d_separator(g_bd, {t}, {y}, z)


def test_backdoor_agrees_with_brute_force_on_random_dags():
    """Random small DAGs with random latent nodes: a back-door set is returned exactly when
    some observed set is valid (checked by enumeration), the returned set is valid, and the
    public graph method returns the same set."""
    rng = np.random.default_rng(12345)
    checked_backdoor = checked_other = 0
    for _ in range(120):
        g = _random_dag(rng, int(rng.integers(4, 8)), 0.45)
        nodes = list(g.nodes)
        pairs = [(a, b) for a in nodes for b in nodes if a != b and nx.has_path(g, a, b)]
        if not pairs:
            continue
        t, y = pairs[int(rng.integers(len(pairs)))]
        observed = {t, y} | {v for v in nodes if rng.random() < 0.6}
        result = identify_effect(CausalGraph.from_networkx(g), t, y, sorted(observed))
        candidates = sorted(observed - nx.descendants(g, t) - {t, y})
        exists = any(
            _valid_backdoor(g, t, y, set(z))
            for r in range(len(candidates) + 1)
            for z in itertools.combinations(candidates, r)
        )
        assert (result.strategy == "backdoor") == exists
        public = CausalGraph.from_networkx(g).backdoor_adjustment_set(t, y, observed)
        assert public == (set(result.adjustment_set) if exists else None)
        if exists:
            chosen = set(result.adjustment_set)
            assert chosen <= observed
            assert _valid_backdoor(g, t, y, chosen)
            checked_backdoor += 1
        else:
            assert result.strategy in {"frontdoor", "iv", "none"}
            checked_other += 1
    assert checked_backdoor > 20
    assert checked_other > 5


# ------------------------------------------------------------------ conditional instruments


def test_unconditional_instrument_keeps_its_design():
    # DoWhy's instrument (no common cause with Y) comes first: precision controls, not required.
    edges = [("U", "T"), ("U", "Y"), ("Z", "T"), ("T", "Y"), ("P", "Y")]
    result = ident(edges, "T", "Y", "TZYP")
    assert (result.strategy, result.conditional) == ("iv", False)
    assert "for precision" in result.assumptions


def _is_conditional_iv(g: nx.DiGraph, t: str, y: str, z: str, w: set[str]) -> bool:
    """The criterion, written independently: remove the first edge of each proper causal
    path, then test exclusion and relevance."""
    an_y = nx.ancestors(g, y) | {y}
    cut = g.copy()
    cut.remove_edges_from([(t, c) for c in g.successors(t) if c in an_y])
    forbidden = nx.descendants(g, t) | {t, y}
    if z in forbidden or w & forbidden or z in w:
        return False
    return nx.is_d_separator(cut, {z}, {y}, w) and not nx.is_d_separator(g, {z}, {t}, w)


def test_conditional_instrument_search_agrees_with_brute_force():
    """On random DAGs with latent nodes: every instrument found satisfies the criterion with
    its set, and when none is found no (instrument, set) pair over the observed nodes does."""
    from causalinterp.estimate.instruments import conditional_instruments

    rng = np.random.default_rng(2015)
    found = missed = 0
    for _ in range(150):
        g = _random_dag(rng, int(rng.integers(4, 8)), 0.4)
        nodes = list(g.nodes)
        pairs = [(a, b) for a in nodes for b in nodes if a != b and nx.has_path(g, a, b)]
        if not pairs:
            continue
        t, y = pairs[int(rng.integers(len(pairs)))]
        observed = {t, y} | {v for v in nodes if rng.random() < 0.6}
        result = conditional_instruments(g, t, y, observed)
        candidates = sorted(observed - {t, y})
        if result is not None:
            instruments, given = result
            for z in instruments:
                assert _is_conditional_iv(g, t, y, z, set(given)), (g.edges, t, y, z, given)
            found += 1
            continue
        for z in candidates:
            rest = [v for v in candidates if v != z]
            for r in range(len(rest) + 1):
                for w in itertools.combinations(rest, r):
                    assert not _is_conditional_iv(g, t, y, z, set(w)), (g.edges, t, y, z, w)
        missed += 1
    assert found > 10 and missed > 10
