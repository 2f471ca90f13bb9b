"""Verdict rules and structural reasons, on hand-built stage results with known answers."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from causalinterp.attribute.attributions import Attributions, FeatureAttribution
from causalinterp.data import CheckedData
from causalinterp.errors import OptionError
from causalinterp.estimate._dowhy import Identification
from causalinterp.estimate._econml import EffectEstimate
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.graph import CausalGraph
from causalinterp.refute import RefutationResult, Refutations
from causalinterp.verdicts import (
    FeatureVerdict,
    Verdict,
    advise,
    compare,
    contradiction,
    judge,
)

# z confounds x; m mediates x; l is a consequence of y; p is a proxy of z; u is latent.
GRAPH = CausalGraph.from_edges(
    [
        ("z", "x"),
        ("z", "y"),
        ("x", "m"),
        ("m", "y"),
        ("x", "y"),
        ("y", "l"),
        ("z", "p"),
        ("u", "c"),
        ("u", "y"),
        ("c", "y"),
    ]
)
FEATURES = ("x", "m", "l", "p", "c")


def checked(features=FEATURES):
    observed = tuple(sorted(set(GRAPH.nodes) - {"u"}))
    return CheckedData(
        frame=pd.DataFrame({n: [0.0, 1.0] for n in observed}),
        kinds=dict.fromkeys(observed, "continuous"),
        outcome="y",
        features=features,
        observed=observed,
        latent=("u",),
        n_rows=2,
    )


def estimated(feature, estimate, low, high, p=0.001):
    return FeatureEffect(
        feature,
        Identification("backdoor", adjustment_set=("z",)),
        EffectEstimate(estimate, (high - low) / 3.92, low, high, p, "LinearDML", 1000),
        "estimated",
    )


def effects(**by_feature):
    defaults = {
        "x": estimated("x", 1.0, 0.8, 1.2),
        "m": estimated("m", 0.5, 0.4, 0.6),
        "l": FeatureEffect("l", Identification("no_path"), None, "no_path"),
        "p": FeatureEffect("p", Identification("no_path"), None, "no_path"),
        "c": FeatureEffect(
            "c", Identification("none", blocking_latents=("u",)), None, "not_identifiable"
        ),
    }
    defaults.update(by_feature)
    return Effects(by_feature=defaults, seed=0)


def attributions(slopes=None, shares=None):
    slopes = {"x": 1.0, "m": 0.5, "l": 0.3, "p": 0.2, "c": 0.1, **(slopes or {})}
    shares = {"x": 0.3, "m": 0.2, "l": 0.3, "p": 0.1, "c": 0.1, **(shares or {})}
    ranked = sorted(FEATURES, key=lambda f: -shares[f])
    return Attributions(
        by_feature={
            f: FeatureAttribution(f, shares[f], slopes[f], ranked.index(f) + 1) for f in FEATURES
        },
        shap_values=pd.DataFrame(),
        feature_values=pd.DataFrame(),
        explainer="tree",
        scale="outcome",
        rows_explained=0,
        rows_total=0,
    )


def verdict_of(feature, effect=None, slope=None, refutations=None, **kwargs):
    fx = effects(**({feature: effect} if effect else {}))
    attr = attributions({feature: slope} if slope is not None else None)
    return judge(fx, attr, GRAPH, checked(), refutations, **kwargs)[feature]


@pytest.mark.parametrize(
    ("estimate", "low", "high", "slope", "verdict", "support"),
    [
        # The one rule: within 1/1.5-1.5x of the estimate 1.0 AND |slope - 1| within
        # 1.96 x the combined s.e. (0.102 here: margin 0.2).
        (1.0, 0.8, 1.2, 1.0, "supported", True),
        (1.0, 0.8, 1.2, 0.85, "supported", True),  # 0.85x, difference 0.15 <= 0.2
        (1.0, 0.8, 1.2, 0.7, "under_attributed", True),  # 0.7x: in tolerance, 0.3 > 0.2
        (1.0, 0.8, 1.2, 0.6, "under_attributed", True),  # 0.6x < 1/1.5 (was "supported")
        (1.0, 0.8, 1.2, 1.3, "over_attributed", True),  # 1.3x: in tolerance, 0.3 > 0.2
        (1.0, 0.8, 1.2, 1.6, "over_attributed", True),  # 1.6x > 1.5 (below 1.2 x 1.5)
        (1.0, 0.8, 1.2, 1.9, "over_attributed", True),
        (1.0, 0.8, 1.2, -0.5, "sign_conflict", False),
        (1.0, 0.8, 1.2, -0.05, "under_attributed", True),  # |slope| < 10% of the effect: no sign
        (-1.0, -1.2, -0.8, -1.0, "supported", True),
        (-1.0, -1.2, -0.8, 0.5, "sign_conflict", False),
        (0.1, -0.1, 0.3, 5.0, "no_detectable_effect", False),
        # No verdict from an undefined slope: the data cannot tell.
        (1.0, 0.8, 1.2, np.nan, "inconclusive", None),
    ],
)
def test_rules_for_estimated_effects(estimate, low, high, slope, verdict, support):
    effect = estimated("x", estimate, low, high, p=0.001 if low * high > 0 else 0.4)
    result = judge(effects(x=effect), attributions({"x": slope}), GRAPH, checked())["x"]
    assert (result.verdict, result.causal_support) == (verdict, support)
    assert result.verdict is Verdict(verdict)
    assert contradiction(result, effect) == ""  # judge's rows never contradict themselves


def test_the_attribution_factor_is_an_option():
    strict = verdict_of("x", estimated("x", 1.0, 0.8, 1.2), 0.6, attribution_factor=1.1)
    assert strict.verdict == "under_attributed"


def test_no_path_consequence_of_the_outcome_is_flagged_with_its_reason():
    result = verdict_of("l")
    assert (result.verdict, result.causal_support, result.flagged) == (
        "no_causal_path",
        False,
        True,
    )
    assert any("consequence of the outcome 'y'" in r for r in result.reasons)


def test_proxy_of_a_missing_confounder_names_it():
    result = verdict_of("p")
    assert result.verdict == "no_causal_path" and result.flagged
    assert any("confounder(s) 'z'" in r and "proxy" in r for r in result.reasons)


def test_mediator_beside_its_cause_is_named():
    result = verdict_of("x")
    assert any("mediator(s) 'm'" in r and "direct effect" in r for r in result.reasons)
    assert any("confounder(s) 'z'" in r for r in result.reasons)


def test_not_identifiable_names_the_latent_confounder_and_has_no_support():
    result = verdict_of("c")
    assert (result.verdict, result.causal_support) == ("not_identifiable", None)
    assert "latent confounder(s) 'u' block it" in result.reasons[0]
    assert result.flagged  # share 0.1 >= 0.05 and support is not true


def test_immaterial_attributions_are_not_flagged():
    fx, attr = effects(), attributions(shares={"l": 0.01})
    assert not judge(fx, attr, GRAPH, checked())["l"].flagged
    assert judge(fx, attr, GRAPH, checked(), material_share=0.001)["l"].flagged


def test_error_rows_keep_their_message():
    failed = FeatureEffect("x", Identification("backdoor"), None, "error", "singular design")
    result = verdict_of("x", failed)
    assert (result.verdict, result.causal_support) == ("error", None)
    assert result.reasons[0] == "estimation failed: singular design"


def test_a_failed_refutation_makes_the_verdict_fragile_and_names_the_refuter():
    def result(name, passed):
        return RefutationResult(name, "x", 1.0, np.zeros(20), 0.5, 0.5 if passed else 0.001, passed)

    refutations = Refutations(
        by_feature={"x": (result("placebo_treatment", False), result("bootstrap", True))},
        sensitivity={},
        depth="standard",
    )
    fragile = verdict_of("x", refutations=refutations)
    assert (fragile.verdict, fragile.causal_support) == ("fragile", None)
    assert "'placebo_treatment'" in fragile.reasons[0] and "bootstrap" not in fragile.reasons[0]
    assert verdict_of("m", refutations=refutations).verdict == "supported"


def test_verdicts_are_one_named_list_in_report_order_and_stay_plain_strings():
    assert list(Verdict) == [
        "supported",
        "over_attributed",
        "under_attributed",
        "sign_conflict",
        "fragile",
        "limited_overlap",
        "inconclusive",
        "no_detectable_effect",
        "no_causal_path",
        "not_identifiable",
        "error",
    ]
    assert [v.label for v in Verdict][:4] == [
        "supported",
        "over-attributed",
        "under-attributed",
        "sign conflict",
    ]
    assert {v: v.causal_support for v in Verdict if v.causal_support is not False} == {
        "supported": True,
        "over_attributed": True,
        "under_attributed": True,
        "fragile": None,
        "limited_overlap": None,
        "inconclusive": None,
        "not_identifiable": None,
        "error": None,
    }
    result = verdict_of("l")
    assert json.dumps({result.verdict: result.verdict}) == '{"no_causal_path": "no_causal_path"}'
    assert f"{result.verdict}" == "no_causal_path"


def test_a_verdict_row_refuses_to_contradict_itself():
    assert FeatureVerdict("x", True, "supported", (), False).verdict is Verdict.SUPPORTED
    with pytest.raises(ValueError, match=r"'supportd' is not a valid Verdict"):
        FeatureVerdict("x", True, "supportd", (), False)
    with pytest.raises(
        ValueError, match=r"^x: verdict 'fragile' has causal_support None, not True"
    ):
        FeatureVerdict("x", True, "fragile", (), True)
    with pytest.raises(ValueError, match=r"^x: flagged although it has causal support$"):
        FeatureVerdict("x", True, "over_attributed", (), True)


def test_contradiction_names_a_verdict_its_effect_does_not_allow():
    # A p-value of 0.23 (CI across zero) cannot carry a sign conflict.
    weak = estimated("x", -0.0008, -0.0021, 0.0005, p=0.23)
    conflict = FeatureVerdict("x", False, "sign_conflict", ("r",), True)
    assert contradiction(conflict, weak) == (
        "x: verdict 'sign_conflict' needs an effect whose 95% CI excludes zero (p = 0.23)"
    )
    # Nor can an interval that excludes zero with p = 0.23.
    odd = estimated("x", 1.0, 0.8, 1.2, p=0.23)
    assert "needs an effect whose 95% CI excludes zero" in contradiction(conflict, odd)
    assert contradiction(conflict, estimated("x", 1.0, 0.8, 1.2)) == ""
    nothing = FeatureVerdict("x", False, "no_detectable_effect", ("r",), True)
    assert contradiction(nothing, weak) == ""
    assert contradiction(nothing, estimated("x", 1.0, 0.8, 1.2)) == (
        "x: verdict 'no_detectable_effect' but the effect's 95% CI excludes zero"
    )
    no_path = FeatureEffect("x", Identification("no_path"), None, "no_path")
    assert contradiction(conflict, no_path) == (
        "x: verdict 'sign_conflict' on an effect with status 'no_path'"
    )
    assert contradiction(FeatureVerdict("x", False, "no_causal_path", (), True), no_path) == ""
    assert contradiction(FeatureVerdict("x", None, "error", (), False), None) == ""
    assert contradiction(conflict, None) == "x: verdict 'sign_conflict' but no effect"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("material_share", 1.5, r"^material_share: expected a number in \[0, 1\], got 1\.5; "),
        ("material_share", "5%", r"^material_share: expected a number in \[0, 1\], got '5%'"),
        ("attribution_factor", 0.5, r"^attribution_factor: expected a number >= 1, got 0\.5; "),
    ],
)
def test_thresholds_are_checked_by_the_option_table(option, value, message):
    with pytest.raises(OptionError, match=message):
        judge(effects(), attributions(), GRAPH, checked(), **{option: value})


# ------------------------------------------------------------ reason summary and action


def test_each_structure_gets_its_reason_summary_and_action():
    leak, proxy, latent = verdict_of("l"), verdict_of("p"), verdict_of("c")
    assert leak.reason_summary == "no causal path to y; leakage: a consequence of y"
    assert leak.action == "Drop l from the model: it is a consequence of y and leaks it."
    assert proxy.reason_summary == "no causal path to y; proxy of z"
    assert proxy.action.startswith("Add z to the model and do not act on p to change y")
    # l, a consequence of y, is in the model: conditioning on it opens c <- u -> y -> l.
    assert latent.reason_summary == "effect not identifiable (latent u); collider bias through l"
    assert latent.action.startswith("Do not act on c to change y; collect u")


def test_a_mediator_hiding_a_large_effect_says_to_act_on_the_cause():
    # x's total effect is 1; with its mediator m in the model its slope is 0.05: no sign.
    hidden = verdict_of("x", slope=0.05)
    assert (hidden.verdict, hidden.flagged) == ("under_attributed", False)
    assert hidden.reason_summary.startswith(
        "model slope 0.05 is 0.05x the effect 1 [0.8, 1.2]; tolerance 1/1.5–1.5x: below it; "
    )
    assert hidden.action.startswith("Act on x itself, not on m: its effect on y runs through it")


def test_nothing_to_do_about_a_supported_or_an_immaterial_row():
    assert verdict_of("m").verdict == "supported" and verdict_of("m").action is None
    # The proxy below the material share is not flagged: no action, but still its reason.
    quiet = judge(effects(), attributions(shares={"p": 0.001}), GRAPH, checked())["p"]
    assert not quiet.flagged and quiet.action is None
    assert quiet.reason_summary == "no causal path to y; proxy of z"
    # A leak is worth dropping however small its attribution.
    small_leak = judge(effects(), attributions(shares={"l": 0.001}), GRAPH, checked())["l"]
    assert not small_leak.flagged and small_leak.action.startswith("Drop l")


@pytest.mark.parametrize(
    ("verdict", "flagged", "start"),
    [
        ("sign_conflict", True, "Do not act on t as the model suggests"),
        ("fragile", True, "Do not act on t until its effect survives the refuters"),
        ("no_detectable_effect", True, "Do not act on t to change y: no causal effect"),
        ("no_causal_path", True, "Do not act on t to change y: the DAG gives it no effect"),
        ("over_attributed", False, "Do not expect changing t to move y as much"),
        ("under_attributed", False, "Do not judge t by its attribution"),
        ("error", False, "Fix the estimation error for t"),
        ("supported", False, None),
        ("no_causal_path", False, None),
    ],
)
def test_actions_without_a_structural_reason(verdict, flagged, start):
    summary, action = advise("t", verdict, "y", None, flagged=flagged)
    assert summary and ";" not in summary  # the verdict's ground only
    assert (action or None) is None if start is None else action.startswith(start)


# ------------------------------------------------------------------------ the one rule


def test_the_reason_states_both_numbers_the_ratio_and_the_rule():
    # The interest-rate case: a slope at 0.56x the estimate lies inside the interval's far
    # end x 1.5 (the old rule said "supported"); the one rule reads the estimate.
    verdict, reason = compare(0.0215, 0.0004, 0.0385, 0.00357, factor=1.5, ci=(0.0315, 0.0455))
    assert verdict == "under_attributed"
    assert reason == (
        "model slope 0.0215 is 0.56x the effect 0.0385 [0.0315, 0.0455]; "
        "tolerance 1/1.5–1.5x: below it"
    )
    # In tolerance but apart beyond both uncertainties: not supported either.
    verdict, reason = compare(1.3, 0.01, 1.0, 0.05, factor=1.5, ci=(0.9, 1.1))
    assert verdict == "over_attributed"
    assert "within the tolerance 1/1.5–1.5x, but the difference 0.3 exceeds both" in reason
    verdict, reason = compare(1.05, 0.01, 1.0, 0.05, factor=1.5, ci=(0.9, 1.1))
    # The margin: 1.96 x hypot(0.01, 0.05).
    assert verdict == "supported" and "(difference 0.05 <= 0.0999)" in reason


def test_the_summary_and_the_first_reason_say_the_same():
    result = verdict_of("x", slope=0.6)
    assert result.verdict == "under_attributed"
    assert result.reasons[0] == "model slope 0.6 is 0.60x the effect 1 [0.8, 1.2]; " + (
        "tolerance 1/1.5–1.5x: below it"
    )
    assert result.reason_summary.startswith(result.reasons[0] + "; ")


def test_an_unbounded_interval_is_inconclusive_and_contradicts_the_other_verdicts():
    from causalinterp.estimate.instruments import ArConfidenceSet, FirstStage

    fs = FirstStage(0.12, 1, 10.0, True, 0.0003)
    ar = ArConfidenceSet(-np.inf, np.inf, "whole_line", 0.73)
    weak = FeatureEffect(
        "x",
        Identification("iv", instruments=("z",)),
        EffectEstimate(0.3, 2.0, -np.inf, np.inf, 0.73, "OrthoIV", 500, fs, ar),
        "estimated",
    )
    result = verdict_of("x", weak)
    assert (result.verdict, result.causal_support) == ("inconclusive", None)
    assert result.reason_summary.startswith(
        "weak instrument (F = 0.12): any effect is consistent with the data"
    )
    assert contradiction(result, weak) == ""
    nothing = FeatureVerdict("x", False, "no_detectable_effect", ("r",), True)
    assert contradiction(nothing, weak) == (
        "x: verdict 'no_detectable_effect' reads an unbounded 95% set; it is 'inconclusive'"
    )


def _categorical(levels, contrasts):
    """Feature x as a categorical treatment with the given level effects and contrasts."""
    from causalinterp.attribute.contrasts import LevelContrast
    from causalinterp.estimate.effects import LevelEffect

    rows = [
        LevelEffect(name, "a", EffectEstimate(b, se, b - 1.96 * se, b + 1.96 * se, p, "DR", 9), 9)
        for name, b, se, p in levels
    ]
    best = min(rows, key=lambda r: r.estimate.p_value).estimate
    summary = EffectEstimate(
        best.estimate, best.stderr, best.estimate - 2.24 * best.stderr,
        best.estimate + 2.24 * best.stderr, min(1.0, 2 * best.p_value), "DR", 500,
    )  # fmt: skip
    effect = FeatureEffect(
        "x", Identification("backdoor", adjustment_set=("z",)), summary, "estimated",
        levels=tuple(rows),
    )  # fmt: skip
    attr = attributions({"x": np.nan})
    attr = dataclasses.replace(
        attr,
        level_contrasts={
            "x": tuple(LevelContrast(n, "a", c, 0.001, c - 0.002, c + 0.002, 500)
                       for n, c in contrasts.items())
        },
    )  # fmt: skip
    return judge(effects(x=effect), attr, GRAPH, checked())["x"], effect


def test_categorical_levels_take_the_worst_detected_level():
    result, effect = _categorical(
        [("b", -0.10, 0.01, 1e-20), ("c", -0.07, 0.01, 1e-12), ("d", 0.001, 0.01, 0.9)],
        {"b": -0.10, "c": 0.05, "d": 0.2},
    )
    assert [(lv.level, lv.verdict) for lv in result.levels] == [
        ("b", "supported"),
        ("c", "sign_conflict"),
        ("d", "no_detectable_effect"),  # not judged: its effect is not distinguishable from 0
    ]
    assert (result.verdict, result.causal_support) == ("sign_conflict", False)
    assert result.reason_summary.startswith("level 'c' vs 'a': model contrast 0.05 has the ")
    assert contradiction(result, effect) == ""
    assert any(r.startswith("no refuter ran on the level effects") for r in result.reasons)


def test_no_verdict_from_an_undefined_slope_or_missing_contrasts():
    result, _ = _categorical([("b", -0.10, 0.01, 1e-20), ("c", -0.07, 0.01, 1e-12)], {})
    assert (result.verdict, result.causal_support) == ("inconclusive", None)
    assert "has no model contrast to compare" in result.levels[0].reason
    quiet, _ = _categorical([("b", -0.01, 0.01, 0.3), ("c", 0.0, 0.01, 0.9)], {"b": -0.3})
    assert quiet.verdict == "no_detectable_effect" and quiet.levels[0].verdict != "supported"


def test_a_fixed_feature_is_never_proposed_as_a_lever():
    hidden = verdict_of("x", slope=0.05, fixed=["x"])
    assert hidden.verdict == "under_attributed" and hidden.action is None
    assert verdict_of("x", slope=0.05).action.startswith("Act on x itself")
    proxy = verdict_of("p", fixed=["p"])
    assert proxy.flagged and proxy.action == "Add z to the model: p's attribution is partly z's."
    conflict = advise("t", "sign_conflict", "y", None, flagged=True, fixed=True)[1]
    assert conflict == "t is fixed (not a lever): read its attribution as a predictor of y, " + (
        "not as a cause."
    )
    with pytest.raises(OptionError, match=r"^fixed: 'age' is not a model feature; name model"):
        verdict_of("x", fixed=["age"])
