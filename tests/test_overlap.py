"""Overlap and positivity diagnostics against simulated structures with known support."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalinterp.attribute import attribute_model
from causalinterp.data import check_data
from causalinterp.estimate import estimate_effects
from causalinterp.estimate.overlap import (
    binary_overlap,
    continuous_overlap,
    overlap_action,
    threshold_rule,
)
from causalinterp.graph import CausalGraph
from causalinterp.render.json import report_dict
from causalinterp.render.overlap import plot_propensity
from causalinterp.simulators import cutoff_model
from causalinterp.verdicts import judge

REGION_GRAPH = "region -> t; x -> t; region -> y; x -> y; t -> y"


def region_data(n: int, seed: int, *, closed: bool = True) -> pd.DataFrame:
    """Nobody in region 1 (30% of rows) is treated when ``closed``: P(t = 1) = 0 there.

    Elsewhere P(t = 1 | x) = logistic(0.5 x); the effect of t on y is 1.
    """
    rng = np.random.default_rng(seed)
    region = (rng.random(n) < 0.3).astype(int)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-0.5 * x))
    if closed:
        p = np.where(region == 1, 0.0, p)
    t = (rng.random(n) < p).astype(int)
    y = x + 2.0 * region + 1.0 * t + rng.normal(size=n)
    return pd.DataFrame({"region": region, "x": x, "t": t, "y": y})


def _analyse(data, graph, features, outcome="y", **kw):
    graph = CausalGraph.parse(graph)
    checked = check_data(data, graph, outcome, features=features)
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear", **kw)
    return graph, checked, effects


def test_zero_propensity_region_gets_limited_overlap_with_reason_and_fixes():
    data = region_data(3000, seed=0)
    graph, checked, effects = _analyse(data, REGION_GRAPH, ["t", "x", "region"])
    o = effects.overlap["t"]
    assert o.ok is False and o.kind == "binary"
    # Exactly the region's rows (all untreated) are beyond the bounds.
    share_region = float((data["region"] == 1).mean())
    assert o.share_outside == pytest.approx(share_region, abs=0.02)
    assert o.share_outside_treated == pytest.approx(0.0, abs=0.01)
    assert o.ess_control < o.n_control
    # The Crump-trimmed population is the open region, and its effect covers the truth (1).
    assert o.trimmed is not None and o.trimmed.ci_low <= 1.0 <= o.trimmed.ci_high
    assert o.alternative is not None and o.alternative.estimand == "att"
    assert o.alternative.ci_low <= 1.0 <= o.alternative.ci_high

    attributions = attribute_model(None, data, checked, model_seed=0, seed=0, max_shap_rows=300)
    verdicts = judge(effects, attributions, graph, checked)
    v = verdicts["t"]
    assert v.verdict == "limited_overlap" and v.causal_support is None
    reason = v.reasons[0]
    assert "propensity outside [0.01, 0.99]" in reason
    assert "Crump et al. 2009" in reason and "estimand='att'" in reason
    assert f"{round(100 * o.share_outside)}% of the rows" in reason
    # Continuous controls with full support keep their verdicts.
    assert verdicts["x"].verdict != "limited_overlap"

    data_json = report_dict(
        checked=checked,
        graph=graph,
        effects=effects,
        attributions=attributions,
        verdicts=verdicts,
    )
    row = next(f for f in data_json["features"] if f["name"] == "t")
    assert row["overlap"]["ok"] is False
    assert sum(row["overlap"]["propensity_histogram"]["control"]) == o.n_control
    assert row["effect"]["population"] == "all 3000 rows"
    assert data_json["settings"]["estimand"] == "ate"


def test_att_is_supported_where_the_treated_overlap():
    data = region_data(3000, seed=1)
    _, _, effects = _analyse(data, REGION_GRAPH, ["t"], estimand="att")
    o = effects.overlap["t"]
    assert o.ok is True and o.estimand == "att"
    e = effects.by_feature["t"].estimate
    # One data set: a 99.9% interval (the 95% coverage rate is tested in test_estimands.py).
    assert abs(e.estimate - 1.0) < 3.29 * e.stderr, e


def test_full_support_passes():
    data = region_data(3000, seed=2, closed=False)
    _, _, effects = _analyse(data, REGION_GRAPH, ["t"])
    o = effects.overlap["t"]
    assert o.ok is True and o.share_outside < 0.02 and o.problem == ""
    assert o.ess_treated > 0.5 * o.n_treated


def test_treatment_determined_by_a_control_names_it():
    # age is 2024 - birth_year up to the interview date: given birth_year, almost nothing
    # of age is left to vary.
    rng = np.random.default_rng(3)
    n = 1500
    birth_year = rng.integers(1960, 2000, n).astype(float)
    age = 2024.0 - birth_year + rng.uniform(0, 0.1, n)  # interview date: nearly exact
    income = rng.normal(size=n)
    y = 0.1 * age + income + rng.normal(size=n)
    data = pd.DataFrame({"birth_year": birth_year, "age": age, "income": income, "y": y})
    graph = "birth_year -> age; birth_year -> y; age -> y; income -> y"
    _, _, effects = _analyse(data, graph, ["age", "income"])
    o = effects.overlap["age"]
    assert o.ok is False and o.variance_share < 0.01
    assert o.explained_by == ("birth_year",)
    assert "'birth_year'" in o.problem and "drop the redundant control" in o.problem
    assert effects.overlap["income"].ok is True


def test_categorical_level_without_support_is_named():
    rng = np.random.default_rng(4)
    n = 3000
    z = (rng.random(n) < 0.4).astype(int)
    probs = np.where(z[:, None] == 1, [0.5, 0.5, 0.0], [0.4, 0.3, 0.3])
    level = np.array([rng.choice(3, p=row) for row in probs])
    y = z + (level == 1) * 1.0 + (level == 2) * 2.0 + rng.normal(size=n)
    data = pd.DataFrame({"z": z, "plan": np.array(["a", "b", "c"])[level], "y": y})
    _, _, effects = _analyse(data, "z -> plan; z -> y; plan -> y", ["plan"])
    o = effects.overlap["plan"]
    assert o.kind == "categorical" and o.ok is False
    by_level = {lv.feature: lv for lv in o.levels}
    assert by_level["plan=c"].ok is False and by_level["plan=b"].ok is True
    assert "'c'" in o.problem and "'b'" not in o.problem.split("reference")[0]


def test_binary_overlap_rules_per_estimand():
    # 100 treated in the middle; 900 controls, 600 of them far below any treated row.
    t = np.r_[np.ones(100), np.zeros(900)]
    p = np.r_[np.full(100, 0.4), np.full(300, 0.3), np.full(600, 0.001)]
    assert binary_overlap("t", t, p, estimand="ate").ok is False
    assert binary_overlap("t", t, p, estimand="att").ok is True  # controls far away are harmless
    assert binary_overlap("t", t, p, estimand="atc").ok is False
    o = binary_overlap("t", t, p)
    assert o.share_outside == pytest.approx(0.6)
    fig = plot_propensity(o)
    assert "60%" in fig.axes[0].get_title()


def test_continuous_overlap_threshold():
    rng = np.random.default_rng(5)
    t = rng.normal(size=500)
    ok = continuous_overlap("t", t, 0.2 * t, None)
    bad = continuous_overlap("t", t, 0.05 * t, None)
    assert ok.ok is True and bad.ok is False
    assert "jointly by its adjustment set" in bad.problem


# --------------------------------------------------------------------------- decided treatments


def test_sharp_threshold_is_named_as_a_discontinuity_with_no_trimmed_estimate():
    # program = 1[score < 0] in every row, and score also moves earnings: no row has a
    # counterpart across the cut-off, whatever the propensity model makes of it.
    sim = cutoff_model()
    data = sim.sample(2000, seed=0)
    graph, checked, effects = _analyse(
        data,
        "score -> program; score -> earnings; other -> earnings; program -> earnings",
        ["program", "score", "other"],
        outcome="earnings",
    )
    o = effects.overlap["program"]
    assert o.ok is False and o.determined is not None
    d = o.determined
    assert (d.method, d.by, d.rule, d.design) == (
        "threshold",
        ("score",),
        "score < 0",
        "regression_discontinuity",
    )
    assert d.cutoff == 0.0 and d.treated_below and d.agreement == 1.0 and d.rows_against == 0
    assert o.trimmed is None and o.alternative is None
    assert o.problem.startswith("treatment 'program' is determined by score < 0 in 100% of rows: ")
    assert "regression-discontinuity design" in o.problem and "score = 0 " in o.problem
    assert "drop" not in o.problem and "Crump" not in o.problem

    attributions = attribute_model(None, data, checked, model_seed=0, seed=0, max_shap_rows=300)
    v = judge(effects, attributions, graph, checked)["program"]
    assert (v.verdict, v.causal_support) == ("limited_overlap", None)
    assert v.reasons[0] == o.problem
    assert v.reason_summary == "treatment decided by score < 0 (regression discontinuity)"
    assert "regression discontinuity" in v.action and "drop" not in v.action
    row = next(
        f
        for f in report_dict(
            checked=checked,
            graph=graph,
            effects=effects,
            attributions=attributions,
            verdicts={"program": v},
        )["features"]
        if f["name"] == "program"
    )
    assert row["overlap"]["determined"] == {
        "method": "threshold",
        "by": ["score"],
        "rule": "score < 0",
        "cutoff": 0.0,
        "treated": "below",
        "agreement": 1.0,
        "rows_against_rule": 0,
        "min_agreement": 0.99,
        "design": "regression_discontinuity",
    }
    assert row["overlap"]["trimmed"] is None
    assert plot_propensity(o).axes[0].get_title() == "program: decided by score < 0 in 100% of rows"


def test_strong_but_overlapping_assignment_is_not_called_decided():
    # P(program) = logistic(-score / 0.2): steep, but every score has both arms; the
    # generic diagnosis with its trimmed estimate stands, and it covers the effect (1).
    data = cutoff_model(blur=0.2).sample(2000, seed=1)
    _, _, effects = _analyse(
        data,
        "score -> program; score -> earnings; other -> earnings; program -> earnings",
        ["program"],
        outcome="earnings",
    )
    o = effects.overlap["program"]
    assert o.determined is None
    assert o.trimmed is not None and o.trimmed.ci_low <= 1.0 <= o.trimmed.ci_high
    assert "drop" not in o.problem  # the score is a confounder, not a redundant control


def test_threshold_rule_finds_direction_round_cut_off_and_rows_against_it():
    score = np.arange(100.0)
    assert threshold_rule((score >= 50).astype(float), score) == (1.0, 50.0, False, 0)
    rng = np.random.default_rng(7)
    s = rng.normal(size=4000)
    t = (s < 0.25).astype(float)
    flip = rng.choice(4000, 8, replace=False)
    t[flip] = 1 - t[flip]  # 0.2% against the rule: a fuzzy discontinuity, still decided
    share, cut, below, against = threshold_rule(t, s)
    assert share >= 0.99 and below and against <= 12 and cut == pytest.approx(0.25, abs=0.01)
    o = binary_overlap("t", t, np.full(4000, 0.5), controls=pd.DataFrame({"s": s, "z": -s}))
    assert o.ok is False and o.determined.by in (("s",), ("z",))
    assert f"({o.determined.rows_against} rows against the rule)" in o.problem
    assert "fuzzy" in o.problem
    # A rare treatment is not "decided" by sending every row to the untreated side.
    rare = (rng.random(4000) < 0.005).astype(float)
    assert threshold_rule(rare, s)[0] < 0.9
    assert (
        binary_overlap("t", rare, np.full(4000, 0.01), controls=pd.DataFrame({"s": s})).determined
        is None
    )


def test_controls_deciding_jointly_and_a_coarsened_score_are_named():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(2, 3000))
    t = (a + b < 0).astype(float)  # no single cut-off sorts it; the pair does
    p = np.where(t == 1, 0.99, 0.01)
    o = binary_overlap("t", t, p, controls=pd.DataFrame({"a": a, "b": b}))
    assert o.determined is not None and o.determined.method == "propensity"
    assert o.determined.by == ("a", "b") and o.trimmed is None
    assert o.problem.startswith("treatment 't' is determined by its controls jointly")
    # A degree indicator is years of schooling below 12: too few values for a discontinuity.
    educ = rng.integers(3, 17, 3000).astype(float)
    nodegree = (educ < 12).astype(float)
    o = binary_overlap(
        "nodegree", nodegree, np.full(3000, 0.5), controls=pd.DataFrame({"educ": educ})
    )
    assert (o.determined.rule, o.determined.design) == ("educ < 12", "none")
    assert "coarsening of 'educ'" in o.problem and "regression-discontinuity" not in o.problem


def test_trimming_to_a_handful_of_rows_gives_no_estimate():
    # 1,000 rows, all but 15 at the bounds: the trimmed population is too small to quote.
    rng = np.random.default_rng(9)
    t = np.r_[np.ones(500), np.zeros(500)]
    p = np.r_[np.full(490, 0.99), np.full(10, 0.5), np.full(495, 0.01), np.full(5, 0.5)]
    y = t + rng.normal(size=1000)
    o = binary_overlap("t", t, p, y=y, y0=np.zeros(1000), y1=np.ones(1000))
    assert o.ok is False and o.trimmed is None
    assert "would keep 10 treated and 5 untreated rows, too few for an estimate" in o.problem


def test_a_categorical_level_decided_by_a_score_is_named_with_its_rule():
    # Plan "c" goes to every row with score >= 1 and to no other; "a" and "b" share the rest.
    rng = np.random.default_rng(10)
    n = 1500
    score = rng.normal(size=n)
    plan = np.where(score >= 1, "c", np.where(rng.random(n) < 0.6, "a", "b"))
    y = score + (plan == "c") * 1.0 + rng.normal(size=n)
    data = pd.DataFrame({"score": score, "plan": plan, "y": y})
    _, _, effects = _analyse(data, "score -> plan; score -> y; plan -> y", ["plan"])
    o = effects.overlap["plan"]
    by_level = {lv.feature: lv for lv in o.levels}
    assert by_level["plan=c"].determined.rule == "score >= 1"
    assert by_level["plan=b"].determined is None
    assert "treatment 'plan=c' is determined by score >= 1 in 100% of rows" in o.problem
    summary, action = overlap_action(effects.overlap, "plan")
    assert summary == "treatment decided by score >= 1 (regression discontinuity)"
    assert "drop" not in action


def test_cutoff_model_assigns_by_the_score_and_its_effect_is_one():
    sim = cutoff_model()
    data = sim.sample(1000, seed=0)
    assert ((data["score"] < 0) == (data["program"] == 1)).all()
    assert sim.true_effect("program", "earnings", n=20_000) == pytest.approx(1.0)
    blurred = cutoff_model(blur=0.2).sample(5000, seed=0)
    agreement = float(((blurred["score"] < 0) == (blurred["program"] == 1)).mean())
    assert 0.85 < agreement < 0.95  # steep, but both arms at every score near the cut-off
