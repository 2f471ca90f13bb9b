"""Real-data case studies: the published figure is covered, or the overlap verdict is given.

``case_studies/lalonde_cps``: the 185 NSW trainees against 15,992 CPS-1 men (data from the
``causaldata`` package, shipped offline). The experimental benchmark of the training's effect
on the trainees is $1,794 (LaLonde 1986; Dehejia & Wahba 1999).

``case_studies/college_proximity``: Card's (1995) 3,010 young men (``causaldata``), growing up
near a college as an instrument for schooling that is valid only given region and urban
residence. Published two-stage least squares returns: 0.124 (Cunningham 2021, these data)
and 0.132 (Card 1995, Table 3).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from causalinterp.data import check_data
from causalinterp.estimate import estimate_effects
from causalinterp.graph import CausalGraph

CASE = Path(__file__).resolve().parent.parent / "case_studies" / "lalonde_cps"
BENCHMARK = 1794.34  # NSW treated minus NSW controls, 1978 earnings (Dehejia & Wahba sample)


@pytest.fixture(scope="module")
def case():
    settings = tomllib.loads((CASE / "case.toml").read_text())
    data = pd.read_csv(CASE / settings["data"])
    graph = CausalGraph.parse(CASE / settings["graph"])
    return settings, data, graph


def test_case_files_state_the_benchmark_and_its_source(case):
    settings, data, _ = case
    assert settings["truth"]["treat"] == BENCHMARK
    assert len(data) == 16177 and int(data["treat"].sum()) == 185
    readme = (CASE / "README.md").read_text()
    assert "1,794" in readme and "Dehejia" in readme and "causaldata" in readme


def test_average_effect_over_cps_men_gets_limited_overlap(case):
    settings, data, graph = case
    checked = check_data(data, graph, settings["outcome"], features=["treat"])
    effects = estimate_effects(checked, graph, seed=0, estimand="ate")
    o = effects.overlap["treat"]
    assert o.ok is False
    assert o.share_outside > 0.85  # about 91% of the rows: CPS men unlike any trainee
    assert o.share_outside_treated < 0.05  # the trainees themselves have comparable CPS men
    assert "estimand='att'" in o.problem


def test_effect_on_the_treated_covers_the_experimental_benchmark(case):
    settings, data, graph = case
    checked = check_data(data, graph, settings["outcome"], features=["treat"])
    effects = estimate_effects(checked, graph, seed=0, estimand="att")
    assert effects.overlap["treat"].ok is True
    e = effects.by_feature["treat"].estimate
    assert e.ci_low <= BENCHMARK <= e.ci_high, e
    assert "185 treated rows" in e.method


COLLEGE = CASE.parent / "college_proximity"
PUBLISHED_RETURNS = (0.124, 0.132)  # Cunningham (2021) on these data; Card (1995)


@pytest.fixture(scope="module")
def college():
    from causalinterp import analyze

    settings = tomllib.loads((COLLEGE / "case.toml").read_text())
    data = pd.read_csv(COLLEGE / settings["data"])
    report = analyze(
        data,
        COLLEGE / settings["graph"],
        settings["outcome"],
        features=settings["features"],
        seed=settings["seed"],
        refute="none",  # the identification and the interval are what is checked here
        test_graph=False,
        curves=False,
        max_shap_rows=200,
    )
    return settings, data, report


def test_college_case_files_state_the_published_estimates(college):
    settings, data, _ = college
    assert settings["truth"]["educ"] == PUBLISHED_RETURNS[0]
    assert len(data) == 3010
    readme = (COLLEGE / "README.md").read_text()
    assert "Card" in readme and "0.132" in readme and "0.124" in readme
    assert "causaldata" in readme


def test_proximity_is_found_as_an_instrument_valid_only_given_controls(college):
    _, _, report = college
    ident = report.effects.by_feature["educ"].identification
    assert str(ident.strategy) == "iv" and ident.conditional is True
    assert ident.instruments == ("nearc4",)
    # Region and urban residence must be in the set: they confound proximity and wages.
    assert {"smsa", "south"} <= set(ident.adjustment_set)
    assert "educ" not in ident.adjustment_set and "lwage" not in ident.adjustment_set
    reasons = " ".join(report.verdicts["educ"].reasons)
    assert "conditional instrument" in reasons and "local average effect" in reasons


def test_conditional_iv_interval_covers_the_published_returns(college):
    _, _, report = college
    e = report.effects.by_feature["educ"].estimate
    for published in PUBLISHED_RETURNS:
        assert e.ci_low <= published <= e.ci_high, e
    assert e.ci_low > 0  # a positive return is detected, as Card found
    assert e.first_stage is not None and not e.first_stage.weak  # Card's instrument is not weak
    # The regression of wages on schooling (OLS, about 0.07 here) is not what is estimated.
    assert e.estimate > 0.09
    row = next(f for f in report.to_dict()["features"] if f["name"] == "educ")
    assert row["identification"]["conditional"] is True
    assert row["effect"]["first_stage"]["f_statistic"] > row["effect"]["first_stage"]["threshold"]
