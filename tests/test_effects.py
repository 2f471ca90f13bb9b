"""Estimation adapter and the effects stage, against simulators with known effects.

Every accuracy check asserts ``|estimate - truth| < 4 standard errors``. Estimates are
random; with a calibrated interval one such check fails with probability about 6e-5,
so the file's false-failure rate is far below 1e-3. Seeds are fixed (0 or the
simulator's own) and were not searched for.
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from causalinterp.data import CheckedData
from causalinterp.errors import EstimationError, OptionError
from causalinterp.estimate import EffectStatus, FeatureEffect, Strategy
from causalinterp.estimate import effects as effects_module
from causalinterp.estimate._dowhy import Identification
from causalinterp.estimate._econml import (
    DoublyRobustNuisances,
    EffectEstimate,
    estimate_backdoor,
    estimate_frontdoor,
    estimate_iv,
    fit_backdoor,
)
from causalinterp.estimate._subsample import subsample_rows
from causalinterp.estimate.effects import Effects, estimate_effects
from causalinterp.graph import CausalGraph

N = 3000


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def assert_recovers(est: EffectEstimate, truth: float) -> None:
    assert np.isfinite(est.estimate) and est.stderr > 0
    assert abs(est.estimate - truth) < 4 * est.stderr, (est, truth)
    assert est.ci_low < est.estimate < est.ci_high
    assert est.ci_high - est.ci_low == pytest.approx(2 * 1.959964 * est.stderr, rel=1e-5)
    assert 0.0 <= est.p_value <= 1.0


def checked_data(frame: pd.DataFrame, outcome: str, features, latent=(), kinds=None):
    kinds = dict(kinds or {})
    for col in frame:
        kinds.setdefault(
            col, "binary" if set(np.unique(frame[col])) <= {0.0, 1.0} else "continuous"
        )
    return CheckedData(
        frame=frame.astype(float),
        kinds=kinds,
        outcome=outcome,
        features=tuple(features),
        observed=tuple(frame.columns),
        latent=tuple(latent),
        n_rows=len(frame),
    )


# --------------------------------------------------------------------- simulators


def sim_confounded_continuous(seed: int, n: int = N):
    """W1, W2 confound T -> Y (slope 1.5); W2 acts non-linearly on both."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    t = 0.8 * w[:, 0] + np.sin(1.5 * w[:, 1]) + rng.normal(size=n)
    y = 1.5 * t + 1.2 * w[:, 0] + 0.8 * np.sin(1.5 * w[:, 1]) + rng.normal(size=n)
    return y, t, w, 1.5


def sim_binary_treatment(seed: int, n: int = N):
    """Confounded 0/1 treatment with an effect that varies with W1.

    Truth: mean of Y(1) - Y(0) over the sample, both potential outcomes computed with the
    same noise.
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    t = (rng.random(n) < sigmoid(0.9 * w[:, 0] - 0.5 * w[:, 1])).astype(float)
    noise = rng.normal(size=n)

    def outcome(treat):
        return (1.0 + 0.6 * w[:, 0]) * treat + 1.5 * w[:, 0] + w[:, 1] ** 2 + noise

    y1, y0 = outcome(np.ones(n)), outcome(np.zeros(n))
    y = np.where(t == 1, y1, y0)
    return y, t, w, float(np.mean(y1 - y0))


def sim_binary_outcome(seed: int, n: int = N):
    """Continuous T, 0/1 outcome: effect on the probability scale.

    LinearDML's estimand is E[T~ Y] / E[T~^2] with T~ the treatment residual; with Gaussian
    treatment noise this equals the average derivative dP(Y=1)/dT (Stein's lemma), which we
    compute from the simulated units' structural probabilities.
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    t = 0.7 * w[:, 0] + rng.normal(size=n)

    def prob(treat):
        return sigmoid(-0.3 + 0.6 * treat + 0.8 * w[:, 0] - 0.5 * w[:, 1])

    y = (rng.random(n) < prob(t)).astype(float)
    h = 1e-4
    truth = float(np.mean((prob(t + h) - prob(t - h)) / (2 * h)))
    return y, t, w, truth


def sim_binary_both(seed: int, n: int = N):
    """0/1 treatment and 0/1 outcome; truth from both interventions with the same noise."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    t = (rng.random(n) < sigmoid(w[:, 0])).astype(float)
    u = rng.random(n)

    def outcome(treat):
        return (u < sigmoid(-0.5 + 1.0 * treat + 0.7 * w[:, 0] + 0.7 * w[:, 1])).astype(float)

    y1, y0 = outcome(np.ones(n)), outcome(np.zeros(n))
    y = np.where(t == 1, y1, y0)
    return y, t, w, float(np.mean(y1 - y0))


def ols_slope(y, t, w=None):
    x = np.column_stack([np.ones_like(t), t] + ([] if w is None else [w]))
    return float(np.linalg.lstsq(x, y, rcond=None)[0][1])


# --------------------------------------------------------------------- adapter


def test_continuous_confounded_treatment_recovered_naive_is_biased():
    y, t, w, truth = sim_confounded_continuous(0)
    est = estimate_backdoor(y, t, w, treatment_kind="continuous", outcome_kind="continuous", seed=0)
    assert est.method == "LinearDML"
    assert est.n_rows == N
    assert_recovers(est, truth)
    naive = ols_slope(y, t)
    assert abs(naive - truth) > 20 * est.stderr


def test_binary_treatment_average_effect_of_one_versus_zero():
    y, t, w, truth = sim_binary_treatment(1)
    est = estimate_backdoor(y, t, w, treatment_kind="binary", outcome_kind="continuous", seed=0)
    assert est.method == "LinearDRLearner"
    assert_recovers(est, truth)
    naive = y[t == 1].mean() - y[t == 0].mean()
    assert abs(naive - truth) > 10 * est.stderr


def test_binary_treatment_keeps_the_nuisances_of_its_doubly_robust_fit():
    y, t, w, _ = sim_binary_treatment(1)
    est, kept = fit_backdoor(
        y, t, w, treatment_kind="binary", outcome_kind="continuous", seed=0, nuisance="linear"
    )
    assert isinstance(kept, DoublyRobustNuisances)
    # The estimate is the mean of the scores, its standard error theirs.
    assert kept.scores.mean() == pytest.approx(est.estimate, abs=1e-10)
    assert kept.scores.std(ddof=1) / np.sqrt(len(y)) == pytest.approx(est.stderr, rel=1e-8)
    # A linear outcome model in (w, t) predicts the two arms one coefficient apart within a
    # fold: undoing EconML's correction must give back exactly that, on treated and untreated
    # rows alike.
    gaps = np.unique(np.round(kept.y1 - kept.y0, 8))
    assert len(gaps) == 3  # one per cross-fitting fold
    assert np.all((kept.propensity >= 0.01) & (kept.propensity <= 0.99))
    assert np.array_equal(kept.t, t) and np.array_equal(kept.y, y)


def test_doubly_robust_nuisances_are_recovered_at_the_propensity_bounds():
    # Strong confounding: many propensities are clipped to 0.01 or 0.99, where the recovery
    # divides by the clipped value; the scores must still give the estimate exactly.
    rng = np.random.default_rng(9)
    w = rng.normal(size=(N, 1))
    t = (rng.random(N) < 1 / (1 + np.exp(-6 * w[:, 0]))).astype(float)
    y = t + w[:, 0] + rng.normal(size=N)
    est, kept = fit_backdoor(
        y, t, w, treatment_kind="binary", outcome_kind="continuous", seed=0, nuisance="linear"
    )
    clipped = np.isclose(kept.propensity, 0.01) | np.isclose(kept.propensity, 0.99)
    assert clipped.mean() > 0.2
    assert kept.scores.mean() == pytest.approx(est.estimate, abs=1e-9)
    assert len(np.unique(np.round(kept.y1 - kept.y0, 6))) == 3  # still one gap per fold


def test_binary_outcome_on_probability_scale():
    y, t, w, truth = sim_binary_outcome(2)
    est = estimate_backdoor(y, t, w, treatment_kind="continuous", outcome_kind="binary", seed=0)
    assert_recovers(est, truth)
    assert 0.0 < est.estimate < 0.25  # a change in probability, not in log-odds


def test_binary_treatment_and_binary_outcome():
    y, t, w, truth = sim_binary_both(3)
    est = estimate_backdoor(y, t, w, treatment_kind="binary", outcome_kind="binary", seed=0)
    assert_recovers(est, truth)


@pytest.mark.parametrize("kind", ["continuous", "binary"])
def test_no_controls(kind):
    rng = np.random.default_rng(4)
    t = rng.normal(size=N) if kind == "continuous" else (rng.random(N) < 0.3).astype(float)
    y = 0.7 * t + rng.normal(size=N)
    est = estimate_backdoor(y, t, None, treatment_kind=kind, outcome_kind="continuous", seed=0)
    assert_recovers(est, 0.7)
    assert est.estimate == pytest.approx(ols_slope(y, t), abs=0.5 * est.stderr)


def test_frontdoor_adapter_two_mediators():
    rng = np.random.default_rng(5)
    u = rng.normal(size=N)
    t = u + rng.normal(size=N)
    m1 = 0.8 * t + rng.normal(size=N)
    m2 = -0.5 * t + 0.3 * m1 + 0.7 * rng.normal(size=N)
    y = 1.5 * m1 + 1.0 * m2 + 2.0 * u + rng.normal(size=N)
    truth = 0.8 * 1.5 + (-0.5 + 0.3 * 0.8) * 1.0
    est = estimate_frontdoor(
        y, t, np.column_stack([m1, m2]), None,
        treatment_kind="continuous", outcome_kind="continuous", seed=0, nuisance="linear",
    )  # fmt: skip
    assert est.method == "front-door DML"
    assert_recovers(est, truth)


def test_iv_adapter_binary_instrument():
    rng = np.random.default_rng(6)
    u = rng.normal(size=N)
    z = (rng.random(N) < 0.5).astype(float)
    t = 1.2 * z + u + rng.normal(size=N)
    y = -0.8 * t + 2.0 * u + rng.normal(size=N)
    est = estimate_iv(y, t, z, None, treatment_kind="continuous", outcome_kind="continuous", seed=0)
    assert est.method == "OrthoIV"
    assert_recovers(est, -0.8)
    assert abs(ols_slope(y, t) + 0.8) > 10 * est.stderr


def test_numerical_failures_raise_estimation_error():
    rng = np.random.default_rng(7)
    y = rng.normal(size=200)
    with pytest.raises(EstimationError, match="treatment is constant"):
        estimate_backdoor(
            y, np.ones(200), None, treatment_kind="continuous", outcome_kind="continuous", seed=0
        )
    with pytest.raises(EstimationError, match="not coded 0/1"):
        estimate_backdoor(
            y, rng.normal(size=200), None,
            treatment_kind="continuous", outcome_kind="binary", seed=0,
        )  # fmt: skip
    with pytest.raises(OptionError, match="nuisance"):
        estimate_backdoor(
            y, rng.normal(size=200), None,
            treatment_kind="continuous", outcome_kind="continuous", seed=0, nuisance="forest",
        )  # fmt: skip


def test_adapter_is_silent_and_leaves_global_rng_alone():
    y, t, w, _ = sim_confounded_continuous(8, n=600)
    state = np.random.get_state()[1].copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate_backdoor(y, t, w, treatment_kind="continuous", outcome_kind="continuous", seed=1)
    assert caught == []
    assert np.array_equal(np.random.get_state()[1], state)


def test_a_users_learner_that_does_not_converge_still_warns():
    # The adapter silences the libraries' own noise, not a learner that stopped early: the
    # user's Lasso capped at one iteration says so, and the estimate is still made.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    y, t, w, true = sim_confounded_continuous(8, n=600)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = estimate_backdoor(
            y, t, w, treatment_kind="continuous", outcome_kind="continuous", seed=1,
            nuisance=Lasso(alpha=1e-4, max_iter=1, tol=0.0),
        )  # fmt: skip
    assert any(issubclass(c.category, ConvergenceWarning) for c in caught), caught
    assert not any(issubclass(c.category, DeprecationWarning | FutureWarning) for c in caught)
    assert abs(e.estimate - true) < 4 * e.stderr + 0.1


# --------------------------------------------------------------------- effects stage


def frontdoor_iv_world(seed: int, n: int = N):
    """One data set, several features with known total effects on Y.

    U (latent) confounds T and Y; T -> M -> Y is a front door (effect 0.8 * 1.5 = 1.2).
    U also confounds S and Y; Z instruments S; S -> Y with slope -0.7.
    V (latent) confounds R and Y with no instrument or mediator: not identifiable.
    N0 has no directed path to Y. C confounds X -> Y (back-door; slope 0.5).
    """
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=n), rng.normal(size=n)
    c, z = rng.normal(size=n), rng.normal(size=n)
    t = u + rng.normal(size=n)
    m = 0.8 * t + rng.normal(size=n)
    s = z + u + rng.normal(size=n)
    r = v + rng.normal(size=n)
    x = c + rng.normal(size=n)
    y = 1.5 * m + 2.0 * u - 0.7 * s + 0.4 * r + v + 0.5 * x + c + rng.normal(size=n)
    n0 = y + rng.normal(size=n)  # a descendant of Y: no path from it to Y
    frame = pd.DataFrame({"T": t, "M": m, "S": s, "Z": z, "R": r, "X": x, "C": c, "N0": n0, "Y": y})
    graph = CausalGraph.from_edges(
        [
            ("U", "T"), ("U", "Y"), ("T", "M"), ("M", "Y"),
            ("U", "S"), ("Z", "S"), ("S", "Y"),
            ("V", "R"), ("V", "Y"), ("R", "Y"),
            ("C", "X"), ("C", "Y"), ("X", "Y"), ("Y", "N0"),
        ]
    )  # fmt: skip
    truths = {"T": 1.2, "S": -0.7, "X": 0.5}
    return frame, graph, truths


@pytest.fixture(scope="module")
def world():
    frame, graph, truths = frontdoor_iv_world(11)
    checked = checked_data(frame, "Y", ["T", "S", "R", "X", "N0"], latent=("U", "V"))
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    return checked, graph, truths, effects


def test_effects_strategies_and_estimates(world):
    _, _, truths, effects = world
    assert list(effects.by_feature) == ["T", "S", "R", "X", "N0"]
    assert list(effects.seconds) == list(effects.by_feature)
    # Fitting double ML takes far longer than finding that N0 has no path to Y.
    assert min(effects.seconds[f] for f in ("T", "S", "X")) > effects.seconds["N0"] > 0
    by = effects.by_feature

    assert by["T"].status == "estimated"
    assert by["T"].identification.strategy == "frontdoor"
    assert by["T"].identification.mediators == ("M",)
    assert_recovers(by["T"].estimate, truths["T"])

    assert by["S"].identification.strategy == "iv"
    assert by["S"].identification.instruments == ("Z",)
    assert_recovers(by["S"].estimate, truths["S"])

    assert by["X"].identification.strategy == "backdoor"
    # C is needed; the other observed parents of Y only explain outcome variance.
    assert by["X"].identification.adjustment_set == ("C", "M", "R", "S")
    assert_recovers(by["X"].estimate, truths["X"])


def test_effects_no_path_is_a_structural_zero(world):
    row = world[3].by_feature["N0"]
    assert row.status == "no_path"
    assert row.estimate is None
    assert "no directed path from N0 to Y" in row.message


def test_effects_not_identifiable_names_the_latent(world):
    row = world[3].by_feature["R"]
    assert row.status == "not_identifiable"
    assert row.estimate is None
    assert row.identification.blocking_latents == ("V",)
    assert "V" in row.message and "\n" not in row.message


def test_one_failing_feature_does_not_take_down_the_others():
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=N), rng.normal(size=N)
    y = 0.5 * a - 0.3 * b + rng.normal(size=N)
    frame = pd.DataFrame({"A": a, "B": b, "K": np.zeros(N), "Y": y})
    graph = CausalGraph.from_edges([("A", "Y"), ("B", "Y"), ("K", "Y")])
    checked = checked_data(frame, "Y", ["A", "K", "B"], kinds={"K": "continuous"})
    effects = estimate_effects(checked, graph, seed=3, nuisance="linear")
    by = effects.by_feature
    assert by["K"].status == "error"
    assert "constant" in by["K"].message and "\n" not in by["K"].message
    assert by["A"].status == by["B"].status == "estimated"
    assert_recovers(by["A"].estimate, 0.5)
    assert_recovers(by["B"].estimate, -0.3)


def test_categorical_treatment_is_estimated_per_level_against_the_most_frequent():
    rng = np.random.default_rng(13)
    g = rng.choice([0.0, 1.0, 2.0], size=500, p=[0.3, 0.45, 0.25])
    y = g + rng.normal(size=500)
    frame = pd.DataFrame({"G": g, "Y": y})
    checked = checked_data(frame, "Y", ["G"], kinds={"G": "categorical"})
    effects = estimate_effects(checked, CausalGraph.from_edges([("G", "Y")]), seed=0)
    effect = effects.by_feature["G"]
    assert effect.status == "estimated"
    assert [(lv.level, lv.reference) for lv in effect.levels] == [("0", "1"), ("2", "1")]
    for level in effect.levels:
        assert_recovers(level.estimate, float(level.level) - 1.0)


def _numbers(effects: Effects):
    return {
        f: (e.status, None if e.estimate is None else (e.estimate.estimate, e.estimate.stderr))
        for f, e in effects.by_feature.items()
    }


def test_same_numbers_whatever_n_jobs_or_backend():
    y, t, w, _ = sim_confounded_continuous(14, n=1000)
    rng = np.random.default_rng(15)
    b = (rng.random(1000) < sigmoid(w[:, 0])).astype(float)
    y = y + 0.4 * b
    frame = pd.DataFrame({"T": t, "B": b, "W1": w[:, 0], "W2": w[:, 1], "Y": y})
    graph = CausalGraph.from_edges(
        [("W1", "T"), ("W2", "T"), ("W1", "Y"), ("W2", "Y"), ("T", "Y"), ("W1", "B"), ("B", "Y")]
    )
    checked = checked_data(frame, "Y", ["T", "B"])
    serial = estimate_effects(checked, graph, seed=5, n_jobs=1)
    processes = estimate_effects(checked, graph, seed=5, n_jobs=2, backend="loky")
    threads = estimate_effects(checked, graph, seed=5, n_jobs=2, backend="threading")
    assert _numbers(serial) == _numbers(processes) == _numbers(threads)
    assert all(e.status == "estimated" for e in serial.by_feature.values())
    assert serial.seed == processes.seed == 5


def test_different_seeds_give_different_draws_of_the_same_effect():
    y, t, w, truth = sim_confounded_continuous(16, n=2000)
    frame = pd.DataFrame({"T": t, "W1": w[:, 0], "W2": w[:, 1], "Y": y})
    graph = CausalGraph.from_edges([("W1", "T"), ("W2", "T"), ("W1", "Y"), ("W2", "Y"), ("T", "Y")])
    checked = checked_data(frame, "Y", ["T"])
    a = estimate_effects(checked, graph, seed=0).by_feature["T"].estimate
    b = estimate_effects(checked, graph, seed=1).by_feature["T"].estimate
    assert a.estimate != b.estimate  # other folds and learner seeds
    assert abs(a.estimate - b.estimate) < 2 * a.stderr  # same data: differences are small
    assert_recovers(a, truth)
    again = estimate_effects(checked, graph, seed=0).by_feature["T"].estimate
    assert again == a


def test_task_is_picklable_for_remote_workers():
    checked = checked_data(
        pd.DataFrame({"A": np.arange(100.0) % 7, "Y": np.arange(100.0) % 5}), "Y", ["A"]
    )
    task = effects_module._Task(
        feature="A",
        identification=Identification("backdoor"),
        **effects_module.design_arrays(Identification("backdoor"), checked.frame, "A", "Y"),
        treatment_kind="continuous",
        outcome_kind="continuous",
        seed=1,
        n_folds=3,
        nuisance="linear",
    )
    func, restored = pickle.loads(pickle.dumps((effects_module._run_task, task)))
    effect, seconds = func(restored)
    direct, _ = effects_module._run_task(task)
    assert effect.status == "estimated" and effect == direct  # same numbers after the trip
    assert 0 < seconds < 60


def test_invalid_options_raise():
    frame = pd.DataFrame({"A": [0.0, 1.0] * 30, "Y": np.arange(60.0)})
    checked = checked_data(frame, "Y", ["A"])
    graph = CausalGraph.from_edges([("A", "Y")])
    with pytest.raises(OptionError, match="nuisance: 'forest' is not supported"):
        estimate_effects(checked, graph, nuisance="forest")
    # The option table's one-line messages, as analyze() and the CLI give them.
    with pytest.raises(OptionError, match=r"^n_folds: expected an integer >= 2, got 1; pass e"):
        estimate_effects(checked, graph, n_folds=1)
    with pytest.raises(OptionError, match=r"^time_limit: expected a positive number of seconds"):
        estimate_effects(checked, graph, time_limit=0)
    with pytest.raises(OptionError, match=r"^seed: expected a non-negative integer, got -1"):
        estimate_effects(checked, graph, seed=-1)
    with pytest.raises(OptionError, match=r"^n_jobs: expected a non-zero integer"):
        estimate_effects(checked, graph, n_jobs=0)
    # The adapter, called directly (as the refuters do), checks the folds the same way.
    with pytest.raises(OptionError, match=r"^n_folds: expected an integer >= 2, got 1\b"):
        estimate_backdoor(
            np.arange(60.0), np.arange(60.0) % 7, None,
            treatment_kind="continuous", outcome_kind="continuous", seed=0, n_folds=1,
        )  # fmt: skip


def test_the_report_names_the_nuisance_learners_as_given():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from causalinterp.estimate._econml import describe_nuisance

    assert describe_nuisance("linear") == "linear"
    pair = (LinearRegression(), LogisticRegression(C=2.0))
    assert describe_nuisance(pair) == "LinearRegression(), LogisticRegression(C=2.0)"
    assert describe_nuisance(LinearRegression(fit_intercept=False)) == (
        "LinearRegression(fit_intercept=False)"
    )


def test_the_effects_keep_the_settings_they_were_made_with(world):
    effects = world[3]
    assert (effects.nuisance, effects.n_folds, effects.time_limit, effects.seed) == (
        "linear",
        3,
        600.0,
        0,
    )
    assert effects.nuisance_description == "linear"
    # Back-door fits keep their nuisances for the refuters; other strategies have none.
    assert set(effects.nuisances) == {"X"}
    assert len(effects.nuisances["X"].y_res) == N

    from sklearn.linear_model import LinearRegression, LogisticRegression

    checked, graph = world[0], world[1]
    pair = (LinearRegression(), LogisticRegression(C=2.0))
    custom = estimate_effects(
        checked, graph, seed=0, nuisance=pair, n_folds=4, time_limit=float("inf")
    )
    assert (custom.n_folds, custom.time_limit) == (4, None)  # inf: no limit
    assert custom.nuisance_description == "LinearRegression(), LogisticRegression(C=2.0)"


def test_auto_on_data_large_enough_for_the_subsample_rule_says_it_chose_nothing(world):
    checked, graph = world[0], world[1]
    below = estimate_effects(checked, graph, seed=0, nuisance="auto", n_folds=2)
    assert below.nuisance_description == "auto"
    # With a floor of 100 rows the rule engages on these rows: no choice, flexible learners.
    capped = estimate_effects(checked, graph, seed=0, nuisance="auto", n_folds=2, nuisance_rows=100)
    rows = max(e.estimate.n_rows for e in capped.by_feature.values() if e.estimate is not None)
    fewest = subsample_rows(rows, 2, 100)
    assert capped.nuisance_description == (
        f"auto (on {rows:,} rows each nuisance is fitted on a seeded subsample of its training "
        f"fold, of at least {fewest:,} rows, and where it is, auto fits the flexible learner "
        "without choosing: effect.learners is null there)"
    )
    # A feature with more controls needs more rows for the rule: this data is too small for
    # one of them, so auto chose its learners.
    chosen = [e.estimate.learners for e in capped.by_feature.values() if e.estimate is not None]
    assert None in chosen and any(learners is not None for learners in chosen)


def test_statuses_and_strategies_are_named_values_that_stay_plain_strings(world):
    effects = world[3]
    by = effects.by_feature
    assert [by[f].status for f in ("T", "R", "N0")] == [
        EffectStatus.ESTIMATED,
        EffectStatus.NOT_IDENTIFIABLE,
        EffectStatus.NO_PATH,
    ]
    assert by["N0"].status is EffectStatus.NO_PATH and by["N0"].status == "no_path"
    assert json.dumps([by["T"].status, Strategy.FRONTDOOR]) == '["estimated", "frontdoor"]'
    assert [s for s in Strategy if s.estimable] == ["backdoor", "frontdoor", "iv"]
    assert by["T"].identification.strategy == Strategy.FRONTDOOR


def test_a_feature_effect_refuses_a_status_its_estimate_contradicts(world):
    by = world[3].by_feature
    estimate, ident = by["X"].estimate, by["X"].identification
    # A plain string is converted to the named status.
    assert FeatureEffect("X", ident, estimate, "estimated").status is EffectStatus.ESTIMATED
    with pytest.raises(ValueError, match="'estimatd' is not a valid EffectStatus"):
        FeatureEffect("X", ident, estimate, "estimatd")
    with pytest.raises(ValueError, match=r"^X: status 'error' with an estimate$"):
        FeatureEffect("X", ident, estimate, "error", "failed")
    with pytest.raises(ValueError, match=r"^X: status 'estimated' with no estimate$"):
        FeatureEffect("X", ident, None, EffectStatus.ESTIMATED)


@pytest.mark.parametrize("treatment_kind", ["continuous", "binary"])
def test_econml_cross_fits_on_its_own_folds_with_a_cheap_disjointness_check(
    monkeypatch, treatment_kind
):
    """The adapter hands EconML the splitter EconML builds from ``cv=n_folds`` itself (so the
    same folds and the same estimate, to the last bit), whose indices tell numpy they are
    unique: EconML's disjointness check then sorts rather than hashes every row, and still
    finds folds that overlap."""
    from causalinterp.estimate import _econml, _fitting

    rng = np.random.default_rng(8)
    w = rng.normal(size=(600, 2))
    t = w[:, 0] + rng.normal(size=600)
    if treatment_kind == "binary":
        t = (t > 0).astype(float)
    y = t + w[:, 1] + rng.normal(size=600)
    kinds = {"treatment_kind": treatment_kind, "outcome_kind": "continuous"}
    ours, kept = fit_backdoor(y, t, w, **kinds, seed=4, nuisance="linear")
    monkeypatch.setattr(_econml, "_folds", lambda n_folds, **_: n_folds)  # EconML's own
    theirs, same = fit_backdoor(y, t, w, **kinds, seed=4, nuisance="linear")
    assert ours == theirs
    for name in ("y_res", "t_res") if treatment_kind == "continuous" else ("y0", "y1"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(same, name))

    # A fitted EconML estimator keeps its splitter: it must pickle (back from a worker).
    folds = pickle.loads(pickle.dumps(_fitting._folds(3, stratified=True, seed=4)))
    again = _fitting._folds(3, stratified=True, seed=4)
    for (a, b), (c, d) in zip(folds.split(w, t > 0), again.split(w, t > 0), strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)

    unique = _fitting._UniqueIndices
    folds = np.arange(6).view(unique), np.arange(4, 9).view(unique)
    assert np.intersect1d(*folds).tolist() == [4, 5]
    from econml._ortho_learner import _crossfit

    class Mean:
        def train(self, is_selecting, folds, y):
            self.mean = y.mean()

        def predict(self, y):
            return np.full(len(y), self.mean)

    with pytest.raises(AttributeError, match="not disjoint"):
        _crossfit(Mean(), [folds], False, None, np.arange(9.0))


def test_a_feature_whose_arrays_cannot_be_built_is_its_own_error_row(world, monkeypatch):
    """The arrays are built as the workers take the features (a million-row design matrix
    is 40 MB); a feature whose arrays fail becomes its own ``"error"`` row."""
    checked, graph, truths, _ = world
    build = effects_module.design_arrays

    def failing_for_s(identification, frame, treatment, outcome, **kwargs):
        if treatment == "S":
            raise MemoryError("Unable to allocate 40.0 MiB for an array")
        return build(identification, frame, treatment, outcome, **kwargs)

    monkeypatch.setattr(effects_module, "design_arrays", failing_for_s)
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear", n_jobs=1)
    assert effects.by_feature["S"].status == "error"
    message = "MemoryError: Unable to allocate 40.0 MiB for an array"
    assert effects.by_feature["S"].message == message
    assert effects.by_feature["S"].identification.strategy == "iv"
    for feature in ("T", "X"):
        estimate = effects.by_feature[feature].estimate
        assert abs(estimate.estimate - truths[feature]) < 4 * estimate.stderr
