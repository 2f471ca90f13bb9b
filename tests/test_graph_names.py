"""Graph node names against data columns: near-misses are errors unless declared latent;
declared and undeclared latent nodes in the report; an untestable DAG is not a fitting one."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from causalinterp import options
from causalinterp.data import check_data, near_miss_nodes
from causalinterp.errors import DataError, GraphError
from causalinterp.estimate import estimate_effects
from causalinterp.graph import CausalGraph
from causalinterp.graph.independence import check_graph


def churn_data(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.normal(size=n)
    price = 0.5 * tenure + rng.normal(size=n)
    churned = (0.8 * price - tenure + rng.normal(size=n) > 0).astype(int)
    return pd.DataFrame({"tenure": tenure, "monthly_price": price, "churned": churned})


#: A typo: "monthly_prce" is not a column, so it would silently become latent.
TYPO = "tenure -> monthly_price; monthly_prce -> churned; tenure -> churned"


def test_near_miss_node_is_an_error_with_the_suggestion():
    with pytest.raises(DataError) as info:
        check_data(churn_data(), CausalGraph.parse(TYPO), "churned", features=["tenure"])
    message = str(info.value)
    assert "'monthly_prce' is not a column, but 'monthly_price' is" in message
    assert "latent=['monthly_prce']" in message and "\n" not in message


def test_without_the_check_the_typo_would_remove_the_real_cause():
    # What the check prevents: declared latent, the typo leaves monthly_price with no path.
    graph = CausalGraph.parse(TYPO)
    checked = check_data(
        churn_data(), graph, "churned", features=["monthly_price"], latent=["monthly_prce"]
    )
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    assert effects.by_feature["monthly_price"].status == "no_path"
    assert checked.declared_latent == ("monthly_prce",)


def test_node_declared_latent_in_dot_is_accepted():
    dot = (
        'digraph { monthly_prce [latent=true]; tenure -> monthly_price; '
        "monthly_prce -> churned; tenure -> churned }"
    )
    graph = CausalGraph.parse(dot)
    assert graph.declared_latent == ("monthly_prce",)
    assert pickle.loads(pickle.dumps(graph)).declared_latent == ("monthly_prce",)
    assert CausalGraph.parse(graph.to_dot()).declared_latent == ("monthly_prce",)
    checked = check_data(churn_data(), graph, "churned", features=["tenure"])
    assert checked.declared_latent == ("monthly_prce",) and checked.latent == ("monthly_prce",)


def test_distinct_names_are_undeclared_latents_not_errors():
    graph = CausalGraph.parse(
        "frustration -> monthly_price; frustration -> churned; U -> tenure; U -> churned; "
        "tenure -> churned; monthly_price -> churned"
    )
    checked = check_data(churn_data(), graph, "churned")
    assert checked.latent == ("U", "frustration") and checked.declared_latent == ()


def test_case_and_separator_differences_are_near_misses():
    assert near_miss_nodes(["Monthly Price", "tenure_"], ["monthly_price", "tenure"]) == {
        "Monthly Price": "monthly_price",
        "tenure_": "tenure",
    }
    # Short names and genuinely different words are not.
    assert near_miss_nodes(["U", "need", "frustration"], ["u2", "needs_met", "friction"]) == {}


def test_bad_latent_declarations_are_one_line_errors():
    graph = CausalGraph.parse(TYPO)
    with pytest.raises(GraphError, match=r"latent: 'monthly_prc' is not a node .*did you mean"):
        check_data(churn_data(), graph, "churned", latent=["monthly_prc"])
    with pytest.raises(GraphError, match="declared latent but is a column"):
        check_data(churn_data(), graph, "churned", latent=["monthly_prce", "tenure"])


def test_latent_is_an_option_with_a_cli_flag():
    row = next(o for o in options.OPTIONS if o.name == "latent")
    assert row.kind == "names" and row.default == () and row.cli and row.case
    assert options.validate({"latent": ("a", "b")})["latent"] == ["a", "b"]


# ------------------------------------------------------------------------------ graph test


def test_dag_without_testable_implication_is_untestable_not_fitting():
    # Complete DAG over the observed columns: nothing to test, so fits is None.
    graph = CausalGraph.parse(
        "tenure -> monthly_price; monthly_price -> churned; tenure -> churned"
    )
    frame = churn_data()
    result = check_graph(graph, check_data(frame, graph, "churned"), seed=0)
    assert result.tested == 0 and result.fits is None
    # A DAG that implies a false independence is tested and rejected.
    wrong = CausalGraph.parse("tenure -> churned; monthly_price -> churned")
    rejected = check_graph(wrong, check_data(frame, wrong, "churned"), seed=0)
    assert rejected.tested == 1 and rejected.fits is False
