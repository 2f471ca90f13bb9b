"""Categorical features and treatments: coded with levels, one-hot as controls, estimated
level by level against the most frequent level as treatments, explained by the model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _figures import texts_outside
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from causalinterp import analyze, explain_rows, refute
from causalinterp.data import check_data
from causalinterp.errors import DataError
from causalinterp.estimate import effects
from causalinterp.graph import CausalGraph

PLAN_EFFECT = {"basic": 0.0, "plus": 1.0, "pro": -2.0}  # reference: basic, the most frequent
REGION_ON_Y = {"north": 0.0, "south": 1.5, "west": 0.0}  # not monotone in the codes
GRAPH = "w -> plan; w -> y; region -> plan; region -> y; plan -> y; region -> usage; usage -> y"


def plans(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """A confounded three-level treatment (plan) and a categorical confounder (region)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    region = rng.choice(["north", "south", "west"], size=n, p=[0.4, 0.35, 0.25])
    south = (region == "south").astype(float)
    logits = np.column_stack([np.zeros(n), 0.7 * w - 0.8 * south, -0.6 * w + 0.6 * south - 0.3])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    plan = np.array(["basic", "plus", "pro"])[(rng.random(n)[:, None] > p.cumsum(axis=1)).sum(1)]
    usage = 2.0 * south + rng.normal(size=n)
    y = (
        np.vectorize(PLAN_EFFECT.get)(plan)
        + np.vectorize(REGION_ON_Y.get)(region)
        + w
        + 0.5 * usage
        + rng.normal(size=n)
    )
    return pd.DataFrame({"plan": plan, "region": region, "w": w, "usage": usage, "y": y})


# ---------------------------------------------------------------------- data checks


def test_text_with_more_than_two_levels_is_categorical_with_the_most_frequent_as_reference():
    data = plans()
    checked = check_data(data, CausalGraph.parse(GRAPH), "y")
    assert checked.kinds["plan"] == checked.kinds["region"] == "categorical"
    assert checked.levels["plan"] == ("basic", "plus", "pro")  # sorted
    assert checked.reference["plan"] == data["plan"].value_counts().idxmax() == "basic"
    assert checked.reference["region"] == "north"
    codes = checked.frame["plan"].to_numpy()
    assert set(codes) == {0.0, 1.0, 2.0}
    assert (np.array(checked.levels["plan"])[codes.astype(int)] == data["plan"]).all()
    assert checked.level_codes("plan") == (("basic", "plus", "pro"), 0)


def test_category_dtype_keeps_its_order_and_drops_unused_levels():
    data = plans()
    order = ["west", "unused", "south", "north"]
    data["region"] = pd.Categorical(data["region"], categories=order)
    checked = check_data(data, CausalGraph.parse(GRAPH), "y")
    assert checked.levels["region"] == ("west", "south", "north")
    assert checked.reference["region"] == "north"


def test_two_levels_are_binary_and_dropped_rows_renumber_the_levels():
    data = plans()
    data["plan"] = np.where(data["plan"] == "pro", "pro", "basic")
    two = check_data(data, CausalGraph.parse(GRAPH), "y")
    assert two.kinds["plan"] == "binary" and two.levels["plan"] == ("basic", "pro")
    assert two.frame["plan"].sum() == (data["plan"] == "pro").sum()

    data = plans()
    data.loc[data["region"] == "north", "w"] = np.nan  # dropping these rows drops a level
    checked = check_data(data, CausalGraph.parse(GRAPH), "y", missing="drop")
    assert checked.kinds["region"] == "binary" and checked.levels["region"] == ("south", "west")
    assert checked.frame["region"].isin([0.0, 1.0]).all()


def test_a_number_among_the_words_is_an_error_not_a_level():
    data = plans()
    data.loc[5, "plan"] = "3"
    with pytest.raises(DataError, match=r"'plan' has non-numeric values among its numbers"):
        check_data(data, CausalGraph.parse(GRAPH), "y")


# ---------------------------------------------------------------------- estimation


def test_categorical_control_is_one_hot_encoded():
    # T's confounder C acts on T and Y through level "b" only: linear in a one-hot column,
    # not in the codes. With linear nuisances, codes would leave that confounding in.
    rng = np.random.default_rng(3)
    n = 1500
    c = rng.choice(["a", "b", "c"], size=n)
    b = (c == "b").astype(float)
    t = 2.0 * b + rng.normal(size=n)
    y = 1.0 * t + 3.0 * b + rng.normal(size=n)
    data = pd.DataFrame({"C": c, "T": t, "Y": y})
    graph = CausalGraph.parse("C -> T; C -> Y; T -> Y")
    checked = check_data(data, graph, "Y", features=["T"])
    estimate = effects.estimate_effects(checked, graph, nuisance="linear").by_feature["T"].estimate
    assert abs(estimate.estimate - 1.0) < 4 * estimate.stderr
    as_codes = check_data(data.assign(C=checked.frame["C"]), graph, "Y", features=["T"])
    assert as_codes.kinds["C"] == "continuous"  # the same codes as numbers: biased
    biased = effects.estimate_effects(as_codes, graph, nuisance="linear").by_feature["T"]
    assert abs(biased.estimate.estimate - 1.0) > 10 * biased.estimate.stderr


def test_multi_level_treatment_is_estimated_per_level_against_the_reference():
    graph = CausalGraph.parse(GRAPH)
    checked = check_data(plans(), graph, "y", features=["plan", "w", "usage"])
    result = effects.estimate_effects(checked, graph, seed=1).by_feature["plan"]
    assert result.status == "estimated"
    assert [(lv.level, lv.reference) for lv in result.levels] == [
        ("plus", "basic"),
        ("pro", "basic"),
    ]
    for level in result.levels:
        e = level.estimate
        truth = PLAN_EFFECT[level.level] - PLAN_EFFECT["basic"]
        assert abs(e.estimate - truth) < 4 * e.stderr, (level, truth)
        assert level.n_rows == int(checked.frame["plan"].isin([0, checked.levels["plan"].index(
            level.level)]).sum())  # fmt: skip
    # The summary: the most significant contrast, Bonferroni-adjusted over the two levels.
    pro = result.levels[1].estimate
    assert result.estimate.estimate == pro.estimate
    assert result.estimate.p_value == pytest.approx(min(1.0, 2 * pro.p_value))
    half = result.estimate.ci_high - result.estimate.estimate
    assert half == pytest.approx(2.241403 * pro.stderr, rel=1e-5)  # z at 1 - 0.025 / 2
    assert "Bonferroni" in result.estimate.method and "'pro' vs reference 'basic'" in (
        result.estimate.method
    )


def test_a_failing_level_keeps_its_message_and_the_others_stand(monkeypatch):
    graph = CausalGraph.parse(GRAPH)
    checked = check_data(plans(), graph, "y", features=["plan"])
    real = effects.estimate_identified
    pro_rows = int((checked.frame["plan"] == 2).sum())

    def flaky(identification, y, t, **kwargs):
        if kwargs.get("treatment_kind") == "binary" and int(t.sum()) == pro_rows:
            raise FloatingPointError("overflow in the propensity model")
        return real(identification, y, t, **kwargs)

    monkeypatch.setattr(effects, "estimate_identified", flaky)
    result = effects.estimate_effects(checked, graph, n_jobs=1).by_feature["plan"]
    plus, pro = result.levels
    assert result.status == "estimated" and plus.estimate is not None
    assert pro.estimate is None and pro.message == "FloatingPointError: overflow in the " + (
        "propensity model"
    )
    assert result.estimate.estimate == plus.estimate.estimate
    assert result.estimate.p_value == pytest.approx(min(1.0, 2 * plus.estimate.p_value))

    monkeypatch.setattr(
        effects, "estimate_identified", lambda *a, **k: (_ for _ in ()).throw(ValueError("no"))
    )
    failed = effects.estimate_effects(checked, graph, n_jobs=1).by_feature["plan"]
    assert failed.status == "error"
    assert failed.message.startswith("no level of plan could be estimated against the reference")


def test_the_refutation_stage_expands_categorical_controls_itself():
    # Called directly, without the pipeline: region is a categorical control of usage's and
    # plan's effects and must enter the re-estimations as 0/1 level columns, as it entered
    # the estimation (its level codes as one number would be a different adjustment).
    graph = CausalGraph.parse(GRAPH)
    checked = check_data(plans(), graph, "y")
    estimated = effects.estimate_effects(checked, graph, n_jobs=1, nuisance="linear")
    # Re-fitted, so every simulation re-estimates with the controls it is handed (and with
    # the linear nuisances the effects were estimated with: the refuters read them there).
    # usage's effect is 0.5, confounded by region only: adjusting for its levels recovers it.
    assert estimated.by_feature["usage"].estimate.estimate == pytest.approx(0.5, abs=0.15)
    refuted = refute.refute_effects(
        checked, estimated, refute="quick", n_jobs=1, seed=1, refit=True
    )
    assert not refuted.by_feature.get("plan")  # per-level effects are not refuted
    usage = {r.name: r for r in refuted.by_feature["usage"]}
    assert set(usage) == set(refute.REFUTERS)
    assert all(r.passed for r in usage.values()), {n: r.detail for n, r in usage.items()}
    # The data subset's re-estimates centre on the estimate made with the one-hot controls
    # (with region's codes as one number, south's effect would confound usage's).
    subset = usage["data_subset"].distribution
    estimate = estimated.by_feature["usage"].estimate
    assert abs(subset.mean() - estimate.estimate) < estimate.stderr


# ---------------------------------------------------------------------- the whole analysis


@pytest.fixture(scope="module")
def report():
    return analyze(plans(), GRAPH, "y", refute="quick", test_graph=True, seed=2)


def test_report_json_lists_the_levels(report, tmp_path):
    report.write(tmp_path)
    saved = json.loads((tmp_path / "report.json").read_text())
    by_name = {f["name"]: f for f in saved["features"]}
    plan = by_name["plan"]
    assert plan["kind"] == "categorical" and by_name["region"]["kind"] == "categorical"
    levels = plan["effect"]["levels"]
    assert [(lv["level"], lv["reference"]) for lv in levels] == [
        ("plus", "basic"),
        ("pro", "basic"),
    ]
    for lv in levels:
        truth = PLAN_EFFECT[lv["level"]]
        assert lv["ci_low"] < truth < lv["ci_high"] and lv["error"] is None
        assert lv["method"] == "LinearDRLearner" and lv["n_rows"] > 100
    assert "levels" not in by_name["w"]["effect"]  # only categorical treatments have levels
    # A categorical treatment's per-level estimates are not refuted; the others are.
    assert plan["refutations"] == [] and plan["sensitivity"] is None
    assert by_name["w"]["refutations"] and by_name["usage"]["refutations"]
    assert "Bonferroni" in (tmp_path / "report.html").read_text()


def test_categorical_attributions_and_verdicts(report):
    rows = report.table.set_index("feature")
    assert np.isnan(rows.loc["plan", "slope"]) and np.isnan(rows.loc["region", "slope"])
    assert np.isfinite(rows.loc["w", "slope"])
    assert rows.loc["plan", "rank"] == 1  # the largest effect on y
    assert rows.loc["plan", "verdict"] == "supported"
    assert rows.loc["region", "causal_support"] is True  # the south level acts on y
    # One-hot columns of the default Pipeline: its fast path, summed back to each feature.
    assert report.attributions.explainer == "pipeline-tree"
    assert list(report.attributions.shap_values.columns) == list(report.features)
    # The controls' one-hot encoding is what the refuters re-estimate with: nothing breaks.
    assert not report.refutations.failed("w") and not report.refutations.failed("usage")


def test_the_default_pipeline_serves_the_domain_check_the_curves_and_explain(report):
    out = report.to_dict()
    # The default model one-hot encodes plan and region inside a Pipeline: the other
    # features' directions are checked on it, and their curves use its partial dependence.
    assert out["domain"]["error"] is None
    assert "w" in out["domain"]["checked"] and "plan" not in out["domain"]["checked"]
    curves = {row["name"]: row["curve"] for row in out["features"]}
    assert curves["w"]["model_curve"] == "partial_dependence"
    # explain rebuilds the same model and names each coded value's level.
    data = plans()
    explained = explain_rows(report, data, [0, 1], progress=False)
    for row in explained.to_dict()["rows"]:
        by_feature = {c["feature"]: c for c in row["contributions"]}
        assert by_feature["plan"]["level"] == data["plan"].iloc[row["position"]]
        assert by_feature["region"]["level"] == data["region"].iloc[row["position"]]
        assert "level" not in by_feature["w"]
        # The SHAP values add up to the prediction (rounded to 6 digits in the JSON).
        assert row["prediction"] == pytest.approx(
            row["base_value"] + sum(c["shap"] for c in row["contributions"]), abs=1e-4
        )
    assert "| plan | " + data["plan"].iloc[0] + " |" in explained.to_markdown()


def test_the_users_own_model_gets_its_own_values_back():
    data = plans(n=400)
    features = ["plan", "region", "w", "usage"]
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan", "region"]), remainder="passthrough"),
        LinearRegression(),
    ).fit(data[features], data["y"])
    report = analyze(data, GRAPH, "y", model=model, refute="none", test_graph=False)
    shap = report.attributions.shap_values
    # A linear model on one-hot levels: each row's SHAP value of plan is its level's
    # coefficient minus the background mean of that coefficient.
    coefs = dict(zip(model[0].get_feature_names_out(), model[-1].coef_, strict=True))
    level_coef = data["plan"].map(lambda v: coefs[f"onehotencoder__plan_{v}"]).to_numpy()
    spread = shap["plan"].to_numpy() - level_coef[shap.index]
    assert np.ptp(spread) < 1e-8
    assert np.isnan(report.table.set_index("feature").loc["plan", "slope"])
    assert report.settings["model"] == "Pipeline"


def test_dependence_plot_of_a_categorical_feature_shows_per_level_effects(report):
    from causalinterp.render import plots

    fig = plots.plot_dependence("plan", report.effects, report.attributions, checked=report.checked)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["basic (reference)", "plus", "pro"]
    assert not any(line.get_label().startswith("causal effect (") for line in ax.get_lines())
    # The model's mean SHAP value per level, at the level codes.
    shap, codes = (
        report.attributions.shap_values["plan"],
        report.attributions.feature_values["plan"],
    )
    means = next(line for line in ax.get_lines() if line.get_label() == "mean SHAP value per level")
    xs, ys = means.get_data()
    assert list(xs) == [0, 1, 2]
    assert ys == pytest.approx([shap[codes == c].mean() for c in (0, 1, 2)])
    # Each level's effect hangs from the reference level's mean SHAP value.
    markers = [line for line in ax.get_lines() if line.get_marker() == "o"]
    centres = sorted((float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in markers)
    levels = report.effects.by_feature["plan"].levels
    assert [round(x) for x, _ in centres] == [1, 2]
    assert [y - ys[0] for _, y in centres] == pytest.approx([lv.estimate.estimate for lv in levels])
    # The level names are tick labels centred on the first and last ticks: inside the figure.
    assert texts_outside(fig) == []
    plots.to_svg(fig)


def test_numbers_stored_as_text_get_convert_to_numbers_advice():
    # A rate exported as "5.39%" is a number, not a level: no advice about grouping levels.
    data = plans()
    data["w"] = [f"{v:.2f}%" for v in data["w"]]
    with pytest.raises(
        DataError,
        match=r"^data: column 'w' holds numbers stored as text \(e\.g\. '-?\d+\.\d\d%'\); "
        r"convert it to numbers",
    ) as caught:
        check_data(data, CausalGraph.parse(GRAPH), "y")
    assert "convert it to numbers" in str(caught.value)
    assert "level" not in str(caught.value)
    money = plans().assign(w=lambda d: [f"${1000 + 100 * v:,.0f}" for v in d["w"]])
    with pytest.raises(DataError, match=r"holds numbers stored as text \(e\.g\. '\$1,"):
        check_data(money, CausalGraph.parse(GRAPH), "y")
