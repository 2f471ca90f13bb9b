"""Per-row explanations: individual effects against a simulated truth, levers against the
simulated structure, LIME's determinism, the files and the command line."""

from __future__ import annotations

import json

import _explain_worlds as world
import numpy as np
import pandas as pd
import pytest

from causalinterp.cli import main
from causalinterp.data import check_data
from causalinterp.errors import DataError, ModelError, OptionError
from causalinterp.explain import explain_rows
from causalinterp.explain.cate import modifiers_and_controls, row_effects
from causalinterp.explain.lime import agreement, lime_explain
from causalinterp.graph import CausalGraph

GRAPH = CausalGraph.parse(world.GRAPH)
ROWS = [0, 3, 7, 11, 19, 23, 42, 57]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    import causalinterp

    data = world.sample(2000, seed=1)
    report = causalinterp.analyze(
        data,
        world.GRAPH,
        "y",
        features=world.FEATURES,
        refute="none",
        test_graph=False,
        progress=False,
        seed=3,
    )
    folder = tmp_path_factory.mktemp("analysis")
    report.write(folder, include_plots=False)
    data.to_csv(folder / "data.csv", index=False)
    return data, report, folder


@pytest.fixture(scope="module")
def explained(analysis):
    data, report, _ = analysis
    return explain_rows(report, data, ROWS)


# ------------------------------------------------------------------ individual effects


def test_row_effect_intervals_cover_the_individual_effects():
    """Pooled over three data sets and 100 rows each, the 95% intervals of the per-row
    effects cover the simulated individual effects at about the nominal rate, and they are
    narrow enough to tell rows apart (the individual effects vary by about +-1.6)."""
    covered = {"t": [], "d": []}
    widths = {"t": [], "d": []}
    for seed in range(3):
        data = world.sample(2000, seed=100 + seed)
        checked = check_data(data, GRAPH, "y", features=world.FEATURES)
        rows = list(range(100))
        a = data["a"].to_numpy()[:100]
        for name, truth in (("t", world.effect_t(a)), ("d", world.effect_d(a))):
            fx = row_effects(
                checked,
                GRAPH,
                name,
                {"strategy": "backdoor", "adjustment_set": ["a"]},
                rows,
                seed=seed,
            )
            assert fx.message == "" and "c" not in fx.modifiers  # c is a descendant
            low, high = np.array(fx.ci_low), np.array(fx.ci_high)
            covered[name].extend((low <= truth) & (truth <= high))
            widths[name].extend(high - low)
    for name in ("t", "d"):
        assert 0.8 <= np.mean(covered[name]) <= 1.0, name
        assert np.mean(widths[name]) < 1.0, name


def test_an_average_effect_would_not_cover_them():
    """The check above can fail: intervals that ignore the modifiers miss most rows."""
    data = world.sample(2000, seed=7)
    checked = check_data(data, GRAPH, "y", features=["t", "d"])  # a is not a modifier here
    fx = row_effects(
        checked,
        GRAPH,
        "t",
        {"strategy": "backdoor", "adjustment_set": ["a"]},
        range(200),
        seed=0,
    )
    truth = world.effect_t(data["a"].to_numpy()[:200])
    inside = (np.array(fx.ci_low) <= truth) & (truth <= np.array(fx.ci_high))
    assert fx.modifiers == ("d",) and inside.mean() < 0.5


def test_modifiers_leave_out_descendants_and_colliders():
    # m is a collider between two latent causes of t and y (M-bias): conditioning on it
    # would open a back-door path, so it is no effect modifier although it is pre-treatment.
    g = CausalGraph.parse(
        "u1 -> m; u2 -> m; u1 -> t; u2 -> y; a -> t; a -> y; t -> k; k -> y; t -> y; y -> c"
    )
    modifiers, controls = modifiers_and_controls(g, "t", "y", ["a", "m", "t", "k", "c"], ["a"])
    assert modifiers == ("a",) and controls == ()


def test_effects_need_back_door_identification():
    data = world.sample(500, seed=0)
    checked = check_data(data, GRAPH, "y", features=world.FEATURES)
    fx = row_effects(checked, GRAPH, "t", {"strategy": "iv", "adjustment_set": []}, [0], seed=0)
    assert fx.estimate == () and "iv" in fx.message


def test_every_verdict_without_causal_support_says_why_it_is_no_lever():
    from causalinterp.explain.core import _NOT_LEVER
    from causalinterp.verdicts import Verdict

    supported = {Verdict.SUPPORTED, Verdict.OVER_ATTRIBUTED, Verdict.UNDER_ATTRIBUTED}
    assert set(Verdict) - supported == set(_NOT_LEVER)


def test_a_root_feature_without_controls_or_modifiers_gets_its_row_effects():
    # t is a root with no confounder and no other feature: an empty adjustment set and no
    # modifier, so the effect is the same for every row (the true slope, 2).
    rng = np.random.default_rng(0)
    t = rng.normal(size=800)
    data = pd.DataFrame({"t": t, "y": 2.0 * t + rng.normal(size=800)})
    graph = CausalGraph.parse("t -> y")
    checked = check_data(data, graph, "y", features=["t"])
    fx = row_effects(checked, graph, "t", {"strategy": "backdoor", "adjustment_set": []},
                     [0, 5, 9], seed=0, nuisance="linear")  # fmt: skip
    assert fx.message == "" and fx.modifiers == () and fx.controls == ()
    assert len(fx.estimate) == 3 and len(set(fx.estimate)) == 1
    assert fx.ci_low[0] < 2.0 < fx.ci_high[0] and abs(fx.estimate[0] - 2.0) < 0.15


# ----------------------------------------------------------------------------- levers


def test_proxy_and_consequence_are_never_levers(explained, analysis):
    _, report, _ = analysis
    assert report.verdicts["c"].verdict == "no_causal_path"
    assert report.verdicts["p"].verdict == "no_causal_path"
    top_is_leak = 0
    for row in explained.rows:
        by_name = {c.feature: c for c in row.contributions}
        for name in ("c", "p"):
            assert not by_name[name].lever and "no causal path" in by_name[name].reason
        top_is_leak += row.contributions[0].feature == "c"
        assert "d" in row.levers  # d's individual effect 2 + a is far from 0 in these rows
        # Levers are ranked by the size of the change of this row's outcome.
        changes = [abs(by_name[f].change["estimate"]) for f in row.levers]
        assert changes == sorted(changes, reverse=True)
    # The test means something: the consequence is the largest SHAP contribution of most rows.
    assert top_is_leak >= len(ROWS) // 2


def test_row_effects_follow_the_modifier(explained, analysis):
    data, _, _ = analysis
    for row in explained.rows:
        a = data.loc[row.row, "a"]
        t = {c.feature: c for c in row.contributions}["t"]
        assert t.effect["source"] == "row"
        assert abs(t.effect["estimate"] - float(world.effect_t(np.array([a]))[0])) < 0.35


def test_rebuilt_model_gives_the_reports_shap_values(explained, analysis):
    _, report, _ = analysis
    shap = report.attributions.shap_values
    common = [r for r in explained.rows if r.position in shap.index]
    assert common, "no requested row among the report's explained rows"
    for row in common:
        mine = {c.feature: c.shap for c in row.contributions}
        theirs = shap.loc[row.position]
        for name in world.FEATURES:
            assert mine[name] == pytest.approx(float(theirs[name]), abs=1e-9)


def test_levers_have_intervals_that_exclude_zero_and_say_which_way(analysis):
    """t's individual effect 1 + 0.8 a changes sign at a = -1.25: a row far above that has
    t as a lever to raise, one far below as a lever to lower, and one at it no lever at all
    (its interval includes 0, so neither direction is known)."""
    data, report, _ = analysis
    a = data["a"]
    rows = [int((a - 1.5).abs().idxmin()), int((a + 1.25).abs().idxmin()), int(a.idxmin())]
    assert a[rows[2]] < -2.5  # effect_t < -1 there
    out = explain_rows(report, data, rows)
    up, flat, down = ({c.feature: c for c in r.contributions}["t"] for r in out.rows)
    for c in (up, flat, down):
        excludes = c.change["ci_low"] > 0 or c.change["ci_high"] < 0
        assert c.lever == excludes
        assert (c.move is None) == (not c.lever) and (c.advice is None) == (not c.lever)
    assert up.lever and up.move == "raise" and up.change["estimate"] > 0
    assert up.advice.startswith("to raise y, raise t: ")
    assert not flat.lever and "may be of either sign" in flat.reason
    assert down.lever and down.move == "lower" and down.change["ci_high"] < 0
    assert down.advice.startswith("to raise y, lower t: ")
    # A binary lever says which level to switch to; its size is the row's |change|.
    d = {c.feature: c for c in out.rows[0].contributions}["d"]
    other = "1" if d.value == 0 else "0"
    assert d.move == "switch" and d.advice.startswith(f"switching d to {other} ")
    assert f"by {abs(d.change['estimate']):.3g} (95% CI" in d.advice


def test_base_value_is_labelled_and_the_mean_prediction_shown(explained, analysis):
    data, _, _ = analysis
    # The model's mean prediction over the analysed rows (a fitted model's is the outcome's
    # mean), shown beside SHAP's base value, which is another number.
    predictions = [r.prediction for r in explained.rows]
    assert explained.mean_prediction == pytest.approx(data["y"].mean(), abs=0.1)
    for row in explained.rows:
        assert row.base_value + sum(c.shap for c in row.contributions) == pytest.approx(
            row.prediction, abs=1e-6
        )
    assert min(predictions) < explained.mean_prediction < max(predictions)
    from causalinterp.render._text import fmt

    text = explained.to_markdown()
    row = explained.rows[0]
    assert f"SHAP base value {fmt(row.base_value)}" in text
    assert f"the model's mean prediction {fmt(explained.mean_prediction)}" in text
    assert "(average" not in text
    page = explained.to_html()
    assert f"SHAP base value {fmt(row.base_value)}" in page
    assert explained.to_dict()["mean_prediction"] == float(f"{explained.mean_prediction:.6g}")


def test_fixed_features_are_not_levers(analysis):
    data, report, _ = analysis
    out = explain_rows(report, data, [0], fixed=["t"])
    t = {c.feature: c for c in out.rows[0].contributions}["t"]
    assert not t.lever and "fixed" in t.reason and "t" not in out.rows[0].levers


# ------------------------------------------------------------------------------- LIME


def test_lime_is_identical_for_one_seed_and_recovers_a_linear_model():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(
        {
            "x1": rng.normal(2.0, 3.0, 800),
            "x2": rng.normal(size=800),
            "b": (rng.random(800) < 0.4).astype(float),
        }
    )

    def predict(frame):
        return 0.5 * frame["x1"].to_numpy() - 2.0 * frame["x2"].to_numpy()

    kinds = {"x1": "continuous", "x2": "continuous", "b": "binary"}
    first = lime_explain(predict, ref.iloc[5], ref, kinds, seed=11, runs=4)
    again = lime_explain(predict, ref.iloc[5], ref, kinds, seed=11, runs=4)
    other = lime_explain(predict, ref.iloc[5], ref, kinds, seed=12, runs=4)
    assert first == again
    assert first.contributions != other.contributions
    # For a linear model the local surrogate is the model: contribution = slope (x - mean).
    for name, slope in (("x1", 0.5), ("x2", -2.0)):
        expected = slope * (ref[name].iloc[5] - ref[name].mean())
        assert first.contributions[name] == pytest.approx(expected, abs=0.05)
    assert abs(first.contributions["b"]) < 0.05
    assert first.vsi == 100.0 and 0.0 <= first.csi <= 100.0


def test_lime_explanations_and_disagreement_flag(analysis):
    data, report, _ = analysis
    out = explain_rows(report, data, [0, 3], explainer="lime", lime_runs=3, lime_samples=1000)
    again = explain_rows(report, data, [0, 3], explainer="lime", lime_runs=3, lime_samples=1000)
    assert out.to_dict()["rows"] == again.to_dict()["rows"]
    for row in out.rows:
        assert row.lime is not None and 0.0 <= row.lime.vsi <= 100.0
        assert all(c.lime is not None for c in row.contributions)
        tau, disagrees = agreement(
            {c.feature: c.shap for c in row.contributions},
            {c.feature: c.lime for c in row.contributions},
        )
        assert (tau, disagrees) == (row.lime.kendall_tau, row.lime.disagrees)


def test_agreement_flags_a_different_top_feature():
    assert agreement({"a": 3.0, "b": 1.0, "c": 0.5}, {"a": -2.9, "b": 1.1, "c": 0.4}) == (
        1.0,
        False,
    )
    assert agreement({"a": 3.0, "b": 1.0, "c": 0.5}, {"a": 1.0, "b": 3.0, "c": 0.5})[1]


# ------------------------------------------------------------------ files and errors


def test_explain_json_and_cards(explained, tmp_path):
    paths = explained.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert [r["row"] for r in data["rows"]] == ROWS
    for row in data["rows"]:
        for c in row["contributions"]:
            assert {"feature", "shap", "causal_support", "lever", "effect"} <= set(c)
            if c["effect"] is not None:
                assert c["effect"]["ci_low"] <= c["effect"]["estimate"] <= c["effect"]["ci_high"]
    page = paths["html"].read_text()
    assert page.count('<details class="card" open>') == len(ROWS)
    # The reports' Content-Security-Policy: nothing runs, nothing loads.
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src '
        "data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
    ) in page
    assert "src=" not in page.replace("default-src", "").replace("style-src", "").replace(
        "img-src", ""
    )
    assert paths["markdown"].read_text().count("## Row ") == len(ROWS)


def test_bad_rows_and_options(analysis):
    data, report, _ = analysis
    with pytest.raises(DataError, match="rows: 99999 is not a row"):
        explain_rows(report, data, [99999])
    with pytest.raises(
        OptionError, match=r"^explainer: unknown value 'kernel'; use one of 'shap', 'lime'$"
    ):
        explain_rows(report, data, [0], explainer="kernel")
    with pytest.raises(OptionError, match=r"^lime_runs: expected an integer >= 1, got 0; "):
        explain_rows(report, data, [0], explainer="lime", lime_runs=0)
    with pytest.raises(OptionError, match="fixed: 'zz' is not a model feature"):
        explain_rows(report, data, [0], fixed=["zz"])
    with pytest.raises(DataError, match="id_column: 'nope'"):
        explain_rows(report, data, ["a"], id_column="nope")
    dict_report = json.loads(report.to_json())
    dict_report["settings"]["model"] = "LGBMRegressor"
    with pytest.raises(ModelError, match="pass"):
        explain_rows(dict_report, data, [0])


def test_command_line(analysis, tmp_path, capsys):
    data, _, folder = analysis
    ids = data.assign(customer=[f"c{i}" for i in range(len(data))])
    ids.to_csv(tmp_path / "ids.csv", index=False)
    out = tmp_path / "explain"
    code = main(
        [
            "explain",
            "--analysis",
            str(folder),
            "--data",
            str(tmp_path / "ids.csv"),
            "--rows",
            "c3,c7",
            "--id-column",
            "customer",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    written = json.loads((out / "explain.json").read_text())
    assert [r["row"] for r in written["rows"]] == ["c3", "c7"]
    assert written["notes"] == ["the analysis' default model was refitted with its seed"]
    code = main(
        [
            "explain",
            "--analysis",
            str(tmp_path),
            "--data",
            str(folder / "data.csv"),
            "--rows",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("causalinterp: error: analysis:") and "report.json" in err
    assert len(err.strip().splitlines()) == 1


def test_a_failing_effect_fit_keeps_the_rest(analysis, monkeypatch):
    from causalinterp.estimate import _econml

    real = _econml.fit_conditional

    def failing(y, t, *args, **kwargs):
        if kwargs["treatment_kind"] == "continuous":
            raise RuntimeError("solver exploded")
        return real(y, t, *args, **kwargs)

    monkeypatch.setattr(_econml, "fit_conditional", failing)
    data, report, _ = analysis
    out = explain_rows(report, data, [0])
    by_name = {c.feature: c for c in out.rows[0].contributions}
    assert "solver exploded" in out.effects["t"]["message"]
    # The failed feature falls back to the analysis' average effect; the others are per row.
    assert by_name["t"].effect["source"] == "average" and "solver exploded" in by_name["t"].reason
    assert by_name["d"].effect["source"] == "row"


def test_report_json_gives_the_same_explanation(analysis, explained):
    data, report, _ = analysis
    from_json = explain_rows(json.loads(report.to_json()), data, ROWS[:2])
    for mine, theirs in zip(from_json.rows, explained.rows[:2], strict=True):
        assert mine.levers == theirs.levers
        assert [c.shap for c in mine.contributions] == [c.shap for c in theirs.contributions]
        assert [c.effect for c in mine.contributions] == [c.effect for c in theirs.contributions]


def test_a_prepared_explainer_reads_rows_one_at_a_time(analysis, explained):
    from causalinterp.explain import prepare

    data, report, _ = analysis
    prepared = prepare(report, data)
    for k, row in enumerate(ROWS[:3]):
        alone = prepared.explain([row]).rows[0]
        together = explained.rows[k]
        assert alone.levers == together.levers
        for mine, theirs in zip(alone.contributions, together.contributions, strict=True):
            assert (mine.feature, mine.lever, mine.reason) == (
                theirs.feature,
                theirs.lever,
                theirs.reason,
            )
            assert mine.shap == pytest.approx(theirs.shap, abs=1e-12)
            if theirs.effect is not None:
                # One row or many: the same fit read at the row (rounding differs only).
                assert mine.effect["estimate"] == pytest.approx(theirs.effect["estimate"], 1e-9)
                assert mine.effect["ci_low"] == pytest.approx(theirs.effect["ci_low"], 1e-9)


def test_report_explain_without_data_uses_the_checked_rows(analysis, explained):
    _, report, _ = analysis
    alone = explain_rows(report, None, ROWS[:1]).rows[0]  # no data: the analysed rows, by position
    assert alone.levers == explained.rows[0].levers
    assert [c.shap for c in alone.contributions] == pytest.approx(
        [c.shap for c in explained.rows[0].contributions], abs=1e-12
    )
