"""Data checks: what is accepted, how it is coded, and the one-line error for each problem."""

import numpy as np
import pandas as pd
import pytest

from causalinterp.data import check_data
from causalinterp.errors import DataError, GraphError, OptionError
from causalinterp.graph import CausalGraph

GRAPH = CausalGraph.from_edges([("z", "x"), ("z", "y"), ("x", "y"), ("u", "x")])


def frame(n=100, **overrides):
    rng = np.random.default_rng(0)
    columns = {
        "z": rng.normal(size=n),
        "x": rng.normal(size=n),
        "y": rng.integers(0, 2, size=n),
    }
    columns.update(overrides)
    return pd.DataFrame(columns)


def test_kinds_latent_and_default_features():
    checked = check_data(frame(), GRAPH, "y")
    assert checked.kinds == {"x": "continuous", "y": "binary", "z": "continuous"}
    assert checked.latent == ("u",)
    assert checked.observed == ("x", "y", "z")
    assert checked.features == ("x", "z")
    assert checked.outcome_kind == "binary"
    assert checked.frame.dtypes.eq("float64").all()


def test_binary_columns_are_coded_zero_one_with_the_larger_level_as_one():
    data = frame(x=np.where(np.arange(100) % 3 == 0, 5.0, 2.0), y=["yes", "no"] * 50)
    checked = check_data(data, GRAPH, "y")
    assert set(checked.frame["x"]) == {0.0, 1.0}
    assert checked.frame["x"].sum() == (data["x"] == 5.0).sum()
    assert checked.frame["y"].tolist()[:2] == [1.0, 0.0]  # "yes" sorts after "no"


def test_bool_and_numeric_text_are_accepted():
    data = frame(x=[str(v) for v in np.linspace(0, 1, 100)], y=[True, False] * 50)
    checked = check_data(data, GRAPH, "y")
    assert checked.frame["x"].iloc[-1] == 1.0
    assert checked.kinds["y"] == "binary"


def test_missing_values_error_names_columns_and_the_fix():
    data = frame()
    data.loc[[3, 7], "x"] = np.nan
    with pytest.raises(DataError, match=r"missing values in 'x' \(2\).*missing='drop'"):
        check_data(data, GRAPH, "y")


def test_missing_drop_counts_rows_and_keeps_their_labels():
    data = frame()
    data.loc[[3, 7], "x"] = np.nan
    checked = check_data(data, GRAPH, "y", missing="drop")
    assert checked.dropped_rows == 2 and checked.n_rows == 98
    assert 3 not in checked.rows and 7 not in checked.rows


@pytest.mark.parametrize(
    ("overrides", "outcome", "features", "error", "message"),
    [
        ({"x": ["a"] + [1.0] * 99}, "y", None, DataError, r"column 'x' has non-numeric values"),
        ({"x": [np.inf] + [1.0] * 99}, "y", None, DataError, r"'x' has 1 infinite"),
        ({"x": [1e300] + [1.0] * 99}, "y", None, DataError, r"'x' has values beyond.*rescale"),
        ({"x": [2.0] * 100}, "y", None, DataError, r"'x' is constant"),
        ({"y": [1] * 100}, "y", None, DataError, r"'y' is constant"),
        ({}, "w", None, GraphError, r"'w'"),
        ({}, "y", ["x", "q"], GraphError, r"'q'"),
        ({}, "y", ["x", "y"], OptionError, r"outcome 'y' is listed as a feature"),
        ({}, "y", ["x", "x"], OptionError, r"'x' listed twice"),
        ({}, "y", [], OptionError, r"features: the list is empty"),
    ],
)
def test_bad_input_gets_one_line_naming_the_input(overrides, outcome, features, error, message):
    with pytest.raises(error, match=message) as caught:
        check_data(frame(**overrides), GRAPH, outcome, features=features)
    assert "\n" not in str(caught.value)


def test_outcome_in_graph_but_not_in_data():
    with pytest.raises(DataError, match=r"outcome column 'y' is not in the data"):
        check_data(frame().drop(columns="y"), GRAPH, "y")


def test_feature_in_graph_but_not_in_data():
    with pytest.raises(DataError, match=r"feature column\(s\) 'u' are not in the data"):
        check_data(frame(), GRAPH, "y", features=["x", "u"])


def test_duplicated_columns():
    data = pd.concat([frame(), frame()[["x"]]], axis=1)
    with pytest.raises(DataError, match=r"duplicated column name\(s\) 'x'"):
        check_data(data, GRAPH, "y")


def test_too_few_rows():
    with pytest.raises(DataError, match=r"3 usable rows; at least 50"):
        check_data(frame(n=3), GRAPH, "y")


def test_not_a_dataframe():
    with pytest.raises(DataError, match=r"expected a pandas DataFrame, got dict"):
        check_data({"x": [1]}, GRAPH, "y")


def test_unknown_missing_policy():
    with pytest.raises(OptionError, match=r"missing: unknown value 'skip'"):
        check_data(frame(), GRAPH, "y", missing="skip")
    # Checked by the options table, as analyze(), the CLI and case.toml check it.
    message = r"^missing: unknown value 'dorp'; did you mean 'drop'\?$"
    with pytest.raises(OptionError, match=message):
        check_data(frame(), GRAPH, "y", missing="dorp")
