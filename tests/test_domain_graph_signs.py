"""Edge signs in every graph format: parsing, round trips, equality, pickling and errors."""

import pickle

import networkx as nx
import pytest

from causalinterp.domain.check import check_signs
from causalinterp.errors import GraphError
from causalinterp.graph import CausalGraph

SIGNED = {("income", "churn"): "-", ("income", "price"): "+", ("price", "churn"): "+"}
EDGES = "price -> churn [+]\nincome -> churn [-]\nincome -> price [+]\n"


def test_edge_string_signs_chains_and_quoted_names():
    assert CausalGraph.parse(EDGES).signs == SIGNED
    g = CausalGraph.parse('base [1] -> x; a -> "b c" [-] -> d [+]; d -> e')
    # A bracket after a chain's first bare name is part of that name: only effects are signed.
    assert "base [1]" in g.nodes
    assert g.signs == {("a", "b c"): "-", ("b c", "d"): "+"}
    assert CausalGraph.parse("a -> b [ - ]  # comment").signs == {("a", "b"): "-"}


def test_dot_gml_and_networkx_signs():
    dot = 'digraph { price -> churn [sign="+", color=red]; income -> {churn} [sign="-"];' \
          ' income -> price [sign="+"] }'
    assert CausalGraph.parse(dot).signs == SIGNED
    gml = ('graph [ directed 1 node [ id 0 label "a" ] node [ id 1 label "b" ] '
           'edge [ source 0 target 1 sign "-" ] ]')
    assert CausalGraph.parse(gml).signs == {("a", "b"): "-"}
    d = nx.DiGraph()
    d.add_edge("a", "b", sign=-1)
    d.add_edge("b", "c", sign="positive", weight=3)
    d.add_edge("a", "c")
    g = CausalGraph.parse(d)
    assert g.signs == {("a", "b"): "-", ("b", "c"): "+"}
    assert dict(g.to_networkx().edges[("a", "b")]) == {"sign": "-"}


def test_signs_survive_every_writer_pickling_and_networkx():
    g = CausalGraph.parse(EDGES)
    for text in (g.to_edge_string(), g.to_dot(), g.to_gml()):
        back = CausalGraph.parse(text)
        assert back == g and back.signs == SIGNED
    assert pickle.loads(pickle.dumps(g)).signs == SIGNED
    assert CausalGraph.from_networkx(g.to_networkx()) == g
    assert CausalGraph.from_edges(g.edges, signs=SIGNED) == g
    assert 'price -> churn [sign="+"]' in g.to_dot()
    assert "price -> churn [+]" in g.to_edge_string()
    assert "price -> churn [+]" in repr(g)


def test_equality_and_hash_see_the_signs():
    plain = CausalGraph.parse("price -> churn")
    plus = CausalGraph.parse("price -> churn [+]")
    minus = CausalGraph.parse("price -> churn [-]")
    assert plain != plus and plus != minus
    assert plus == CausalGraph.parse('digraph { price -> churn [sign="+"] }')
    assert len({plain, plus, minus, CausalGraph.parse("price -> churn [+]")}) == 3


def test_names_that_look_like_signs_are_quoted_and_read_back():
    g = CausalGraph.from_edges([("a", "b [1]"), ("b [1]", "c")])
    assert CausalGraph.parse(g.to_edge_string()) == g
    assert '"b [1]"' in g.to_edge_string()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a -> b\nc -> d [x]",
         "graph: line 2:9: sign 'x' on edge c -> d is not '+' or '-'; write 'c -> d [+]' or "
         "'[-]'"),
        ("a -> b [+]; a -> b [-]",
         "graph: line 1:21: edge a -> b is signed both '+' and '-'; keep one sign"),
        ('"a" -> "b" [+',
         "graph: line 1:12: unclosed sign bracket; write the sign as [+] or [-]"),
        ('digraph {\n  a -> b [sign="up"]\n}',
         "graph: line 2:16: sign 'up' on edge a -> b is not '+' or '-'; write sign=\"+\" or "
         "sign=\"-\""),
        ('digraph { a -> b [sign="+"]; a -> b [sign="-"] }',
         "graph: line 1:43: edge a -> b is signed both '+' and '-'; keep one sign"),
        ('graph [ directed 1 node [ id 0 label "a" ] node [ id 1 label "b" ] '
         'edge [ source 0 target 1 sign "q" ] ]',
         "graph: GML edge #0 a -> b: sign 'q' is not '+' or '-'; write sign \"+\" or sign \"-\""),
    ],
)
def test_sign_errors_name_the_edge_and_the_position(text, message):
    with pytest.raises(GraphError) as caught:
        CausalGraph.parse(text)
    assert str(caught.value) == message


def test_networkx_and_pair_errors_name_the_edge():
    d = nx.DiGraph()
    d.add_edge("a", "c", sign="up")
    with pytest.raises(GraphError, match=r"networkx edge a -> c: sign 'up' is not"):
        CausalGraph.parse(d)
    with pytest.raises(GraphError, match=r"sign on edge b -> a, which is not in the graph"):
        CausalGraph.from_edges([("a", "b")], signs={("b", "a"): "+"})


def test_signs_beyond_the_graph_merge_and_are_checked():
    graph = "price -> churn [+]; income -> churn"
    # case.toml's [signs] table keys edges as "cause -> effect"; an explicit sign wins.
    assert check_signs(graph, {"income -> churn": "-", "price -> churn": "-"}) == {
        ("income", "churn"): "-", ("price", "churn"): "-"}
    assert check_signs(graph, "income -> churn [-]") == {
        ("income", "churn"): "-", ("price", "churn"): "+"}
    with pytest.raises(GraphError, match="edge churn -> price is not in the graph"):
        check_signs(graph, {("churn", "price"): "+"})
    with pytest.raises(GraphError, match="signs: key 'price' is not an edge"):
        check_signs(graph, {"price": "+"})


def test_case_file_signs_table_reaches_analyze(tmp_path):
    from causalinterp.cli import _options, build_parser, load_case

    (tmp_path / "case.toml").write_text(
        'data = "d.csv"\ngraph = "price -> churn; income -> churn"\noutcome = "churn"\n'
        '[signs]\n"price -> churn" = "+"\n"income -> churn" = "-"\n', encoding="utf-8")
    case = load_case(tmp_path)
    args = build_parser().parse_args(["run", str(tmp_path)])
    given = _options(args, case, where="case.toml")
    assert check_signs(case["graph"], given["signs"]) == {
        ("income", "churn"): "-", ("price", "churn"): "+"}
