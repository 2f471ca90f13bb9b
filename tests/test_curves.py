"""Dose-response curves: coverage of known curves, planted shapes found where they are."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from causalinterp.data import check_data
from causalinterp.errors import OptionError
from causalinterp.estimate import estimate_effects
from causalinterp.estimate.curves import _fit, _run, _Task, estimate_curves, fit_curve
from causalinterp.estimate.shapes import compare_shapes, hinge
from causalinterp.graph import CausalGraph
from causalinterp.render.curves import curve_svg
from causalinterp.verdicts import judge

GRAPH = CausalGraph.parse("w1 -> x; w2 -> x; w1 -> y; w2 -> y; x -> y")
THRESHOLD = 0.5


def world(n: int, seed: int, f) -> pd.DataFrame:
    """x confounded by w1, w2 (linear); y = f(x) + w1 + 0.5 w2 + noise: E[y | do(x)] = f(x)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    x = 0.7 * w[:, 0] - 0.4 * w[:, 1] + rng.normal(size=n)
    y = f(x) + w[:, 0] + 0.5 * w[:, 1] + rng.normal(size=n)
    return pd.DataFrame({"w1": w[:, 0], "w2": w[:, 1], "x": x, "y": y})


def threshold(x):
    return 2 * np.maximum(x - THRESHOLD, 0.0)


class Structural:
    """A 'model' that predicts with a given function of the features (a DataFrame in)."""

    def __init__(self, f):
        self.f = f
        self.feature_names_in_ = np.array(["w1", "w2", "x"], dtype=object)
        self.n_features_in_ = 3

    def fit(self, X, y):
        return self

    def predict(self, X):
        X = pd.DataFrame(X, columns=self.feature_names_in_)
        return self.f(X["x"].to_numpy()) + X["w1"].to_numpy() + 0.5 * X["w2"].to_numpy()


def stage(data, model, points=20):
    checked = check_data(data, GRAPH, "y", features=["w1", "w2", "x"])
    effects = estimate_effects(checked, GRAPH, seed=0, nuisance="linear")
    curves = estimate_curves(checked, effects, model=model, data=data, curve_points=points, seed=0)
    return checked, effects, curves


def test_pointwise_intervals_cover_the_true_curve_at_about_the_nominal_rate():
    # A smooth non-linear truth, 12 data sets: the full study is benchmarks/curve_coverage.py.
    def f(x):
        return np.sin(1.5 * x)

    covered, uniform, worst = [], [], 0.0
    for seed in range(12):
        data = world(1500, seed, f)
        c = fit_curve(
            data["x"], data["y"], data[["w1", "w2"]].to_numpy(), nuisance="linear", seed=seed
        )
        truth = f(np.array(c.x))
        covered.append(np.mean((np.array(c.ci_low) <= truth) & (truth <= np.array(c.ci_high))))
        uniform.append(np.all((np.array(c.band_low) <= truth) & (truth <= np.array(c.band_high))))
        worst = max(worst, float(np.max(np.abs(np.array(c.estimate) - truth))))
    assert 0.85 <= np.mean(covered) <= 0.995
    assert np.mean(uniform) >= 0.75
    assert worst < 0.6


def test_bands_are_wider_than_pointwise_intervals_and_nested():
    data = world(1000, 1, np.tanh)
    c = fit_curve(data["x"], data["y"], data[["w1", "w2"]].to_numpy(), nuisance="linear")
    assert np.all(np.array(c.band_low) <= np.array(c.ci_low) + 1e-12)
    assert np.all(np.array(c.band_high) >= np.array(c.ci_high) - 1e-12)
    assert np.all(np.array(c.ci_low) < np.array(c.estimate))


def test_confounded_curve_is_not_the_naive_regression():
    # Without adjustment the slope of y on x is biased (w1 raises both); with it, it is ~1.
    data = world(3000, 2, lambda x: x)
    adjusted = fit_curve(data["x"], data["y"], data[["w1", "w2"]].to_numpy(), nuisance="linear")
    naive = fit_curve(data["x"], data["y"], None)

    def slope(c):
        return (c.estimate[-1] - c.estimate[0]) / (c.x[-1] - c.x[0])

    assert slope(adjusted) == pytest.approx(1.0, abs=0.1)
    assert slope(naive) > 1.2  # 1 + cov(x, w1 + w2 / 2) / var(x) = 1.30


def test_planted_threshold_is_found_where_it_is():
    # Truth: flat below 0.5, slope 2 above. The model is linear: it responds below 0.5.
    data = world(3000, 3, threshold)
    linear = Structural(lambda x: 0.5 + 1.0 * x)
    _, _, curves = stage(data, linear)
    finding = curves.by_feature["x"].finding
    assert finding is not None
    assert (finding.kind, finding.flat) == ("threshold", "causal")
    assert finding.at == pytest.approx(THRESHOLD, abs=0.35)
    # The stretch is below the threshold (ending at its break, or a grid step short of it).
    step = (curves.by_feature["x"].x[1] - curves.by_feature["x"].x[0]) * 1.001
    assert finding.at - step <= finding.x_high <= finding.at + 1e-9
    assert finding.x_low < 0
    assert "threshold" in finding.sentence
    # The flat stretch is flat in the numbers the sentence prints: the causal change is
    # within its interval of zero and small against the model's change over it.
    change, se = finding.causal_change, finding.causal_change_se
    assert abs(change) <= 1.96 * se and abs(change) + 1.96 * se <= 0.3 * finding.model_change
    assert f"causal curve {change:+.3g}, s.e. {se:.2g}" in finding.sentence


def test_saturation_in_the_model_but_not_in_the_truth_is_reported():
    data = world(3000, 4, lambda x: x)
    saturating = Structural(lambda x: np.minimum(x, THRESHOLD))
    _, _, curves = stage(data, saturating)
    finding = curves.by_feature["x"].finding
    assert finding is not None
    assert (finding.kind, finding.flat) == ("saturation", "model")
    assert finding.at == pytest.approx(THRESHOLD, abs=0.35)
    assert finding.x_low == pytest.approx(finding.at) and finding.x_high > 1.5
    assert finding.model_change < 0.3 * finding.causal_change
    assert curves.by_feature["x"].model_curve == "partial_dependence"


def test_a_model_with_the_true_shape_gets_no_finding():
    data = world(3000, 3, threshold)
    _, _, curves = stage(data, Structural(threshold))
    assert curves.by_feature["x"].finding is None
    assert curves.reason("x") == ""


class _Broken(Structural):
    """Fails on the partial dependence's rows (many rows, x set to a few grid values)."""

    def predict(self, X):
        frame = pd.DataFrame(X, columns=self.feature_names_in_)
        if len(frame) >= 1000 and frame["x"].nunique() <= 20:
            raise RuntimeError("cannot score this many rows.\nmore detail")
        return super().predict(X)


def test_a_failing_partial_dependence_says_why_it_fell_back_to_shap_dependence():
    from causalinterp.attribute import attribute_model

    data = world(3000, 3, threshold)
    model = _Broken(threshold)
    checked = check_data(data, GRAPH, "y", features=["w1", "w2", "x"])
    effects = estimate_effects(checked, GRAPH, seed=0, nuisance="linear")
    attributions = attribute_model(model, data, checked, model_seed=0, seed=0, max_shap_rows=300)
    curves = estimate_curves(
        checked, effects, attributions, model=model, data=data, curve_points=10, seed=0
    )
    curve = curves.by_feature["x"]
    assert curve.model_curve == "shap_dependence" and len(curve.model) == 10
    assert curve.model_curve_note == (
        "partial dependence failed (RuntimeError: cannot score this many rows)"
    )
    # The working model's curve carries no note.
    _, _, fine = stage(data, Structural(threshold), points=10)
    assert fine.by_feature["x"].model_curve_note == ""


def test_sign_change_is_reported_with_its_range():
    # Truth rises throughout; the model falls above 1.
    data = world(3000, 5, lambda x: x)
    bending = Structural(lambda x: x - 1.5 * np.maximum(x - 1.0, 0.0) ** 2)
    _, _, curves = stage(data, bending)
    finding = curves.by_feature["x"].finding
    assert finding is not None and finding.kind == "sign_change"
    assert finding.x_low >= 0.5 and finding.causal_change > 0 > finding.model_change


def test_verdict_gets_a_shape_reason_even_when_slopes_agree():
    # The saturating model's average slope is close to the causal effect's on part of the
    # range; the verdict's reasons must still say where the shape differs.
    data = world(3000, 4, lambda x: x)
    checked, effects, curves = stage(data, Structural(lambda x: np.minimum(x, THRESHOLD)))

    class SlopeAgrees:
        def __init__(self):
            row = {"mean_abs_shap": 1.0, "slope": 1.0, "slope_se": 0.01}
            self.by_feature = {name: type("A", (), row)() for name in ("w1", "w2", "x")}

    verdicts = judge(effects, SlopeAgrees(), GRAPH, checked, curve_results=curves)
    assert verdicts["x"].verdict == "supported"  # the slopes agree
    assert any("saturation" in r and "'x'" in r for r in verdicts["x"].reasons)


def test_report_objects_and_plot():
    data = world(2000, 6, threshold)
    _, _, curves = stage(data, Structural(lambda x: 0.5 + x), points=15)
    curve = curves.feature_json("x")["curve"]
    assert all(len(curve[key]) == 15 for key in ("x", "estimate", "ci_low", "ci_high"))
    assert curve["shape"]["kind"] == "threshold"
    # w1 is a continuous back-door feature too; every back-door effect has a BLP test.
    assert len(curves.feature_json("w1")["curve"]["x"]) == 15
    assert curves.feature_json("x")["heterogeneity"]["test"] == "blp"
    assert "x" in curves.section_json()["shape_disagreements"]
    assert curve_svg(curves.by_feature["x"], outcome="y").startswith("<svg")


def test_too_few_points_is_a_one_line_option_error():
    data = world(300, 0, np.tanh)
    checked = check_data(data, GRAPH, "y", features=["w1", "w2", "x"])
    effects = estimate_effects(checked, GRAPH, seed=0, nuisance="linear")
    with pytest.raises(OptionError, match=r"^curve_points: 2 is too few; pass e\.g\."):
        estimate_curves(checked, effects, curve_points=2)


def test_a_failing_feature_becomes_a_message_not_an_exception():
    x = np.ones(200)
    feature, result = _run(_Task("x", x, np.arange(200.0), None, 10, 0.95, 3, "linear", 0))
    assert feature == "x" and isinstance(result, str) and "constant" in result


def test_hinge_finds_the_break():
    grid = np.linspace(-2, 2, 41)
    at, below, above = hinge(grid, 3 * np.maximum(grid - 0.7, 0))
    assert at == pytest.approx(0.7, abs=0.11) and abs(below) < 1e-6 and above == pytest.approx(3)


def test_shape_comparison_ignores_level_and_small_wiggles():
    data = world(2000, 7, lambda x: x)
    fit = _fit(
        _Task(
            "x",
            data["x"].to_numpy(),
            data["y"].to_numpy(),
            data[["w1", "w2"]].to_numpy(),
            20,
            0.95,
            3,
            "linear",
            0,
        )
    )
    shifted = fit.theta + 3.0  # same shape, another level (a miscalibrated model)
    assert compare_shapes("x", fit, shifted) is None
    wiggle = fit.theta + 0.02 * np.sin(5 * fit.grid)
    assert compare_shapes("x", fit, wiggle) is None


def test_the_markdown_report_lists_shape_disagreements_and_varying_effects():
    from causalinterp.render.curves import markdown_section

    data = {
        "curves": {"shape_disagreements": ["price"], "heterogeneous": ["discount"]},
        "features": [
            {"name": "price", "curve": {"shape": {"sentence": "The model saturates above 40."}},
             "heterogeneity": None},
            {"name": "discount", "curve": None,
             "heterogeneity": {"varies": True, "sentence": "The effect varies with tenure."}},
            {"name": "tenure", "curve": {"shape": None}, "heterogeneity": {"varies": False}},
        ],
    }
    text = markdown_section(data)
    assert "- **price**: The model saturates above 40." in text
    assert "- **discount**: The effect varies with tenure." in text
    assert "**tenure**" not in text
    assert markdown_section({"features": []}) == ""  # curves switched off: no section


SMOOTH = {
    "logistic": lambda x: 3.0 / (1.0 + np.exp(-x)),
    "quadratic": lambda x: x + 0.1 * x**2,
}


@pytest.mark.parametrize("truth", sorted(SMOOTH))
def test_smooth_curves_against_a_straight_line_get_no_threshold_or_saturation(truth):
    # The model is the best straight line through a smooth truth: the shapes do disagree,
    # but neither curve has a flat stretch to speak of (benchmarks/curve_shapes.py has the
    # rates over 100 data sets).
    f = SMOOTH[truth]
    kinds = []
    for seed in range(4):
        data = world(1000, seed, f)
        x = data["x"].to_numpy()
        fit = _fit(
            _Task("x", x, data["y"].to_numpy(), data[["w1", "w2"]].to_numpy(), 20, 0.95, 3,
                  "linear", seed)
        )  # fmt: skip
        line = np.polyval(np.polyfit(x, f(x), 1), fit.grid)
        found = compare_shapes("x", fit, line)
        kinds.append(None if found is None else found.kind)
        if found is not None and found.kind == "sign_change":
            assert found.causal_change * found.model_change < 0, found.sentence
    assert "threshold" not in kinds and "saturation" not in kinds, kinds
    assert kinds.count(None) < 4  # the straight line's shape is wrong, and that is found


def test_a_curve_that_keeps_falling_is_not_said_to_level_off():
    # Rises to 26.46, then falls 0.075 with a standard error of 0.028 (beyond 1.96 s.e., yet
    # within every window's simultaneous band, so no sign change is found): the old
    # sentence "levels off near ... (saturation)" contradicted these very numbers.
    grid = np.linspace(0.0, 40.0, 20)
    theta = np.where(grid < 10, 2.646 * grid, 26.46 - 0.075 * (grid - 10) / 30)
    se = np.full(20, 0.02)
    starts = np.arange(0, 16)
    fit = SimpleNamespace(
        grid=grid, theta=theta, se=se, cov=np.diag(se**2), level=0.95, starts=starts,
        ends=starts + 4, inc=theta[starts + 4] - theta[starts], inc_se=np.full(16, 0.028),
        inc_crit=3.0,
    )  # fmt: skip
    model = 0.8 * grid  # keeps rising
    found = compare_shapes("x", fit, model, outcome="y")
    assert found is not None and found.kind != "saturation"
    assert "levels off" not in found.sentence
    # The same curve flat (to within its error) above 10 is a saturation, and says so.
    flat = np.where(grid < 10, 2.646 * grid, 26.46 + 0.002 * np.sin(grid))
    fit.theta, fit.inc = flat, flat[starts + 4] - flat[starts]
    found = compare_shapes("x", fit, model, outcome="y")
    assert (found.kind, found.flat) == ("saturation", "causal")
    assert abs(found.causal_change) <= 1.96 * found.causal_change_se


def test_the_multiplier_bootstrap_draws_from_the_influence_covariance():
    # sum_i xi_i psi_i with Gaussian xi is Gaussian with covariance sum_i psi_i psi_i': the
    # sup quantiles drawn from that covariance match the n-multiplier bootstrap.
    from causalinterp.estimate.curves import N_MULTIPLIER, _centred_gram, _sup_quantiles

    rng = np.random.default_rng(0)
    n = 4000
    infl = rng.standard_normal((n, 3)) @ np.array([[1.0, 0.8, 0.1], [0, 0.6, 0.3], [0, 0, 1]])
    infl_inc = infl[:, :2] * np.array([2.0, -1.0])
    ses = [infl.std(axis=0) / np.sqrt(n), infl_inc.std(axis=0) / np.sqrt(n)]
    direct = []
    for a, se in zip((infl, infl_inc), ses, strict=True):
        centred = a - a.mean(axis=0)
        xi = np.random.default_rng(1).standard_normal((8000, n))
        stats = np.abs(xi @ centred) / n / se
        direct.append(np.quantile(stats.max(axis=1), 0.95))
    stacked = np.column_stack([infl, infl_inc])
    gram = _centred_gram(stacked)
    centred = stacked - stacked.mean(axis=0)
    np.testing.assert_allclose(gram, centred.T @ centred, rtol=1e-9, atol=1e-6)
    drawn = _sup_quantiles(np.random.default_rng(2), gram, n, ses, 0.95)
    # N_MULTIPLIER draws: a 95% quantile's Monte Carlo error is a few hundredths.
    assert N_MULTIPLIER >= 1000
    np.testing.assert_allclose(drawn, direct, atol=0.12)
    assert drawn[0] > 1.96  # the sup over three correlated points exceeds the pointwise value


def test_a_curve_on_many_rows_needs_no_multiplier_per_row():
    # Drawing N_MULTIPLIER multipliers per row would take 1,000 x 300,000 x 8 bytes = 2.4 GB.
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 300_000
    x = rng.normal(size=n)
    y = np.sin(x) + rng.normal(size=n)
    tracemalloc.start()
    try:
        curve = fit_curve(x, y, points=10, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 600 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    truth = np.sin(np.array(curve.x)) - np.mean(np.sin(x)) + y.mean()
    assert np.all(np.abs(np.array(curve.estimate) - truth) < 0.05)
    assert np.all(np.array(curve.band_low) <= truth) and np.all(truth <= np.array(curve.band_high))
