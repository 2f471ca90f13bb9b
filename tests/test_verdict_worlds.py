"""Verdicts on simulated worlds with known truth: the one rule, categorical features judged
level by level, inconclusive weak instruments, and the graph columns a model leaves out."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from causalinterp import analyze
from causalinterp.attribute import attribute_model
from causalinterp.data import check_data
from causalinterp.estimate import estimate_effects
from causalinterp.simulators import Mechanism, StructuralModel, credit_default_model
from causalinterp.verdicts import judge

CREDIT = credit_default_model()
FAST = {"refute": "none", "test_graph": False, "curves": False, "nuisance": "linear", "seed": 0}


def _linear_model(data: pd.DataFrame, features: list[str], outcome: str):
    """A linear model of the outcome, one-hot encoding the text columns."""
    text = [f for f in features if not pd.api.types.is_numeric_dtype(data[f])]
    return make_pipeline(
        make_column_transformer((OneHotEncoder(), text), remainder="passthrough"),
        LinearRegression(),
    ).fit(data[features], data[outcome])


def _credit_verdicts(features: list[str]):
    data = CREDIT.sample(6000, seed=0)
    checked = check_data(data, CREDIT.graph, "defaulted", features=features)
    effects = estimate_effects(checked, CREDIT.graph, seed=0, nuisance="linear")
    model = _linear_model(data, features, "defaulted")
    attributions = attribute_model(model, data, checked, model_seed=0, seed=0)
    return effects, attributions, judge(effects, attributions, CREDIT.graph, checked)


@pytest.fixture(scope="module")
def credit_truth() -> dict[str, float]:
    return {
        level: CREDIT.true_level_effect("region", level, "south", "defaulted", n=100_000)
        for level in ("east", "north", "west")
    }


# ------------------------------------------------------------------ categorical features


def test_a_model_that_sees_the_whole_effect_of_each_level_is_supported(credit_truth):
    effects, attributions, verdicts = _credit_verdicts(["region", "income"])
    region = verdicts["region"]
    assert (region.verdict, region.causal_support) == ("supported", True)
    assert [lv.verdict for lv in region.levels] == ["supported"] * 3
    contrasts = {c.level: c for c in attributions.level_contrasts["region"]}
    for level in effects.by_feature["region"].levels:
        truth = credit_truth[level.level]
        assert level.estimate.ci_low < truth < level.estimate.ci_high
        # The model's contrast, on the probability scale, is the level's whole effect.
        assert abs(contrasts[level.level].estimate - truth) < 0.03
    assert region.reasons[0].startswith("judged level by level (3 level contrasts against")


def test_a_mediator_in_the_model_hides_part_of_each_level_effect(credit_truth):
    # interest_rate carries 60% of each level's effect: the model's contrasts are the
    # direct 40% (true ratios 0.40, 0.43, 0.40), below the tolerance 1/1.5.
    effects, attributions, verdicts = _credit_verdicts(["region", "interest_rate", "income"])
    region = verdicts["region"]
    assert (region.verdict, region.causal_support) == ("under_attributed", True)
    assert {lv.verdict for lv in region.levels} == {"under_attributed"}
    contrasts = {c.level: c.estimate for c in attributions.level_contrasts["region"]}
    for level in effects.by_feature["region"].levels:
        assert level.estimate.ci_low < credit_truth[level.level] < level.estimate.ci_high
        ratio = contrasts[level.level] / level.estimate.estimate
        assert 0.1 < ratio < 1 / 1.5
        reason = next(lv.reason for lv in region.levels if lv.level == level.level)
        assert f"is {ratio:.2f}x the effect {level.estimate.estimate:.3g}" in reason
    assert "effect carried by interest_rate" in region.reason_summary
    assert region.action.startswith("Act on region itself, not on interest_rate")


def test_the_report_shows_the_levels_and_says_no_refuter_ran_on_them():
    data = CREDIT.sample(3000, seed=1)
    features = ["region", "interest_rate", "income"]
    model = _linear_model(data, features, "defaulted")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze(
            data, CREDIT.graph, "defaulted", model=model, **{**FAST, "refute": "quick"}
        )
    out = report.to_dict()
    region = next(row for row in out["features"] if row["name"] == "region")
    assert region["verdict"] != "supported"
    for level in region["effect"]["levels"]:
        assert level["model_contrast"]["ci_low"] <= level["model_contrast"]["estimate"]
        assert level["verdict"] in {"under_attributed", "no_detectable_effect"}
        assert level["reason"]
    assert region["refutations"] == []
    assert region["refutation_note"].startswith("no refuter ran")
    md, html = report.to_markdown(), report.to_html(include_plots=False)
    assert "**region, level by level**" in md and "| model contrast [95% CI] |" in md
    assert "Model contrast [95% CI]" in html
    for text in (md, html):
        assert "not refuted" not in text.lower()
    # One reason text: the summary the tables show is the verdict's first reason's ground.
    verdict = report.verdicts["region"]
    ground = verdict.reason_summary.split("; effect carried by")[0]
    assert ground in verdict.reasons[0]


# -------------------------------------------------------------------- the one rule


def _mediated_world(direct: float) -> StructuralModel:
    """x -> y directly (``direct``) and through m (1 - ``direct``): total effect 1."""
    return StructuralModel(
        {
            "z": Mechanism((), lambda p, e: e),
            "x": Mechanism(("z",), lambda p, e: 0.5 * p["z"] + e),
            "m": Mechanism(("x",), lambda p, e: p["x"] + 0.5 * e),
            "y": Mechanism(
                ("x", "m", "z"),
                lambda p, e: direct * p["x"] + (1.0 - direct) * p["m"] + p["z"] + e,
            ),
        }
    )


def test_a_slope_at_056_of_the_effect_is_under_attributed_and_says_so():
    world = _mediated_world(0.56)
    data = world.sample(3000, seed=0)
    features = ["x", "m", "z"]
    model = LinearRegression().fit(data[features], data["y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze(data, world.graph, "y", model=model, **FAST)
    x = report.verdicts["x"]
    effect = report.effects.by_feature["x"].estimate
    slope = report.attributions.by_feature["x"].slope
    assert effect.ci_low < 1.0 < effect.ci_high  # the total effect
    assert 0.5 < slope / effect.estimate < 0.62  # the model sees the direct 0.56 only
    assert (x.verdict, x.causal_support) == ("under_attributed", True)
    expected = (
        f"model slope {slope:.3g} is {slope / effect.estimate:.2f}x the effect "
        f"{effect.estimate:.3g} [{effect.ci_low:.3g}, {effect.ci_high:.3g}]; "
        "tolerance 1/1.5–1.5x: below it"
    )
    assert x.reasons[0] == expected
    assert x.reason_summary.startswith(expected)
    # Markdown, HTML and JSON give the same reason text.
    row = next(r for r in report.to_dict()["features"] if r["name"] == "x")
    assert row["reason_summary"].startswith(expected) and row["reasons"][0] == expected
    assert expected.replace("[", "\\[").replace("]", "\\]").replace(":", "\\:") in (
        report.to_markdown()
    )
    assert expected in report.to_html(include_plots=False)


def test_a_slope_that_matches_the_effect_is_supported_with_its_numbers():
    world = _mediated_world(1.0)  # m is a dead end: the model's slope is the whole effect
    data = world.sample(3000, seed=0)
    model = LinearRegression().fit(data[["x", "m", "z"]], data["y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze(data, world.graph, "y", model=model, **FAST)
    x = report.verdicts["x"]
    assert (x.verdict, x.causal_support) == ("supported", True)
    ratio = float(re.search(r"is (\d\.\d\d)x the effect", x.reasons[0]).group(1))
    assert 1 / 1.5 <= ratio <= 1.5
    assert "within the tolerance 1/1.5–1.5x and within both uncertainties" in x.reasons[0]


# --------------------------------------------------------------- three-valued support


@pytest.fixture(scope="module")
def weak_iv_report():
    rng = np.random.default_rng(11)
    n = 400
    u, z = rng.normal(size=n), rng.normal(size=n)
    t = 0.0 * z + u + rng.normal(size=n)  # an instrument with no first stage at all
    y = t + 2.0 * u + rng.normal(size=n)
    data = pd.DataFrame({"Z": z, "T": t, "Y": y})
    dot = "digraph { U [latent=true]; Z -> T; U -> T; U -> Y; T -> Y }"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(data, dot, "Y", features=["T"], **FAST)


def test_a_whole_line_anderson_rubin_set_leaves_support_undetermined(weak_iv_report):
    report = weak_iv_report
    row = report.to_dict()["features"][0]
    assert row["effect"]["anderson_rubin"]["shape"] == "whole_line"
    assert (row["verdict"], row["causal_support"]) == ("inconclusive", None)
    f_stat = row["effect"]["first_stage"]["f_statistic"]
    assert row["reason_summary"].startswith(
        f"weak instrument (F = {f_stat:.2g}): any effect is consistent with the data"
    )
    assert row["flagged"]  # its attribution is material and has no causal support
    assert row["action"].startswith("Do not act on T to change Y on this evidence")


# ------------------------------------------------------- graph columns the model lacks


def test_the_run_names_the_graph_columns_the_model_does_not_use(tmp_path):
    from causalinterp.cli import _summary
    from causalinterp.render.summary import summary_text

    data = CREDIT.sample(1500, seed=2).drop(columns=["region"])
    graph = "income -> defaulted; income -> interest_rate; interest_rate -> defaulted; age"
    model = LinearRegression().fit(data[["interest_rate"]], data["defaulted"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze(data, graph, "defaulted", model=model, **FAST)
    out = report.to_dict()
    assert out["graph_columns_unused"] == ["age", "income"]
    sentence = "The model does not use 2 observed graph column(s): age, income"
    assert sentence in report.to_html(include_plots=False)
    assert sentence.replace("(s)", "\\(s\\)").replace(":", "\\:") in report.to_markdown()
    assert sentence in _summary(report, Path(tmp_path))  # the terminal, after every run
    assert sentence in summary_text(report)  # and --summary


# ------------------------------------------------------------------------------ fixed


def test_analyze_takes_fixed_like_explain_and_never_proposes_it_as_a_lever():
    from causalinterp.cli import build_parser

    flags = ["--data", "d.csv", "--graph", "g.dot", "--outcome", "y", "--out", "o"]
    args = build_parser().parse_args(["analyze", *flags, "--fixed", "a,b"])
    assert args.fixed == ["a", "b"]
    data = CREDIT.sample(3000, seed=0)
    features = ["region", "interest_rate", "income"]
    model = _linear_model(data, features, "defaulted")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        free = analyze(data, CREDIT.graph, "defaulted", model=model, **FAST)
        fixed = analyze(data, CREDIT.graph, "defaulted", model=model, fixed=["region"], **FAST)
    assert free.verdicts["region"].action.startswith("Act on region itself")
    assert fixed.verdicts["region"].verdict == free.verdicts["region"].verdict
    assert fixed.verdicts["region"].action is None  # nobody can act on it
    out = fixed.to_dict()
    assert out["settings"]["fixed"] == ["region"]
    assert [row["fixed"] for row in out["features"]] == [True, False, False]


def test_a_fixed_feature_is_never_an_under_used_effect_among_the_findings():
    from causalinterp.render.summary import findings

    row = {
        "name": "tenure", "flagged": False, "verdict": "under_attributed", "fixed": False,
        "reason_summary": "model slope 0.01 is 0.10x the effect 0.1 [0.08, 0.12]; ...",
        "action": "Do not judge tenure by its attribution: ...",
        "attribution": {"share": 0.2, "slope": 0.01},
        "effect": {"estimate": 0.1, "ci_low": 0.08, "ci_high": 0.12, "standardized": 0.4},
    }  # fmt: skip
    data = {"outcome": "y", "features": [row], "graph_test": None}
    assert [f["kind"] for f in findings(data)] == ["under_used"]
    data["features"] = [{**row, "fixed": True}]
    assert findings(data) == []


def test_a_report_refuses_no_detectable_effect_on_an_unbounded_set(weak_iv_report):
    import dataclasses

    from causalinterp.errors import CausalInterpError
    from causalinterp.verdicts import FeatureVerdict

    old = FeatureVerdict("T", False, "no_detectable_effect", ("r",), True)
    with pytest.raises(CausalInterpError, match=r"'no_detectable_effect' on an unbounded"):
        dataclasses.replace(weak_iv_report, verdicts={"T": old})
