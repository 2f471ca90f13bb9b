"""The credit case study end to end: a logistic default model without the confounder
``income``; every verdict against the simulated structure (7 of 7), every identified effect's
interval against the true effect computed by simulating interventions, the categorical
``region`` judged level by level, and no curve shape invented on the smooth logistic curves."""

import json
from pathlib import Path

import numpy as np
import pytest

from causalinterp import analyze
from causalinterp.cli import load_case, read_table
from causalinterp.simulators import credit_risk_model

CASE = Path(__file__).parent.parent / "case_studies" / "credit"

# What the simulated structure implies (causalinterp.simulators.credit_risk_model and
# docs/case-studies.md explain each row): (verdict, causal_support).
EXPECTED = {
    "utilization": ("supported", True),  # exogenous cause, attributed as it acts
    "interest_rate": ("over_attributed", True),  # credited with the missing income's effect
    "region": ("under_attributed", True),  # part of each level's effect runs through the rate
    "late_payments": ("not_identifiable", None),  # confounded by the latent stress
    "loan_term": ("no_detectable_effect", False),  # an arrow in the graph, zero in the world
    "age": ("no_causal_path", False),  # a proxy of income
    "collection_calls": ("no_causal_path", False),  # a consequence of default (leakage)
}


@pytest.fixture(scope="module")
def report():
    case = load_case(CASE)
    return analyze(
        read_table(case["data"]),
        case["graph"],
        case["outcome"],
        features=case["features"],
        seed=case["seed"],
        refute="none",  # refutations have their own tests; verdicts here rest on structure
        test_graph=False,  # as do the graph's implications
        n_jobs=2,
    )


@pytest.fixture(scope="module")
def truth():
    return json.loads((CASE / "truth.json").read_text())


def test_bundled_data_are_what_the_simulator_gives():
    bundled = read_table(CASE / "data.csv")
    simulated = credit_risk_model().sample(len(bundled), seed=20261207)[list(bundled.columns)]
    assert (bundled["region"] == simulated["region"]).all()
    numeric = [c for c in bundled if c != "region"]
    assert np.allclose(bundled[numeric].to_numpy(float), simulated[numeric].to_numpy(float),
                       atol=5e-5)  # fmt: skip


def test_every_verdict_follows_the_structure(report):
    got = {f: (v.verdict, v.causal_support) for f, v in report.verdicts.items()}
    assert got == EXPECTED, {f: report.verdicts[f].reasons[0] for f in got}


def test_every_identified_effect_covers_the_truth(report, truth):
    for feature in ("utilization", "interest_rate", "loan_term"):
        effect = report.effects.by_feature[feature].estimate
        assert effect.ci_low < truth[feature] < effect.ci_high, (feature, effect)
    for level in report.effects.by_feature["region"].levels:
        true = truth["region"][level.level]
        assert level.estimate.ci_low < true < level.estimate.ci_high, (level, true)


def test_the_over_attribution_is_the_missing_confounder_s(report, truth):
    verdict = report.verdicts["interest_rate"]
    slope = report.attributions.by_feature["interest_rate"].slope
    assert slope / truth["interest_rate"] > 1.5  # the model's slope is income's too
    assert "'income'" in " ".join(verdict.reasons)
    assert verdict.reason_summary.endswith("proxy of income")


def test_region_is_judged_level_by_level(report):
    region = report.verdicts["region"]
    assert [lv.level for lv in region.levels] == ["east", "north", "west"]
    assert {lv.verdict for lv in region.levels} == {"under_attributed"}
    assert region.reasons[0].startswith("judged level by level (3 level contrasts against 'south')")
    assert "effect carried by interest_rate" in region.reason_summary
    document = report.to_dict()
    levels = next(f for f in document["features"] if f["name"] == "region")["effect"]["levels"]
    for level in levels:
        assert level["verdict"] == "under_attributed" and level["reason"]
        contrast = level["model_contrast"]
        # The model sees the direct part of each level's effect: same sign, well short of it.
        assert 0 < contrast["estimate"] / level["estimate"] < 1 / 1.5
    markdown = report.to_markdown()
    assert "**region, level by level**" in markdown and "| model contrast [95% CI] |" in markdown


def test_no_shape_is_invented_on_the_smooth_logistic_curves(report):
    document = report.to_dict()
    curves = {f["name"]: f["curve"] for f in document["features"] if f.get("curve")}
    assert {"utilization", "interest_rate", "loan_term"} <= set(curves)
    assert document["curves"]["shape_disagreements"] == []
    assert all(curve["shape"] is None for curve in curves.values())
    for text in (report.to_markdown(), report.to_html(include_plots=False)):
        assert "threshold" not in text.lower() and "levels off" not in text.lower()


def test_the_leak_and_the_proxy_are_flagged_and_named(report):
    reasons = {f: " ".join(v.reasons) for f, v in report.verdicts.items()}
    assert "consequence of the outcome" in reasons["collection_calls"]
    assert "'income'" in reasons["age"]
    assert "'stress'" in reasons["late_payments"]
    assert report.verdicts["collection_calls"].flagged
    assert report.to_dict()["graph_columns_unused"] == ["income"]
