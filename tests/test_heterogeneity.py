"""Effect heterogeneity: the BLP test finds planted modifiers and stays quiet without them."""

import numpy as np
import pandas as pd
import pytest

from causalinterp.data import check_data
from causalinterp.estimate import estimate_effects
from causalinterp.estimate._econml import BackdoorResiduals
from causalinterp.estimate.curves import estimate_curves
from causalinterp.estimate.heterogeneity import blp, heterogeneity_test
from causalinterp.graph import CausalGraph

GRAPH = CausalGraph.parse("w1 -> t; w2 -> t; w1 -> y; w2 -> y; t -> y")


def world(n: int, seed: int, modifier: float, binary: bool = False) -> pd.DataFrame:
    """Effect of t on y is 1 + modifier * w1 (w2 confounds but does not modify)."""
    rng = np.random.default_rng(seed)
    w1, w2 = rng.normal(size=n), rng.normal(size=n)
    if binary:
        t = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * w1 - 0.5 * w2)))).astype(float)
    else:
        t = 0.5 * w1 - 0.5 * w2 + rng.normal(size=n)
    y = (1 + modifier * w1) * t + w1 + w2 + rng.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "t": t, "y": y})


def stage_result(data):
    checked = check_data(data, GRAPH, "y", features=["t"])
    effects = estimate_effects(checked, GRAPH, seed=0, nuisance="linear")
    return estimate_curves(checked, effects, seed=0).heterogeneity["t"]


def test_planted_heterogeneity_is_found_with_its_driver():
    result = stage_result(world(3000, 0, modifier=0.6))
    assert result.varies is True and result.p_value < 1e-6
    assert result.significant_drivers == ("w1",)
    w1 = next(d for d in result.drivers if d.name == "w1")
    assert w1.per_sd == pytest.approx(0.6, abs=0.15)  # w1 has SD 1
    assert w1.ci_low < 0.6 < w1.ci_high


def test_no_heterogeneity_when_none_is_planted():
    result = stage_result(world(3000, 1, modifier=0.0))
    assert result.varies is False and result.p_value > 0.05
    assert result.significant_drivers == ()
    assert "no detectable variation" in result.sentence


def test_binary_treatment_uses_the_doubly_robust_scores():
    planted = stage_result(world(4000, 2, modifier=0.8, binary=True))
    assert planted.varies is True and planted.significant_drivers == ("w1",)
    absent = stage_result(world(4000, 4, modifier=0.0, binary=True))
    assert absent.varies is False


def test_test_has_about_its_nominal_size_under_the_null():
    # Orthogonal signals without heterogeneity, 200 draws: rejections near 5%.
    rng = np.random.default_rng(4)
    rejected = 0
    for _ in range(200):
        z = rng.normal(size=(800, 3))
        t_res = rng.normal(size=800)
        y_res = 0.7 * t_res + rng.normal(size=800) * (1 + 0.5 * np.abs(z[:, 0]))
        rejected += heterogeneity_test(BackdoorResiduals(y_res, t_res), z, ["a", "b", "c"]).varies
    assert 0.01 <= rejected / 200 <= 0.10


def test_blp_recovers_average_and_slopes():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(5000, 2))
    t_res = rng.normal(size=5000)
    y_res = t_res * (2 + 0.5 * z[:, 0] - 0.3 * z[:, 1]) + rng.normal(size=5000)
    coef, cov = blp(y_res, t_res, z)
    assert coef == pytest.approx([2, 0.5, -0.3], abs=0.06)
    assert np.all(np.diag(cov) > 0)


def test_no_covariates_means_not_tested():
    rng = np.random.default_rng(6)
    result = heterogeneity_test(
        BackdoorResiduals(rng.normal(size=50), rng.normal(size=50)), None, [], feature="t"
    )
    assert result.varies is None and "not tested" in result.sentence
    assert result.to_dict()["drivers"] == []


def test_a_feature_whose_test_fails_is_skipped_with_the_reason_and_the_others_are_tested(
    monkeypatch,
):
    """The tests run per feature in parallel; one that raises names its feature and reason in
    ``skipped`` and leaves the other features' tests in place."""
    from causalinterp.estimate import curves as curves_module

    graph = CausalGraph.parse("w1 -> t; w1 -> s; w1 -> y; t -> y; s -> y")
    data = world(2000, 3, modifier=0.6)
    data["s"] = data["w1"] + np.random.default_rng(4).normal(size=len(data))
    data["y"] += 0.5 * data["s"]
    checked = check_data(data, graph, "y", features=["t", "s"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")

    def failing_for_s(nuisances, z, names, *, feature, alpha):
        if feature == "s":
            raise np.linalg.LinAlgError("singular matrix\nsecond line")
        return heterogeneity_test(nuisances, z, names, feature=feature, alpha=alpha)

    monkeypatch.setattr(curves_module, "heterogeneity_test", failing_for_s)
    result = estimate_curves(checked, effects, seed=0, n_jobs=1)
    assert result.skipped["s"] == "heterogeneity not tested: singular matrix"
    assert set(result.heterogeneity) == {"t"}
    assert result.heterogeneity["t"].varies is True

    # The same when the controls' column names cannot be had (a categorical control whose
    # levels are unknown): that feature's skipped line, not the stage's failure.
    monkeypatch.undo()
    names, calls = curves_module._design_names, []

    def unnamed_second(checked, adjustment):  # the tests are built in feature order: t, s
        calls.append(adjustment)
        if len(calls) == 2:
            raise ValueError("categorical column 'w1' is not coded 0, 1, ...")
        return names(checked, adjustment)

    monkeypatch.setattr(curves_module, "_design_names", unnamed_second)
    result = estimate_curves(checked, effects, seed=0, n_jobs=1)
    message = "heterogeneity not tested: categorical column 'w1' is not coded 0, 1, ..."
    assert result.skipped["s"] == message
    assert set(result.heterogeneity) == {"t"}
