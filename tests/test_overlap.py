"""Overlap and positivity diagnostics against simulated structures with known support."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causalinterp.attribute import attribute_model
from causalinterp.data import check_data
from causalinterp.estimate import estimate_effects
from causalinterp.estimate.overlap import binary_overlap, continuous_overlap
from causalinterp.graph import CausalGraph
from causalinterp.render.json import report_dict
from causalinterp.render.overlap import plot_propensity
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


def _analyse(data, graph, features, **kw):
    graph = CausalGraph.parse(graph)
    checked = check_data(data, graph, "y", features=features)
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
