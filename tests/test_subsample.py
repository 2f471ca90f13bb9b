"""Nuisances on a seeded subsample of large data: the rule engages only above its threshold,
and the estimate stays within the stated error of the fit on every row."""

from __future__ import annotations

import numpy as np
import pytest

from causalinterp import options
from causalinterp.errors import OptionError
from causalinterp.estimate._dowhy import Identification
from causalinterp.estimate._learners import make_classifier, make_regressor
from causalinterp.estimate._subsample import (
    RowCap,
    SubsampledClassifier,
    SubsampledRegressor,
    capped_folds,
    subsample_rows,
    subsampled_nuisance,
)
from causalinterp.estimate.effects import estimate_identified
from causalinterp.estimate.enums import Strategy


def test_the_rule_engages_only_above_its_threshold():
    assert options.defaults()["nuisance_rows"] == 200_000
    assert subsample_rows(150_000, 20, 200_000) is None  # fewer rows than the floor
    assert subsample_rows(1_000_000, 20, 200_000) == 200_000
    # Very large data: 10 x columns x sqrt(rows) takes over from the floor.
    assert subsample_rows(10_000_000, 20, 200_000) == 632_456
    assert subsample_rows(1_000_000, 200, 200_000) is None  # 10 * 200 * 1000 > rows
    assert subsample_rows(10**9, 20, None) is None
    assert subsampled_nuisance("auto", 150_000, 20, 200_000) == "auto"
    capped = subsampled_nuisance("auto", 1_000_000, 20, 200_000)
    assert capped == RowCap("auto", 200_000)
    reg, clf = make_regressor(capped, 0), make_classifier(capped, 0)
    assert isinstance(reg, SubsampledRegressor) and isinstance(clf, SubsampledClassifier)
    assert reg.max_rows == clf.max_rows == 200_000
    with pytest.raises(OptionError, match="nuisance_rows"):
        options.validate({"nuisance_rows": 5})


def test_a_subsampled_learner_fits_on_seeded_rows_and_predicts_on_all():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 2))
    y = (rng.random(5000) < 0.1).astype(float)  # a rare class keeps its share
    capped = subsampled_nuisance("linear", 5000, 3, 100)
    reg, clf = make_regressor(capped, None), make_classifier(capped, None)
    fitted = clf.set_params(random_state=1).fit(x, y)
    assert fitted.n_rows_fitted_ == pytest.approx(reg.max_rows, abs=2)
    assert list(fitted.classes_) == [0.0, 1.0]
    assert fitted.predict_proba(x).shape == (5000, 2)
    again = SubsampledClassifier(clf.estimator, clf.max_rows, random_state=1).fit(x, y)
    np.testing.assert_array_equal(again.predict_proba(x), fitted.predict_proba(x))


def backdoor(n: int, binary: bool, seed: int):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 2))
    if binary:
        t = (rng.random(n) < 1 / (1 + np.exp(-(w[:, 0] - 0.5 * w[:, 1])))).astype(float)
    else:
        t = w[:, 0] - 0.5 * w[:, 1] + rng.normal(size=n)
    y = 0.7 * t + w[:, 0] + 0.8 * w[:, 1] + rng.normal(size=n)
    return y, t, w


@pytest.mark.parametrize(("binary", "nuisance"), [(False, "auto"), (True, "linear")])
def test_the_subsampled_estimate_is_within_the_stated_error_of_the_full_fit(binary, nuisance):
    """8,000 rows, 3 columns, nuisance_rows=100: the rule fits each nuisance on
    10 x 3 x sqrt(8000) = 2,684 of a fold's 5,333 training rows. Under the least-squares rate
    (exact for linear nuisances; boosting on linear confounding stops early, with little to
    fit) the gap to the fit on every row is at most 0.1 s.e. of bias plus a noise of about
    sqrt(3 / 2684) = 0.03 s.e."""
    y, t, w = backdoor(8000, binary, seed=1)
    ident = Identification(strategy=Strategy.BACKDOOR, adjustment_set=("w1", "w2"))
    kinds = {"treatment_kind": "binary" if binary else "continuous",
             "outcome_kind": "continuous", "nuisance": nuisance}  # fmt: skip
    assert subsample_rows(8000, 3, 100) == 2684
    full = estimate_identified(ident, y, t, w=w, **kinds, seed=0, nuisance_rows=None)
    sub = estimate_identified(ident, y, t, w=w, **kinds, seed=0, nuisance_rows=100)
    assert sub.estimate != full.estimate  # the rule engaged
    assert abs(sub.estimate - full.estimate) < 0.25 * full.stderr, (sub, full)
    assert sub.stderr == pytest.approx(full.stderr, rel=0.05)
    assert sub.ci_low < 0.7 < sub.ci_high
    # Below the threshold nothing changes: the same numbers as without the rule.
    same = estimate_identified(ident, y, t, w=w, **kinds, seed=0, nuisance_rows=200_000)
    assert same == full


def test_econml_predicts_every_subsampled_fold_once(monkeypatch):
    """EconML scores each fold's learner on its held-out rows by predicting them again; the
    subsampled learners have no ``score``, so every row is predicted once per nuisance (on a
    million rows the second pass was a fifth of the effects stage)."""
    y, t, w = backdoor(8000, False, seed=1)
    ident = Identification(strategy=Strategy.BACKDOOR, adjustment_set=("w1", "w2"))
    predicted: list[int] = []
    predict = SubsampledRegressor.predict

    def counting(self, X):
        predicted.append(len(X))
        return predict(self, X)

    monkeypatch.setattr(SubsampledRegressor, "predict", counting)
    sub = estimate_identified(ident, y, t, w=w, treatment_kind="continuous",
                              outcome_kind="continuous", nuisance="linear", seed=0,
                              nuisance_rows=100)  # fmt: skip
    assert sum(predicted) == 2 * 8000  # the outcome's and the treatment's, once each
    assert not hasattr(SubsampledRegressor(None, 1), "score")
    assert not hasattr(SubsampledClassifier(None, 1), "score")
    assert sub.ci_low < 0.7 < sub.ci_high


def test_iv_and_front_door_take_the_rule_too():
    rng = np.random.default_rng(2)
    n = 8000
    r, u = rng.normal(size=(2, n))
    z = r + rng.normal(size=n)
    t = z + u + rng.normal(size=n)
    y = t + 2.0 * r + u + rng.normal(size=n)
    ident = Identification(strategy=Strategy.IV, adjustment_set=("r",), instruments=("z",))
    kinds = {"treatment_kind": "continuous", "outcome_kind": "continuous"}
    full = estimate_identified(ident, y, t, w=r[:, None], z=z[:, None], **kinds, seed=0,
                               nuisance="linear", nuisance_rows=None)  # fmt: skip
    sub = estimate_identified(ident, y, t, w=r[:, None], z=z[:, None], **kinds, seed=0,
                              nuisance="linear", nuisance_rows=100)  # fmt: skip
    assert sub.estimate != full.estimate
    assert abs(sub.estimate - full.estimate) < 0.25 * full.stderr, (sub, full)


def _boosting_fit_rows(monkeypatch) -> list[int]:
    """The rows of every gradient-boosting fit from now on (a list that fills up)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    seen: list[int] = []
    fit = HistGradientBoostingRegressor.fit

    def counting(self, X, y, *args, **kwargs):
        seen.append(len(X))
        return fit(self, X, y, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingRegressor, "fit", counting)
    return seen


def test_the_dummy_outcomes_fits_follow_the_rule(monkeypatch):
    # On the fast path the refutation stage fits two more learners per feature (the dummy
    # outcome's systematic part, and the estimator's outcome model cross-fitted to it): on
    # large data both see the rule's subsample, as the effect's own nuisances did.
    import pandas as pd

    from causalinterp.data import check_data
    from causalinterp.estimate import estimate_effects
    from causalinterp.graph import CausalGraph
    from causalinterp.refute import refute_effects

    rng = np.random.default_rng(3)
    n = 3000
    w = rng.normal(size=n)
    t = np.sin(w) + rng.normal(size=n)
    frame = pd.DataFrame({"w": w, "t": t, "y": t + w**2 + rng.normal(size=n)})
    graph = CausalGraph.parse("w -> t; w -> y; t -> y")
    checked = check_data(frame, graph, "y", features=["t"])
    cap = subsample_rows(n, 2, 100)  # the effect's own: the control and the treatment
    assert cap is not None and cap < 2 * n // 3  # the rule engages on these folds
    effects = estimate_effects(checked, graph, seed=0, nuisance="flexible", nuisance_rows=100,
                               n_jobs=1)  # fmt: skip
    seen = _boosting_fit_rows(monkeypatch)
    refutations = refute_effects(checked, effects, refute="quick", refit=False, seed=0, n_jobs=1)
    assert refutations.fast == frozenset({"t"})
    assert seen and max(seen) <= cap, (cap, sorted(set(seen)))
    # Half the rows fill the cap: the dummy's systematic part and the outcome model's
    # cross-fit of it take 2 folds each (capped_folds), every learner on the cap's rows.
    assert capped_folds(n, cap, 3) == 2 and seen == [cap] * 4, (cap, seen)
    assert refutations.result("t", "dummy_outcome").passed


def test_the_dummy_outcomes_systematic_part_takes_two_folds_when_half_the_rows_fill_the_cap(
    monkeypatch,
):
    # With every fold capped at max_rows, a third fold only adds rows its learners do not
    # see: two folds fit two models of max_rows rows each, and every row is still predicted
    # by a model that did not see it.
    from causalinterp.refute.simulation import fit_outcome

    seen = _boosting_fit_rows(monkeypatch)
    rng = np.random.default_rng(4)
    n = 6000
    x = rng.normal(size=(n, 2))
    systematic = np.sin(2 * x[:, 0]) + x[:, 1]
    fitted = fit_outcome(systematic + 0.5 * rng.normal(size=n), x, seed=0, max_rows=3000)
    assert seen == [3000, 3000]
    assert np.corrcoef(fitted, systematic)[0, 1] > 0.95
    seen.clear()
    fit_outcome(systematic, x, seed=0, max_rows=3001)  # half the rows fall short: 3 folds
    assert seen == [3001, 3001, 3001]
    # Out of fold: on pure noise the fit does not follow the noise it was fitted to.
    seen.clear()
    noise = rng.normal(size=n)
    assert abs(np.corrcoef(fit_outcome(noise, x, seed=0, max_rows=1000), noise)[0, 1]) < 0.08
    assert seen == [1000, 1000]


def test_capped_learners_keep_the_family_chosen_for_their_role():
    from causalinterp.estimate._learners import LearnerChoice, Selection

    choice = LearnerChoice(
        (
            Selection(role="outcome", kind="continuous", chosen="linear", metric="squared error"),
            Selection(role="treatment", kind="continuous", chosen="boosting",
                      metric="squared error"),
        )
    )  # fmt: skip
    capped = subsampled_nuisance(choice, 1_000_000, 20, 200_000)
    outcome = make_regressor(capped, 0, "outcome")
    treatment = make_regressor(capped, 0, "treatment")
    assert outcome.max_rows == treatment.max_rows == 200_000
    assert type(treatment.estimator).__name__ == "HistGradientBoostingRegressor"
    assert type(outcome.estimator).__name__ == "_LinearBoostRegressor"
    assert outcome.estimator.boost is False  # the penalised linear family


def test_auto_is_the_flexible_learner_when_the_rule_engages(monkeypatch):
    # A choice made on 5,000 rows may pick a family whose bias is invisible there and several
    # standard errors at a million rows: on data large enough for the rule, "auto" fits the
    # flexible learner (linear plus boosting on its residuals) without choosing.
    from causalinterp.estimate import _learners

    rng = np.random.default_rng(5)
    n = 3000
    w = rng.normal(size=(n, 2))
    t = w[:, 0] + rng.normal(size=n)
    y = 1.5 * t + w[:, 0] + rng.normal(size=n)
    ident = Identification(strategy=Strategy.BACKDOOR, adjustment_set=("a", "b"))
    assert subsample_rows(n, 3, 100) is not None  # the rule engages on these 3,000 rows
    families = []
    make = _learners.make_regressor

    def recording(nuisance, seed, role="outcome"):
        learner = make(nuisance, seed, role)
        if hasattr(learner, "max_rows"):  # the capped learner, not the one inside it
            families.append(learner.estimator.boost)
        return learner

    monkeypatch.setattr(_learners, "make_regressor", recording)
    capped = estimate_identified(ident, y, t, w=w, treatment_kind="continuous",
                                 outcome_kind="continuous", seed=0, nuisance="auto",
                                 nuisance_rows=100)  # fmt: skip
    assert capped.learners is None  # nothing was chosen
    assert families and all(boost is True for boost in families)  # capped, flexible
    assert abs(capped.estimate - 1.5) < 4 * capped.stderr
    small = estimate_identified(ident, y, t, w=w, treatment_kind="continuous",
                                outcome_kind="continuous", seed=0, nuisance="auto")  # fmt: skip
    assert small.learners is not None  # below the rule's size, chosen from the data
