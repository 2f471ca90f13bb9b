"""Refuters say what they detect; fast-path refuters that can fail only by chance are
calibration checks; the rule that decides when the nuisances must be re-fitted."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from causalinterp.data import check_data
from causalinterp.estimate import estimate_effects
from causalinterp.graph import CausalGraph
from causalinterp.refute.auto import REFIT_BELOW, refit_decision
from causalinterp.refute.names import RefuterName
from causalinterp.refute.roles import DETECTS, role, role_json, took_fast_path


def test_every_refuter_states_what_it_detects_and_its_role_per_path():
    assert set(DETECTS) == set(RefuterName)
    fast = {name: role(name, fast=True) for name in RefuterName}
    assert fast == {
        "placebo_treatment": "calibration",
        "random_common_cause": "calibration",
        "data_subset": "calibration",
        "bootstrap": "calibration",
        "dummy_outcome": "evidence",
    }
    assert {role(name, fast=False) for name in RefuterName} == {"evidence"}


def test_fast_backdoor_rows_are_calibration_and_refitted_iv_rows_evidence():
    unrecorded = SimpleNamespace(refit=False)
    a = role_json("bootstrap", fast=took_fast_path(unrecorded, "a", "backdoor"))
    b = role_json("bootstrap", fast=took_fast_path(unrecorded, "b", "iv"))
    assert (a["path"], a["role"]) == ("fast", "calibration")
    assert (b["path"], b["role"]) == ("refit", "evidence")  # IV effects are always re-fitted
    assert "standard error" in a["detects"]
    # The stage's own record wins over the inference.
    recorded = SimpleNamespace(refit=False, fast=frozenset({"b"}))
    assert not took_fast_path(recorded, "a", "backdoor")
    assert took_fast_path(recorded, "b", "iv")


def test_small_samples_refit_and_a_sound_large_sample_does_not():
    rng = np.random.default_rng(0)
    n = 4000
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    y = x + t + rng.normal(size=n)
    data = pd.DataFrame({"x": x, "t": t, "y": y})
    graph = CausalGraph.parse("x -> t; x -> y; t -> y")

    small = check_data(data.iloc[: REFIT_BELOW - 1], graph, "y", features=["t"])
    decision = refit_decision(small, None)
    assert decision.refit and f"below {REFIT_BELOW}" in decision.reason

    checked = check_data(data, graph, "y", features=["t", "x"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    decision = refit_decision(checked, effects, seed=0)
    # Correct linear nuisances and standard errors: half-sample spreads near 1 SE.
    assert not decision.refit, decision
    assert set(decision.ratios) == {"t", "x"}
    assert all(0.3 < r < 2.0 for r in decision.ratios.values())


def test_refitted_refuters_re_estimate_the_same_estimand():
    # ATT about 1.35 and ATE 1.0 are about 6 standard errors apart here: refits of the ATE
    # against an ATT original would fail the subset and bootstrap refuters.
    from causalinterp.refute import refute_effects

    rng = np.random.default_rng(7)
    n = 2000
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-0.8 * x))).astype(int)
    y = 0.5 * x + t * (1 + x) + rng.normal(size=n)
    data = pd.DataFrame({"x": x, "t": t, "y": y})
    graph = CausalGraph.parse("x -> t; x -> y; t -> y")
    checked = check_data(data, graph, "y", features=["t"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear", estimand="att")
    refutations = refute_effects(checked, effects, refute="quick", refit=True, seed=0)
    results = {r.name: r for r in refutations.by_feature["t"]}
    original = effects.by_feature["t"].estimate.estimate
    subset = results["data_subset"]
    assert abs(float(np.mean(subset.distribution)) - original) < 0.1, subset.detail
    assert subset.passed and results["bootstrap"].passed


def _world(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    y = x + t + rng.normal(size=n)
    return pd.DataFrame({"x": x, "t": t, "y": y}), CausalGraph.parse("x -> t; x -> y; t -> y")


def test_auto_refit_re_fits_small_samples_and_records_why():
    from causalinterp.refute import refute_effects

    data, graph = _world(600)
    checked = check_data(data, graph, "y", features=["t"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    auto = refute_effects(checked, effects, refute="quick", seed=0)  # refit unset: auto
    assert (auto.refit, auto.refit_auto) == (True, True)
    assert "600 rows, below 1000" in auto.refit_reason
    assert auto.fast == frozenset()  # nothing held fixed
    assert auto.result("t", "bootstrap").detail.startswith("mean half-sample estimate")
    given = refute_effects(checked, effects, refute="quick", seed=0, refit=False)
    assert (given.refit, given.refit_auto, given.fast) == (False, False, frozenset({"t"}))
    assert given.refit_reason == "refit=False was given"


def test_auto_without_refit_gives_exactly_the_fast_path_numbers():
    # The probe draws its seed without spawning from the refutation seed: when it decides
    # not to re-fit, every refuter's numbers equal those of refit=False.
    from causalinterp.refute import refute_effects

    data, graph = _world(1500, seed=1)
    checked = check_data(data, graph, "y", features=["t", "x"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    auto = refute_effects(checked, effects, refute="quick", seed=3)
    fixed = refute_effects(checked, effects, refute="quick", seed=3, refit=False)
    assert (auto.refit, auto.refit_auto) == (False, True), auto.refit_reason
    assert set(auto.refit_ratios) == {"t", "x"}
    for feature in ("t", "x"):
        for a, b in zip(auto.by_feature[feature], fixed.by_feature[feature], strict=True):
            np.testing.assert_array_equal(a.distribution, b.distribution)
            assert a.p_value == b.p_value


def test_probe_catches_a_standard_error_that_misses_noise():
    # A standard error a fifth of the real one: half-sample re-fits spread about 5 times it.
    from dataclasses import replace

    data, graph = _world(2000, seed=2)
    checked = check_data(data, graph, "y", features=["t"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    sound = refit_decision(checked, effects, seed=0)
    assert not sound.refit and sound.ratios["t"] < 2.0
    effect = effects.by_feature["t"]
    shrunk = replace(effect, estimate=replace(effect.estimate, stderr=effect.estimate.stderr / 5))
    bad = replace(effects, by_feature={"t": shrunk})
    decision = refit_decision(checked, bad, seed=0)
    assert decision.refit and decision.ratios["t"] > 2.0
    assert "'t'" in decision.reason and "material" in decision.reason


def test_a_failed_calibration_check_alone_does_not_make_an_effect_fragile():
    from dataclasses import replace

    from causalinterp.attribute import attribute_model
    from causalinterp.refute import refute_effects
    from causalinterp.verdicts import judge

    data, graph = _world(1200, seed=4)
    checked = check_data(data, graph, "y", features=["t", "x"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    attributions = attribute_model(None, data, checked, model_seed=0, seed=0, max_shap_rows=200)
    sound = refute_effects(checked, effects, refute="quick", seed=0, refit=False)
    assert sound.failed("t") == ()

    def failing(refutations, name):
        rows = tuple(
            replace(r, passed=False) if r.name == name else r for r in refutations.by_feature["t"]
        )
        return replace(refutations, by_feature={**refutations.by_feature, "t": rows})

    fast_bootstrap = failing(sound, "bootstrap")  # on the fast path: a calibration check
    assert fast_bootstrap.failed("t") == ("bootstrap",)
    assert fast_bootstrap.failed_evidence("t") == ()
    verdict = judge(effects, attributions, graph, checked, fast_bootstrap)["t"]
    assert verdict.verdict != "fragile"
    assert any("calibration check(s) 'bootstrap'" in r for r in verdict.reasons)

    refitted_bootstrap = replace(fast_bootstrap, refit=True, fast=frozenset())  # evidence
    assert judge(effects, attributions, graph, checked, refitted_bootstrap)["t"].verdict == (
        "fragile"
    )
    fast_dummy = failing(sound, "dummy_outcome")  # evidence even on the fast path
    assert judge(effects, attributions, graph, checked, fast_dummy)["t"].verdict == "fragile"


def test_a_probe_whose_fits_all_failed_is_not_reported_as_within_the_ratio(monkeypatch):
    import math

    from causalinterp.refute import auto

    data, graph = _world(1200, seed=4)
    checked = check_data(data, graph, "y", features=["t"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    monkeypatch.setattr(auto, "_probe_task", lambda args: math.nan)  # every fit failed
    decision = refit_decision(checked, effects, seed=0, n_jobs=1)
    assert decision.probe_failed == ("t",) and decision.ratios == {}
    assert "within" not in decision.reason
    assert "failed for 't'" in decision.reason and "not measured" in decision.reason
    assert not decision.refit and "fast path" in decision.reason
