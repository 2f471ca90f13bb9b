"""The fast refuters keep their statistical meaning.

Back-door effects are refuted on the original fit's cross-fitted nuisances instead of
re-fitting every nuisance model (docs/performance.md): LinearDML's residuals for a continuous
treatment, the doubly robust scores' parts for a binary one. Here, for both: under a true
effect and the correct DAG each refuter's raw p-values are close to uniform over independent
data sets; the fast distributions match the re-fitted ones; and a broken estimator is still
caught.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causalinterp.refute as R
from causalinterp.data import check_data
from causalinterp.estimate import _econml
from causalinterp.estimate.effects import estimate_effects
from causalinterp.graph import CausalGraph
from causalinterp.refute import fast

GRAPH = CausalGraph.parse("w -> t; w -> y; t -> y")
#: At 80 data sets a calibrated refuter exceeds the 0.12 rejection bound with probability 0.01.
REPLICATIONS = 80


KINDS = ("continuous", "binary")
#: What the fast path keeps of the original fit, by treatment kind.
KEPT = {"continuous": _econml.BackdoorResiduals, "binary": _econml.DoublyRobustNuisances}


def _data(n: int, seed: int, kind: str = "continuous") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    if kind == "binary":
        t = (rng.random(n) < 1.0 / (1.0 + np.exp(-0.8 * w))).astype(float)
    else:
        t = 0.8 * w + rng.normal(size=n)
    y = 1.0 * t + 1.5 * w + rng.normal(size=n)  # true effect 1, confounded by w
    return pd.DataFrame({"w": w, "t": t, "y": y})


def _refute(frame: pd.DataFrame, seed: int, **options):
    checked = check_data(frame, GRAPH, "y", features=["t"])
    effects = estimate_effects(checked, GRAPH, seed=seed, n_jobs=1, nuisance="linear")
    # The fast path has what it needs: the original fit's own nuisances.
    assert isinstance(effects.nuisances["t"], KEPT[checked.kinds["t"]])
    # The refuters re-fit with the nuisances the effects were estimated with ("linear").
    # refit=False unless a test asks otherwise: these tests are about the fast path, which
    # refit="auto" would leave for samples this small.
    options = {"refute": "quick", "seed": seed, "n_jobs": 1, "refit": False, **options}
    return effects, R.refute_effects(checked, effects, **options)


@pytest.fixture(scope="module", params=KINDS)
def null_p_values(request) -> dict[str, np.ndarray]:
    p_values: dict[str, list[float]] = {name: [] for name in R.REFUTERS}
    for replication in range(REPLICATIONS):
        frame = _data(500, 1000 + replication, request.param)
        _, refutations = _refute(frame, seed=replication)
        for result in refutations.by_feature["t"]:
            p_values[result.name].append(result.p_value)
    return {name: np.array(values) for name, values in p_values.items()}


#: Refuters whose p-value is conservative by construction (docs/refutation.md): the bootstrap
#: combines a centre and a spread test (twice the smaller p-value, capped at 1), the random
#: common cause treats the original as one more draw of the re-estimates.
CONSERVATIVE = ("random_common_cause", "bootstrap")


@pytest.mark.parametrize("refuter", R.REFUTERS)
def test_fast_refuter_p_values_are_calibrated_under_a_true_null(null_p_values, refuter):
    """Rejection rate at 5% within [0, 0.12]; p-values uniform (KS p > 0.01), or for the
    conservative refuters no smaller than uniform (one-sided KS p > 0.01)."""
    p = null_p_values[refuter]
    assert len(p) == REPLICATIONS and np.all(np.isfinite(p))
    assert np.mean(p < 0.05) <= 0.12, sorted(p)[:6]
    if refuter in CONSERVATIVE:
        # H1 "greater": the p-values' distribution function lies above the uniform one,
        # i.e. the refuter rejects sound effects too often.
        assert stats.kstest(p, "uniform", alternative="greater").pvalue > 0.01
    else:
        assert stats.kstest(p, "uniform").pvalue > 0.01, np.round(np.sort(p), 3)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_distributions_match_refits(kind):
    """Each fast distribution has the centre and spread of the re-fitted one."""
    frame = _data(1500, 7, kind)
    effects, fast = _refute(frame, seed=3)
    _, refit = _refute(frame, seed=3, refit=True)
    se = effects.by_feature["t"].estimate.stderr
    for quick, slow in zip(fast.by_feature["t"], refit.by_feature["t"], strict=True):
        assert quick.name == slow.name
        assert abs(quick.distribution.mean() - slow.distribution.mean()) < 1.5 * se, quick.name
        if quick.name in ("placebo_treatment", "data_subset", "bootstrap", "dummy_outcome"):
            ratio = quick.distribution.std(ddof=1) / slow.distribution.std(ddof=1)
            assert 0.4 < ratio < 2.5, (quick.name, ratio)
        assert quick.passed and slow.passed, (quick.name, quick.detail, slow.detail)


@pytest.mark.parametrize("kind", KINDS)
def test_fast_dummy_outcome_still_catches_a_misspecified_estimator(kind):
    """Confounding through w² with linear nuisances: the fast dummy outcome fails it."""
    rng = np.random.default_rng(5)
    n = 1500
    w = rng.normal(size=n)
    if kind == "binary":
        t = (rng.random(n) < 1.0 / (1.0 + np.exp(-(w**2 - 1.0)))).astype(float)
    else:
        t = w**2 + rng.normal(size=n)
    y = t + 2.0 * w**2 + rng.normal(size=n)
    _, refutations = _refute(pd.DataFrame({"w": w, "t": t, "y": y}), seed=0)
    results = {r.name: r for r in refutations.by_feature["t"]}
    assert not results["dummy_outcome"].passed
    assert results["dummy_outcome"].distribution.mean() > 0.2  # clearly away from 0
    assert results["placebo_treatment"].passed


@pytest.mark.parametrize("kind", KINDS)
def test_fast_placebo_spread_is_its_exact_permutation_spread(kind):
    """The placebo test's yardstick is the permutation distribution's own spread, known in
    closed form on the fast path; many simulated permutations agree with it."""
    frame = _data(600, 12, kind)
    frame["y"] += np.random.default_rng(0).standard_t(3, size=len(frame))  # heavy tails
    checked = check_data(frame, GRAPH, "y", features=["t"])
    effects = estimate_effects(checked, GRAPH, seed=0, n_jobs=1, nuisance="linear")
    kept = effects.nuisances["t"]
    if kind == "binary":
        outcome_mean = _econml.cross_fitted(
            frame["y"].to_numpy(),
            frame[["w"]].to_numpy(),
            kind="continuous",
            seed=0,
            nuisance="linear",  # as the refuter's, up to its fold split
        )
        stage = fast.DoublyRobustStage(kept, outcome_mean)
    else:
        stage = fast.PartiallyLinearStage(kept.y_res, kept.t_res)
    t = frame["t"].to_numpy()
    rng = np.random.default_rng(1)
    draws = np.array([stage.placebo(t[rng.permutation(len(t))])[0] for _ in range(4000)])
    assert abs(draws.mean()) < 4 * draws.std() / np.sqrt(len(draws))  # centred on 0
    assert np.std(draws) == pytest.approx(stage.placebo_sd(t), rel=0.05)
    # The refuter's own test uses it: its standard error is that spread over sqrt(B).
    _, refutations = _refute(frame, seed=0)
    placebo = refutations.result("t", R.RefuterName.PLACEBO_TREATMENT)
    # (The refuter cross-fits its outcome model with folds of its own: equal to 1%.)
    sem = float(re.search(r"\(s\.e\. ([0-9.e+-]+),", placebo.detail).group(1))
    assert sem == pytest.approx(stage.placebo_sd(t) / np.sqrt(placebo.simulations), rel=0.01)


def test_fast_dummy_outcome_model_is_fitted_as_a_refit_fits_it(monkeypatch):
    """The estimator's outcome model is fitted once per feature to one dummy outcome, its
    noise included, as every re-fit sees it. Fitted to the noise-free systematic part, its
    boosting never stopped early (all 100 trees on a million rows, the dearest fit of the
    stage) and learnt that part more closely than any re-fit can."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    frame = _data(1500, 11)
    checked = check_data(frame, GRAPH, "y", features=["t"])
    effects = estimate_effects(checked, GRAPH, seed=0, n_jobs=1, nuisance="flexible")
    targets: list[np.ndarray] = []
    trees: list[tuple[int, int]] = []
    crossfit, boost = fast.crossfit_task, HistGradientBoostingRegressor.fit

    def counting(self, *args, **kwargs):
        fitted = boost(self, *args, **kwargs)
        trees.append((fitted.n_iter_, fitted.max_iter))
        return fitted

    def recording(args):
        targets.append(args[0])
        with monkeypatch.context() as inside:
            inside.setattr(HistGradientBoostingRegressor, "fit", counting)
            return crossfit(args)

    monkeypatch.setattr(fast, "crossfit_task", recording)
    refutations = R.refute_effects(
        checked, effects, refute="quick", seed=0, n_jobs=1, refit=False
    )
    assert len(targets) == 1 and len(trees) == 3  # one dummy outcome, one fit per fold
    # The dummy carries the outcome's noise: its spread is the outcome's without the effect.
    base = frame["y"] - effects.by_feature["t"].estimate.estimate * frame["t"]
    assert np.std(targets[0]) == pytest.approx(np.std(base), rel=0.1)
    assert all(used < most for used, most in trees), trees  # every fold stopped early
    assert refutations.result("t", R.RefuterName.DUMMY_OUTCOME).passed
