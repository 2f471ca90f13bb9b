"""nuisance="auto" chooses each nuisance model's learner from the data; the re-fitting refuters
then challenge the estimate under that choice, stop when decided, and respect a time budget."""

import numpy as np
import pandas as pd
import pytest

from causalinterp import CausalGraph, check_data, estimate_effects, refute_effects
from causalinterp.estimate._learners import CANDIDATES, select_learner
from causalinterp.refute import sequential


def test_selection_picks_linear_on_a_linear_world_and_records_every_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 4))
    y = x @ [1.0, -0.5, 0.3, 0.0] + rng.normal(size=800)
    chosen = select_learner("outcome", "continuous", x, y, seed=1)
    assert chosen.chosen == "linear"
    assert set(chosen.losses) == set(CANDIDATES) and chosen.metric == "squared error"
    # The noise variance is 1: the linear family's out-of-fold loss is close to it.
    assert chosen.losses["linear"] == pytest.approx(1.0, abs=0.15)
    assert chosen.losses["linear"] <= min(chosen.losses.values()) + chosen.excess_se["linear"]
    assert chosen.to_dict()["chosen"] == "linear" and chosen.rows == 800


def test_selection_picks_boosting_on_a_strongly_nonlinear_world():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(1500, 3))
    y = 3 * np.sin(2 * x[:, 0]) + 2 * (x[:, 1] > 0) * x[:, 2] + 0.5 * rng.normal(size=1500)
    chosen = select_learner("outcome", "continuous", x, y, seed=2)
    assert chosen.chosen in ("flexible", "boosting")
    best = chosen.losses[chosen.chosen]
    # Far better than any line: the linear family's loss is several times the boosted one's.
    assert chosen.losses["linear"] > 2 * best


def test_selection_keeps_a_randomised_treatments_propensity_near_constant():
    # A randomised treatment: no control predicts it; a flexible classifier only fits noise.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 6))
    t = (rng.random(400) < 0.4).astype(float)
    chosen = select_learner("treatment", "binary", x, t, seed=3)
    assert chosen.chosen == "linear" and chosen.metric == "log loss"
    assert chosen.penalty is not None and chosen.penalty <= 0.01  # almost intercept-only


def _randomised(n: int = 300, seed: int = 4):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = (rng.random(n) < 0.5).astype(float)
    y = 2.0 * t + 1.5 * x1 - x2 + 0.5 * x1 * x2 + rng.normal(size=n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y})
    graph = CausalGraph.parse("x1 -> y; x2 -> y; t -> y")
    return check_data(frame, graph, "y", features=["t"]), graph


def test_a_randomised_small_sample_effect_is_challenged_and_survives():
    # 300 rows, a randomised treatment with true effect 2: below 1,000 rows the refuters
    # re-fit the nuisances, with the learners chosen for the data, and the half-sample
    # bootstrap's spread stays within the analytic error: no refuter is evidence against it.
    checked, graph = _randomised()
    effects = estimate_effects(checked, graph, seed=0, n_jobs=1)
    estimate = effects.by_feature["t"].estimate
    assert estimate.ci_low < 2.0 < estimate.ci_high
    assert estimate.learners.name("treatment") == "linear"
    refutations = refute_effects(checked, effects, refute="quick", seed=0, n_jobs=1)
    assert refutations.refit and "below 1000" in refutations.refit_reason
    assert refutations.failed_evidence("t") == ()
    bootstrap = refutations.result("t", "bootstrap")
    assert "re-fitted with the learners chosen for the data (outcome:" in bootstrap.detail


@pytest.fixture(scope="module")
def unstable():
    """An effect carried by four extreme rows: re-fits with and without them disagree far
    beyond the (heteroskedasticity-consistent) analytic standard error."""
    rng = np.random.default_rng(3)
    n = 300
    w = rng.normal(size=n)
    t = 0.5 * w + rng.normal(size=n)
    y = 0.3 * t + w + rng.normal(size=n)
    t[:4] = 7 + rng.normal(size=4)
    y[:4] = 30 + 3 * rng.normal(size=4)
    frame = pd.DataFrame({"w": w, "t": t, "y": y})
    graph = CausalGraph.parse("w -> t; w -> y; t -> y")
    checked = check_data(frame, graph, "y", features=["t"])
    return checked, estimate_effects(checked, graph, seed=0, n_jobs=1)


@pytest.fixture(scope="module")
def early(unstable):
    checked, effects = unstable
    return refute_effects(checked, effects, refute="quick", seed=0, n_jobs=1)


def test_an_unstable_estimate_is_still_fragile(unstable, early):
    _, effects = unstable
    assert effects.by_feature["t"].estimate.learners.name("outcome") == "linear"
    assert early.failed_evidence("t") == ("bootstrap",)
    ratio = float(early.result("t", "bootstrap").detail.split("(ratio ")[-1].split(",")[0])
    assert ratio > 1.5


def test_early_stopping_keeps_the_full_runs_decisions(unstable, early, monkeypatch):
    checked, effects = unstable
    stopped = [r for r in early.by_feature["t"] if r.stop is not None]
    assert stopped and all(r.stop.reason == "decided" and r.simulations == 5 for r in stopped)
    assert all("decided at the interim look" in r.detail for r in stopped)
    # Boundaries no p-value can cross: every refuter runs all its simulations.
    monkeypatch.setattr(sequential, "FUTILITY_P", 1.0)
    monkeypatch.setattr(sequential, "EARLY_FAIL_P", 0.0)
    full = refute_effects(checked, effects, refute="quick", seed=0, n_jobs=1)
    assert all(r.simulations == 10 and r.stop is None for r in full.by_feature["t"])
    assert {r.name: r.passed for r in early.by_feature["t"]} == {
        r.name: r.passed for r in full.by_feature["t"]
    }
    # The first simulations are the same draws in both runs (seeds by index, not by round).
    for a, b in zip(early.by_feature["t"], full.by_feature["t"], strict=True):
        np.testing.assert_array_equal(a.distribution, b.distribution[: a.simulations])


def test_a_time_budget_cuts_refuters_short_and_says_how_many_ran(unstable):
    checked, effects = unstable
    cut = refute_effects(checked, effects, refute="quick", seed=0, n_jobs=1, time_budget=0.01)
    assert cut.time_budget == 0.01 and cut.refit_cost > 0
    results = cut.by_feature["t"]
    assert all(r.simulations == sequential.MIN_SIMULATIONS for r in results)
    budget = [r for r in results if r.stop is not None and r.stop.reason == "time_budget"]
    assert budget, [r.detail for r in results]
    for r in budget:
        assert (r.stop.planned, r.stop.run) == (10, 3)
        assert "cut short by time_budget after 3 of 10 simulations" in r.detail
        assert "1.8 times larger" in r.detail  # sqrt(10 / 3)
