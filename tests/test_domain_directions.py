"""The direction rule: which sign a model feature's ICE curves must follow, from edge signs."""

import networkx as nx
import pytest

from causalinterp.domain.directions import (
    derive_directions,
    edge_signs,
    parse_signs,
    suggest_direction,
)
from causalinterp.errors import GraphError, OptionError

MEDIATED = "price -> bill; bill -> churn; price -> churn"


def test_mediator_in_the_model_leaves_only_the_direct_edge():
    signs = {("price", "bill"): "+", ("bill", "churn"): "+", ("price", "churn"): "-"}
    d = derive_directions(MEDIATED, "churn", ["price", "bill"], signs=signs).by_feature["price"]
    assert (d.direction, d.source, d.status) == ("-", "declared", "declared")
    assert [p.nodes for p in d.paths] == [("price", "churn")]
    assert "direct edge price -> churn [-]" in d.reason


def test_mediator_left_out_opens_the_indirect_path():
    disagree = {("price", "bill"): "+", ("bill", "churn"): "+", ("price", "churn"): "-"}
    d = derive_directions(MEDIATED, "churn", ["price"], signs=disagree).by_feature["price"]
    assert d.direction is None and d.status == "conflict"
    assert "price -> bill -> churn [+]" in d.reason and "price -> churn [-]" in d.reason
    # Two negative edges make the indirect path positive, agreeing with a positive direct edge.
    agree = {("price", "bill"): "-", ("bill", "churn"): "-", ("price", "churn"): "+"}
    d = derive_directions(MEDIATED, "churn", ["price"], signs=agree).by_feature["price"]
    assert (d.direction, d.status) == ("+", "declared")
    assert len(d.paths) == 2


def test_missing_confounder_opens_a_backdoor_path():
    graph = "income -> price; income -> churn; price -> churn"
    signs = {("income", "price"): "+", ("income", "churn"): "-", ("price", "churn"): "+"}
    missing = derive_directions(graph, "churn", ["price"], signs=signs).by_feature["price"]
    assert missing.status == "conflict" and missing.direction is None
    backdoor = [p for p in missing.paths if not p.causal]
    assert [p.nodes for p in backdoor] == [("price", "income", "churn")]
    assert backdoor[0].sign == "-"
    # With the confounder among the model's features the back door is closed.
    held = derive_directions(graph, "churn", ["price", "income"], signs=signs).by_feature
    assert held["price"].direction == "+" and held["income"].direction == "-"
    # A latent confounder pushing the same way leaves the direction known.
    same = {**signs, ("income", "churn"): "+"}
    d = derive_directions(graph, "churn", ["price"], signs=same).by_feature["price"]
    assert d.direction == "+" and "all 2 open paths" in d.reason


def test_conditioning_on_a_collider_flips_the_induced_path():
    # x -> c <- z -> y: with c in the model the path opens with sign -(s(x,c) s(z,c)) s(z,y).
    graph = "x -> c; z -> c; z -> y"
    signs = {("x", "c"): "+", ("z", "c"): "+", ("z", "y"): "+"}
    d = derive_directions(graph, "y", ["x", "c"], signs=signs).by_feature["x"]
    assert d.direction == "-"
    assert d.paths[0].text() == "x -> c <- z -> y [-]"
    # Without the collider in the model, x and y are independent: no direction.
    d = derive_directions(graph, "y", ["x"], signs=signs).by_feature["x"]
    assert (d.direction, d.status) == (None, "no_path")


def test_leakage_edge_gives_the_outcome_to_feature_sign():
    d = derive_directions("y -> visits", "y", ["visits"], signs={("y", "visits"): "+"})
    assert d.by_feature["visits"].direction == "+"


def test_unsigned_paths_and_suggestions_from_significant_effects():
    graph = "a -> y; b -> y; c -> y"
    effects = {"a": (0.4, 0.2, 0.6), "b": (-0.3, -0.5, -0.1), "c": (0.1, -0.1, 0.3)}
    by = derive_directions(graph, "y", ["a", "b", "c"], effects=effects).by_feature
    assert (by["a"].direction, by["a"].source) == ("+", "suggested")
    assert (by["b"].direction, by["b"].source) == ("-", "suggested")
    assert (by["c"].direction, by["c"].status) == (None, "unsigned")  # CI straddles 0
    # A declared sign wins over the estimate.
    by = derive_directions(graph, "y", ["a"], signs={("a", "y"): "-"}, effects=effects).by_feature
    assert (by["a"].direction, by["a"].source) == ("-", "declared")
    assert suggest_direction(1.0, 0.0, 2.0) is None


def test_categorical_features_have_no_direction():
    d = derive_directions("a -> y", "y", ["a"], signs={("a", "y"): "+"}, categorical=["a"])
    assert d.by_feature["a"].status == "categorical" and d.by_feature["a"].direction is None


def test_networkx_sign_attribute_and_override():
    g = nx.DiGraph()
    g.add_edge("price", "churn", sign="+")
    g.add_edge("income", "churn", sign=-1)
    graph, signs = edge_signs(g)
    assert signs == {("price", "churn"): "+", ("income", "churn"): "-"}
    assert set(graph.edges) == {("price", "churn"), ("income", "churn")}
    _, signs = edge_signs(g, {("price", "churn"): "negative"})
    assert signs[("price", "churn")] == "-"


def test_sign_errors_name_the_edge():
    with pytest.raises(GraphError, match=r"signs: edge churn -> price is not in the graph "
                       r"\(the graph has it the other way round\)"):
        edge_signs("price -> churn", {("churn", "price"): "+"})
    with pytest.raises(GraphError, match=r"signs: edge price -> churn: sign 'up' is not a "
                       r"direction; write '\+' or '-'"):
        edge_signs("price -> churn", {("price", "churn"): "up"})
    g = nx.DiGraph()
    g.add_edge("a", "b", sign="?")
    with pytest.raises(GraphError,
                       match=r"graph: networkx edge a -> b: sign '\?' is not '\+' or '-'"):
        edge_signs(g)


def test_parse_signs_and_its_errors():
    assert parse_signs("price -> churn [+]\nmonthly bill -> churn [ - ]") == {
        ("price", "churn"): "+", ("monthly bill", "churn"): "-"}
    with pytest.raises(GraphError, match=r"statement 'b -> c' at character 13: no sign"):
        parse_signs("a -> b [+]; b -> c")
    with pytest.raises(GraphError, match=r"statement 'a - b \[\+\]' at character 1: no '->'"):
        parse_signs("a - b [+]")
    with pytest.raises(GraphError, match=r"sign 'x' is not '\+' or '-'"):
        parse_signs("a -> b [x]")
    with pytest.raises(GraphError, match="signed twice"):
        parse_signs("a -> b [+]; a -> b [-]")


def test_unknown_feature_is_a_graph_error():
    with pytest.raises((GraphError, OptionError), match="nope"):
        derive_directions("a -> y", "y", ["nope"])


def test_open_path_found_behind_many_blocked_ones():
    # Eight model features form a complete DAG between the feature and the outcome: over
    # 100,000 simple paths run through them, every one blocked by a feature in the model.
    # The one open path, the direct edge, is listed last among each node's edges; the search
    # must still find it (a search that walked every simple path gave up before reaching it).
    mids = [f"m{i}" for i in range(8)]
    g = nx.DiGraph()
    g.add_edges_from(("x", m) for m in mids)
    g.add_edges_from((a, b) for i, a in enumerate(mids) for b in mids[i + 1 :])
    g.add_edges_from((m, "y") for m in mids)
    g.add_edge("x", "y", sign="-")
    for a, b in g.edges:
        g.edges[a, b].setdefault("sign", "+")
    d = derive_directions(g, "y", ["x", *mids]).by_feature["x"]
    assert (d.direction, d.status) == ("-", "declared")
    assert [p.nodes for p in d.paths] == [("x", "y")]
