"""Checking fitted models against directions: ICE violations and the exact tree check."""

import numpy as np
import pandas as pd
import pytest
from _domain_worlds import ARTEFACT, GRAPH, SIGNS, world
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.inspection import partial_dependence
from sklearn.linear_model import LinearRegression
from sklearn.tree import DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from causalinterp.domain import derive_directions, domain_objects, plot_ice, verify
from causalinterp.errors import DataError, ModelError, OptionError

FEATURES = ["price", "income"]


@pytest.fixture(autouse=True)
def _one_thread():
    # Two shared cores: OpenMP thread pools would oversubscribe them.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def planted():
    data = world("continuous").sample(3000, seed=1)
    with threadpool_limits(limits=1):
        model = HistGradientBoostingRegressor(max_iter=100, random_state=0)
        model.fit(data[FEATURES], data["y"])
    return data, model


def test_planted_violation_is_found_where_it_was_planted(planted):
    data, model = planted
    directions = derive_directions(GRAPH, "y", FEATURES, signs=SIGNS)
    result = verify(model, data, directions, ice_rows=150, ice_grid=60, seed=3)
    price = result.by_feature["price"]
    # The drop of 3 at price 13 outweighs the rise 0.6 * price over the grid step for every
    # row: all curves fall there, by about 3 - 0.6 * (band width covered before the drop).
    assert price.violation_share > 0.9
    assert price.max_violation > 1.5
    start, end = price.max_violation_at
    assert ARTEFACT[0] - 1.0 <= start <= ARTEFACT[0] + 0.2
    assert ARTEFACT[0] - 0.2 <= end <= ARTEFACT[1] + 0.2
    # Where: every row steps down at the artefact's start; elsewhere the unconstrained model
    # only wiggles with the noise, in fewer rows.
    shares = np.asarray(price.interval_shares)
    worst = int(shares.argmax())
    assert shares[worst] > 0.95 and abs(price.grid[worst] - ARTEFACT[0]) < 0.6
    assert np.sort(shares)[-2] < 0.8
    assert price.exact is not None and price.exact.status == "violated"
    assert price.violating.sum() == round(price.violation_share * price.rows_checked)
    assert result.violated[0] == "price"


def test_ice_curves_equal_scikit_learns(planted):
    data, model = planted
    result = verify(model, data, {"price": "+"}, ice_rows=40, ice_grid=15, seed=5, exact=False)
    check = result.by_feature["price"]
    rows = np.random.default_rng(np.random.SeedSequence(5)).choice(len(data), 40, replace=False)
    sample = data[FEATURES].iloc[np.sort(rows)]
    theirs = partial_dependence(model, sample, ["price"], kind="individual", method="brute",
                                custom_values={"price": np.asarray(check.grid)})
    np.testing.assert_allclose(check.curves, theirs["individual"][0], rtol=1e-5, atol=1e-6)


def test_exact_check_finds_a_dip_between_grid_points():
    x = np.linspace(0, 1, 4001)
    y = np.where((x > 0.503) & (x < 0.507), -1.0, x)
    data = pd.DataFrame({"x": x, "z": np.zeros_like(x), "y": y})
    model = DecisionTreeRegressor(random_state=0).fit(data[["x", "z"]], data["y"])
    check = verify(model, data, {"x": "+"}, ice_rows=20, ice_grid=50).by_feature["x"]
    assert check.violation_share == 0.0  # no grid point lies in (0.503, 0.507)
    assert check.exact.status == "violated" and check.exact.violation_share == 1.0
    low, high = check.exact.max_violation_at
    assert 0.49 < low < 0.507 and 0.503 < high < 0.51
    assert check.exact.max_violation == pytest.approx(1.503, abs=0.01)
    assert check.violated


def test_classifier_is_checked_on_the_probability_scale():
    data = world("binary", artefact=6.0).sample(4000, seed=2)
    model = HistGradientBoostingClassifier(max_iter=80, random_state=0)
    model.fit(data[FEATURES], data["y"])
    result = verify(model, data, {"price": "+", "income": None}, ice_rows=100, seed=0)
    assert result.scale == "probability"
    assert list(result.by_feature) == ["price"]
    check = result.by_feature["price"]
    assert check.violation_share > 0.3
    assert 0 < check.max_violation < 1
    assert ARTEFACT[0] - 1.0 <= check.max_violation_at[0] <= ARTEFACT[1]


def test_monotone_model_has_no_violation_and_no_exact_check():
    data = world("continuous", artefact=0.0).sample(500, seed=4)
    model = LinearRegression().fit(data[FEATURES], data["y"])
    result = verify(model, data, {"price": "+", "income": "-"})
    assert all(c.violation_share == 0 and c.exact is None for c in result.by_feature.values())
    # The wrong direction is violated by every row.
    wrong = verify(model, data, {"price": "-"}).by_feature["price"]
    assert wrong.violation_share == 1.0


def test_domain_objects_flag_material_declared_violations(planted):
    data, model = planted
    directions = derive_directions(GRAPH, "y", FEATURES, signs=SIGNS)
    result = verify(model, data, directions, ice_rows=50, ice_grid=30)
    objects = domain_objects(directions, result, material=["price"])
    assert objects["price"]["direction"] == "+" and objects["price"]["source"] == "declared"
    price = objects["price"]
    assert price["violation_share"] > 0.9 and price["against_direction"] is True
    assert objects["income"]["against_direction"] is False  # material nowhere
    suggested = derive_directions(GRAPH, "y", FEATURES, effects={"price": (0.5, 0.4, 0.6)})
    objects = domain_objects(suggested, verify(model, data, suggested, ice_rows=50),
                             material=["price"])
    price = objects["price"]
    assert price["source"] == "suggested" and price["against_direction"] is False


def test_ice_plot_highlights_the_violating_curves(planted):
    data, model = planted
    check = verify(model, data, {"income": "+"}, ice_rows=30, ice_grid=20).by_feature["income"]
    figure = plot_ice(check)
    # The curves are drawn as one line collection per kind (rasterised in the SVG).
    from matplotlib.colors import to_hex

    red = [c for c in figure.axes[0].collections if to_hex(c.get_colors()[0]) == "#c0392b"]
    assert len(red) == 1 and len(red[0].get_segments()) == int(check.violating.sum()) > 0
    assert "expected rising" in figure.axes[0].get_title()


def test_bad_inputs_have_one_line_errors(planted):
    data, model = planted
    with pytest.raises(OptionError, match=r"directions: 'tenure' not among the model's "
                       r"features \(price, income\)"):
        verify(model, data, {"tenure": "+"})
    with pytest.raises(DataError, match=r"data: the model's column\(s\) 'income' are not in the "
                       "data"):
        verify(model, data[["price"]], {"price": "+"})
    with pytest.raises(OptionError, match="ice_grid: expected an integer >= 2, got 1"):
        verify(model, data, {"price": "+"}, ice_grid=1)
    with pytest.raises(OptionError, match="directions: feature price: sign 'up'"):
        verify(model, data, {"price": "up"})
    with pytest.raises(ModelError, match="model object: has no predict method"):
        verify(object(), data, {"price": "+"}, features=FEATURES)


def test_exact_check_proves_or_stays_inconclusive():
    rng = np.random.default_rng(0)
    x, z = rng.random(4000), rng.random(4000)
    # Along x the outcome falls only where z > 0.9.
    data = pd.DataFrame({"x": x, "z": z, "y": x - 2.0 * ((z > 0.9) & (x > 0.5))})
    model = DecisionTreeRegressor(min_samples_leaf=5, random_state=0)
    model.fit(data[["x", "z"]], data["y"])
    everywhere = verify(model, data, {"x": "+"}, ice_rows=300).by_feature["x"]
    assert everywhere.exact.status == "violated"
    # Rows with z < 0.85 never meet the fall: no violation, but no proof either.
    low_z = verify(model, data[data.z < 0.85], {"x": "+"}, ice_rows=300).by_feature["x"]
    assert low_z.violation_share == 0 and low_z.exact.violation_share == 0
    assert low_z.exact.status == "inconclusive"
    constrained = DecisionTreeRegressor(min_samples_leaf=5, random_state=0, monotonic_cst=[1, 0])
    constrained.fit(data[["x", "z"]], data["y"])
    proved = verify(constrained, data, {"x": "+"}, ice_rows=300).by_feature["x"]
    assert proved.exact.status == "monotone" and proved.violation_share == 0


class _Wiggly:
    """A known model of x alone: a rising staircase (40 stairs of 0.05) whose stairs each
    fall by 0.002 halfway, minus a drop of ``drop`` from x = 0.5 on."""

    feature_names_in_ = np.array(["x", "z"])

    def __init__(self, drop: float) -> None:
        self.drop = drop

    def predict(self, frame):
        stair = np.asarray(frame["x"], dtype=float) * 40
        ripple = 0.002 * (stair % 1 < 0.5)
        return 0.05 * np.floor(stair) + ripple - self.drop * (stair >= 20)


def _uniform(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.uniform(size=n), "z": rng.normal(size=n)})


def test_tolerance_is_relative_to_the_spread_of_the_predictions():
    data = _uniform()
    ripple = _Wiggly(drop=0.0)
    # Tolerance 0: the ripple's falls count as violations in every row.
    strict = verify(ripple, data, {"x": "+"}, ice_rows=50, ice_grid=200, ice_tolerance=0)
    assert strict.by_feature["x"].violation_share == 1.0
    assert strict.threshold == pytest.approx(1e-9)
    # Default: 1% of the predictions' standard deviation (about 2 / sqrt(12) = 0.58), well
    # above the ripple's falls of 0.002, so no row violates.
    default = verify(ripple, data, {"x": "+"}, ice_rows=50, ice_grid=200)
    sample = data.iloc[np.sort(np.random.default_rng(np.random.SeedSequence(0)).choice(
        len(data), 50, replace=False))]
    assert default.tolerance == 0.01
    assert default.threshold == pytest.approx(0.01 * np.std(ripple.predict(sample)), rel=1e-9)
    assert 0.004 < default.threshold < 0.008
    assert default.by_feature["x"].violation_share == 0.0
    # A drop of a third of the spread is a violation in every row, where it was planted.
    dropped = verify(_Wiggly(drop=0.2), data, {"x": "+"}, ice_rows=50, ice_grid=200)
    check = dropped.by_feature["x"]
    assert check.violation_share == 1.0
    assert 0.45 < check.max_violation_at[0] <= 0.5 < check.max_violation_at[1] < 0.55


def test_tolerance_must_be_a_non_negative_number():
    expected = (r"^ice_tolerance: expected a non-negative number, got -1; "
                r"pass e\.g\. ice_tolerance=0\.01$")
    with pytest.raises(OptionError, match=expected):
        verify(_Wiggly(0.0), _uniform(50), {"x": "+"}, ice_tolerance=-1)
