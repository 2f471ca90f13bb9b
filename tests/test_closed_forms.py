"""Closed-form IV and front-door estimators: known true effects, agreement with the EconML
estimators they replace, standard errors and interval coverage."""

from __future__ import annotations

import numpy as np
import pytest

from causalinterp.data import check_data
from causalinterp.errors import EstimationError
from causalinterp.estimate import _econml, closed_forms, estimate_effects
from causalinterp.simulators import conditional_iv_model, frontdoor_model

CONT = {"treatment_kind": "continuous", "outcome_kind": "continuous"}
#: How far apart (in standard errors) two fits of the same estimator with other fold splits
#: and learner seeds may be: linear nuisances barely move, boosted ones by re-fitting noise.
TOLERANCE = {"linear": 0.3, "auto": 1.0}


def iv_arrays(n: int, seed: int):
    d = conditional_iv_model().sample(n, seed=seed)
    return d["y"].to_numpy(), d["t"].to_numpy(), d["z"].to_numpy(), d[["r", "s"]].to_numpy()


def fd_arrays(n: int, seed: int):
    d = frontdoor_model().sample(n, seed=seed)
    return d["y"].to_numpy(), d["t"].to_numpy(), d["m"].to_numpy(), d[["c"]].to_numpy()


def test_simulators_state_their_true_effects():
    assert conditional_iv_model().true_effect("t", "y", n=20_000) == pytest.approx(1.0)
    assert frontdoor_model().true_effect("t", "y", n=20_000) == pytest.approx(1.2)


@pytest.mark.parametrize("nuisance", ["linear", "auto"])
def test_iv_recovers_the_truth_and_agrees_with_orthoiv(nuisance):
    y, t, z, w = iv_arrays(3000, seed=1)
    fast, res = closed_forms.fit_iv(y, t, z, w, **CONT, seed=0, nuisance=nuisance)
    assert fast.ci_low < 1.0 < fast.ci_high, fast
    assert fast.method == closed_forms.IV_METHOD and not fast.first_stage.weak
    # The estimate is the ratio of its residuals' moments.
    assert fast.estimate == pytest.approx(np.sum(res.q * res.y_res) / np.sum(res.q * res.t_res))
    slow = _econml.estimate_iv(y, t, z, w, **CONT, seed=0, nuisance=nuisance)
    # Same estimator, other folds and learner seeds: apart by the re-fitting noise of the
    # nuisances only (a fraction of a standard error; boosted ones vary more between seeds).
    assert abs(fast.estimate - slow.estimate) < TOLERANCE[nuisance] * slow.stderr, (fast, slow)
    assert fast.stderr == pytest.approx(slow.stderr, rel=0.15)


def test_iv_with_two_instruments_uses_the_projected_instrument():
    rng = np.random.default_rng(2)
    n = 3000
    z = rng.normal(size=(n, 2))
    u = rng.normal(size=n)
    t = 0.6 * z[:, 0] + 0.4 * z[:, 1] + u + rng.normal(size=n)
    y = -0.7 * t + 2.0 * u + rng.normal(size=n)
    fast = closed_forms.estimate_iv(y, t, z, None, **CONT, seed=0, nuisance="linear")
    slow = _econml.estimate_iv(y, t, z, None, **CONT, seed=0, nuisance="linear")
    assert fast.ci_low < -0.7 < fast.ci_high, fast
    assert fast.first_stage.n_instruments == 2
    assert abs(fast.estimate - slow.estimate) < 0.5 * slow.stderr, (fast, slow)


def test_iv_binary_treatment_and_instrument():
    rng = np.random.default_rng(3)
    n = 4000
    w = rng.normal(size=n)
    z = (rng.random(n) < 1 / (1 + np.exp(-w))).astype(float)
    u = rng.normal(size=n)
    t = (rng.random(n) < np.clip(0.2 + 0.5 * z + 0.1 * u, 0, 1)).astype(float)
    y = 0.5 * t + w + u + rng.normal(size=n)
    kinds = {"treatment_kind": "binary", "outcome_kind": "continuous"}
    fast = closed_forms.estimate_iv(y, t, z, w, **kinds, seed=0, nuisance="linear")
    slow = _econml.estimate_iv(y, t, z, w, **kinds, seed=0, nuisance="linear")
    assert fast.ci_low < 0.5 < fast.ci_high, fast
    assert abs(fast.estimate - slow.estimate) < 0.5 * slow.stderr, (fast, slow)


@pytest.mark.parametrize("nuisance", ["linear", "auto"])
def test_frontdoor_recovers_the_truth_and_agrees_with_the_two_dml_stages(nuisance):
    y, t, m, w = fd_arrays(3000, seed=4)
    fast, res = closed_forms.fit_frontdoor(y, t, m, w, **CONT, seed=0, nuisance=nuisance)
    assert fast.ci_low < 1.2 < fast.ci_high, fast
    assert fast.method == closed_forms.FRONTDOOR_METHOD
    assert res.m_res.shape == (3000, 1) and res.m_res2.shape == (3000, 1)
    slow = _econml.estimate_frontdoor(y, t, m, w, **CONT, seed=0, nuisance=nuisance)
    assert abs(fast.estimate - slow.estimate) < TOLERANCE[nuisance] * slow.stderr, (fast, slow)
    assert fast.stderr == pytest.approx(slow.stderr, rel=0.15)


def test_interval_coverage_and_standard_errors_over_replications():
    """100 data sets of 500 rows each: the 95% intervals cover the truth about 95% of the
    time (binomial band at 100 draws: [0.89, 0.99]), and the mean standard error matches the
    estimates' spread (200 data sets per estimator: benchmarks/closed_forms.py)."""
    reps = 100
    for arrays, fit, truth in (
        (iv_arrays, closed_forms.estimate_iv, 1.0),
        (fd_arrays, closed_forms.estimate_frontdoor, 1.2),
    ):
        est, se, cover = [], [], 0
        for rep in range(reps):
            e = fit(*arrays(500, seed=100 + rep), **CONT, seed=rep, nuisance="linear")
            est.append(e.estimate)
            se.append(e.stderr)
            cover += e.ci_low <= truth <= e.ci_high
        assert 0.89 <= cover / reps <= 0.99, (fit.__name__, cover / reps)
        assert np.mean(se) / np.std(est) == pytest.approx(1.0, abs=0.2), fit.__name__


def test_estimate_effects_routes_iv_and_front_door_through_the_closed_forms():
    for sim, truth, method in (
        (conditional_iv_model(), 1.0, closed_forms.IV_METHOD),
        (frontdoor_model(), 1.2, closed_forms.FRONTDOOR_METHOD),
    ):
        data = sim.sample(2000, seed=5)
        checked = check_data(data, sim.graph, "y", features=["t"])
        effect = estimate_effects(checked, sim.graph, seed=0, nuisance="linear").by_feature["t"]
        assert effect.estimate.method == method
        assert effect.estimate.ci_low < truth < effect.estimate.ci_high, effect


def test_an_irrelevant_instrument_is_an_estimation_error():
    rng = np.random.default_rng(6)
    z = rng.normal(size=300)
    t, y = rng.normal(size=300), rng.normal(size=300)
    residuals = closed_forms.IVResiduals(y_res=y, t_res=t, q=np.zeros(300))
    with pytest.raises(EstimationError, match="does not move the treatment"):
        closed_forms.iv_ratio(residuals)
    with pytest.raises(EstimationError, match="instrument is constant"):
        closed_forms.estimate_iv(y, t, np.ones(300), None, **CONT, seed=0)
    assert np.isfinite(closed_forms.estimate_iv(y, t, z, None, **CONT, seed=0).stderr)


def test_each_nuisance_gets_the_family_chosen_for_its_role(monkeypatch):
    # nuisance="auto" chooses per target; the closed forms must fit the treatment with the
    # treatment's family and the instrument with the instrument's, not the outcome's.
    from causalinterp.estimate import _learners

    def chose(role, kind, family):
        return _learners.Selection(role=role, kind=kind, chosen=family, metric="squared error")

    choice = _learners.LearnerChoice(
        (
            chose("outcome", "continuous", "linear"),
            chose("treatment", "continuous", "boosting"),
            chose("instrument", "continuous", "flexible"),
        )
    )
    made: dict[str, str] = {}

    def recording(kind, nuisance, seed, role="outcome"):
        learner = _learners.make_learner(kind, nuisance, seed, role)
        made[role] = (type(learner).__name__, getattr(learner, "boost", None))
        return learner

    monkeypatch.setattr(closed_forms, "make_learner", recording)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(600, 2))
    z = w[:, 0] + rng.normal(size=600)
    t = z + np.sin(3 * w[:, 1]) + rng.normal(size=600)
    y = 2 * t + w[:, 0] + rng.normal(size=600)
    closed_forms.fit_iv(y, t, z, w, treatment_kind="continuous", outcome_kind="continuous",
                        seed=0, nuisance=choice)  # fmt: skip
    linear = type(_learners.make_regressor("linear", 0)).__name__
    assert made == {
        "outcome": (linear, False),  # penalised least squares alone
        "treatment": ("HistGradientBoostingRegressor", None),
        "instrument": (linear, True),  # least squares plus boosting on its residuals
    }
