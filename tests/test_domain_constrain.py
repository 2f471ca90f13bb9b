"""Refitting with monotone constraints: every supported family, scores, errors, the CLI."""

import argparse
import json

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from _domain_worlds import GRAPH, SIGNS, world
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.tree import DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from causalinterp.domain import cli as domain_cli
from causalinterp.domain import constrain
from causalinterp.domain.render import constrain_dict, constrain_markdown
from causalinterp.errors import ModelError, OptionError

FAST = {"ice_rows": 60, "ice_grid": 40, "score_bootstrap": 200}


@pytest.fixture(autouse=True)
def _one_thread():
    # Two shared cores: OpenMP thread pools would oversubscribe them.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def continuous():
    return world("continuous").sample(1500, seed=11)


@pytest.fixture(scope="module")
def binary():
    return world("binary", artefact=6.0).sample(2500, seed=12)


FAMILIES = [
    ("hgb regressor", "continuous", lambda: HistGradientBoostingRegressor(max_iter=60)),
    ("hgb classifier", "binary", lambda: HistGradientBoostingClassifier(max_iter=60)),
    ("decision tree", "continuous", lambda: DecisionTreeRegressor(min_samples_leaf=10)),
    ("random forest", "binary",
     lambda: RandomForestClassifier(n_estimators=25, min_samples_leaf=10, n_jobs=1)),
    ("extra trees", "continuous",
     lambda: ExtraTreesRegressor(n_estimators=25, min_samples_leaf=5, n_jobs=1)),
    ("lightgbm", "continuous",
     lambda: lightgbm.LGBMRegressor(n_estimators=60, n_jobs=1, verbose=-1)),
    ("lightgbm classifier", "binary",
     lambda: lightgbm.LGBMClassifier(n_estimators=60, n_jobs=1, verbose=-1)),
    ("xgboost", "continuous", lambda: xgboost.XGBRegressor(n_estimators=60, n_jobs=1)),
    ("xgboost classifier", "binary", lambda: xgboost.XGBClassifier(n_estimators=60, n_jobs=1)),
]


@pytest.mark.parametrize(("label", "kind", "make"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_constrained_family_has_no_violation(label, kind, make, request):
    data = request.getfixturevalue(kind)
    result = constrain(make(), data, GRAPH, "y", signs=SIGNS, seed=0, **FAST)
    assert result.constraints == {"price": 1, "income": -1}
    # The unconstrained refit learns the planted drop in price; the constrained one cannot.
    assert result.before.by_feature["price"].violation_share > 0.2
    for name in ("price", "income"):
        after = result.after.by_feature[name]
        assert after.violation_share == 0.0 and after.max_violation == 0.0
        assert after.exact is not None and after.exact.status == "monotone"
    assert result.before.by_feature["price"].exact.status == "violated"
    metrics = [s.metric for s in result.scores]
    assert metrics == (["rmse"] if kind == "continuous" else ["log_loss", "auc"])
    for s in result.scores:
        assert s.ci_low <= s.difference <= s.ci_high


def test_cost_is_measurable_when_the_truth_breaks_the_direction(continuous):
    # The planted drop is real in the validation rows too: forbidding it must cost RMSE.
    result = constrain(None, continuous, GRAPH, "y", signs=SIGNS, seed=1, **FAST)
    (rmse,) = result.scores
    assert rmse.ci_low > 0 and rmse.cost > 0
    assert "measurably worse" in constrain_markdown(result)


def test_no_cost_when_the_truth_respects_the_direction():
    data = world("continuous", artefact=0.0).sample(1500, seed=13)
    result = constrain(None, data, GRAPH, "y", signs=SIGNS, seed=1, **FAST)
    (rmse,) = result.scores
    assert rmse.ci_low < 0.01 and abs(rmse.difference) < 0.05 * rmse.before
    assert result.after.violated == ()


def test_same_seed_same_result(continuous):
    model = lightgbm.LGBMRegressor(n_estimators=30, n_jobs=1, verbose=-1)
    one = constrain_dict(constrain(model, continuous, GRAPH, "y", signs=SIGNS, seed=4, **FAST))
    two = constrain_dict(constrain(model, continuous, GRAPH, "y", signs=SIGNS, seed=4, **FAST))
    assert one == two
    assert one["features"]["price"]["violation_share_after"] == 0.0
    assert one["features"]["price"]["violation_share_before"] > 0.2


def test_suggested_directions_are_used_and_marked(continuous):
    result = constrain(None, continuous, GRAPH, "y", seed=0,
                       effects={"price": (0.6, 0.5, 0.7), "income": (0.1, -0.3, 0.5)}, **FAST)
    assert result.constraints == {"price": 1, "income": 0}
    assert result.directions.by_feature["price"].source == "suggested"
    assert constrain_dict(result)["features"]["price"]["source"] == "suggested"


def test_unsupported_family_and_bad_options(continuous):
    with pytest.raises(ModelError, match="model GradientBoostingRegressor: monotone constraints "
                       "are not supported for this model family; use histogram gradient"):
        constrain(GradientBoostingRegressor(), continuous, GRAPH, "y", signs=SIGNS)
    with pytest.raises(OptionError, match="validation_fraction: expected a number in"):
        constrain(None, continuous, GRAPH, "y", signs=SIGNS, validation_fraction=1.5)


def _cli(argv):
    parser = argparse.ArgumentParser()
    domain_cli.add_parser(parser.add_subparsers(dest="command"))
    return domain_cli.run(parser.parse_args(argv))


def test_cli_writes_json_markdown_and_the_model(tmp_path, continuous, capsys):
    path = tmp_path / "data.csv"
    continuous.to_csv(path, index=False)
    out = tmp_path / "out"
    code = _cli(["constrain", "--data", str(path), "--graph", GRAPH, "--outcome", "y",
                 "--out", str(out), "--signs", "price -> y [+]; income -> y [-]",
                 "--model-family", "lightgbm", "--ice-rows", "50", "--ice-grid", "30",
                 "--score-bootstrap", "200", "--seed", "2"])
    assert code == 0, capsys.readouterr().err
    content = json.loads((out / "constrain.json").read_text())
    assert content["model"] == "LGBMRegressor"
    assert content["features"]["price"]["violation_share_after"] == 0.0
    assert content["features"]["price"]["violation_share_before"] > 0.2
    assert set(content["scores"]["rmse"]) >= {"before", "after", "ci_low", "ci_high"}
    booster = lightgbm.Booster(model_file=str(out / content["model_file"]))
    # One row moved along price: the reloaded model's curve must not fall.
    curve = pd.DataFrame({"income": 0.0, "price": np.linspace(4, 16, 40)})
    assert np.all(np.diff(booster.predict(curve)) >= 0)
    assert "| price | + | declared |" in (out / "constrain.md").read_text()


def test_cli_errors_are_one_line(tmp_path, capsys):
    path = tmp_path / "data.csv"
    pd.DataFrame({"price": [1.0, 2.0], "y": [0.0, 1.0]}).to_csv(path, index=False)
    code = _cli(["constrain", "--data", str(path), "--graph", "price -> y", "--outcome", "y",
                 "--out", str(tmp_path / "o"), "--signs", "price -> y"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("causalinterp: error: signs: statement 'price -> y' at character 1: "
                           "no sign in brackets after the edge; write e.g. 'price -> churn [+]; "
                           "income -> churn [-]'")
    assert not (tmp_path / "o").exists()


def test_bootstrap_auc_and_log_loss_match_scikit_learn():
    from sklearn.metrics import log_loss, roc_auc_score

    from causalinterp.domain.refit import _AUC, _log_loss

    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.4).astype(float)
    scores = np.round(rng.random(300), 1)  # many ties
    weights = rng.multinomial(300, np.full(300, 1 / 300), size=3).astype(float)
    auc = _AUC(y, scores)(weights)
    for w, value in zip(weights, auc, strict=True):
        assert value == pytest.approx(roc_auc_score(y, scores, sample_weight=w), abs=1e-12)
    assert _log_loss(y, scores).mean() == pytest.approx(log_loss(y, scores), abs=1e-12)


def test_verdicts_are_rerun_on_the_constrained_model(continuous, monkeypatch):
    import causalinterp.pipeline

    seen = {}

    class FakeReport:
        table = pd.DataFrame({"feature": ["price", "income"], "verdict": ["supported"] * 2})

    def fake_analyze(data, graph, outcome, *, model, **options):
        seen["model"], seen["options"] = model, options
        return FakeReport()

    # The full analysis estimates every effect (minutes); its wiring is what is tested here.
    monkeypatch.setattr(causalinterp.pipeline, "analyze", fake_analyze)
    result = constrain(None, continuous, GRAPH, "y", signs=SIGNS, verdicts=True,
                       analyze_options={"refute": "none"}, **FAST)
    assert seen["model"] is result.constrained
    assert seen["options"]["refute"] == "none"
    assert constrain_dict(result)["verdicts_after"][0] == {"feature": "price",
                                                           "verdict": "supported"}


def test_saved_models_reload_with_the_same_predictions(tmp_path, binary):
    from causalinterp.domain._trees import save

    x = binary[["income", "price"]].head(50)
    model = xgboost.XGBClassifier(n_estimators=20, n_jobs=1).fit(binary[["income", "price"]],
                                                                 binary["y"])
    path = save(model, tmp_path, "m")
    back = xgboost.XGBClassifier()
    back.load_model(path)
    assert path.name == "m.xgb.json"
    np.testing.assert_array_equal(back.predict_proba(x), model.predict_proba(x))
    tree = DecisionTreeRegressor(max_depth=3).fit(binary[["income", "price"]], binary["y"])
    path = save(tree, tmp_path, "t")
    if path.suffix == ".skops":
        import skops.io

        # The file was written by this test: its types can be trusted.
        loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    else:
        import joblib

        assert path.name == "t.joblib"  # skops not installed
        loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(x), tree.predict(x))


def test_cli_default_model_is_saved_with_the_types_to_trust(tmp_path, continuous):
    skops_io = pytest.importorskip("skops.io")
    path = tmp_path / "data.csv"
    continuous.to_csv(path, index=False)
    out = tmp_path / "out"
    assert _cli(["constrain", "--data", str(path), "--graph", GRAPH, "--outcome", "y",
                 "--out", str(out), "--signs", "price -> y [+]", "--ice-rows", "30",
                 "--score-bootstrap", "100", "--quiet"]) == 0
    content = json.loads((out / "constrain.json").read_text())
    assert content["model"] == "HistGradientBoostingRegressor"
    assert content["features"]["price"]["constraint"] == 1
    assert content["features"]["income"]["constraint"] == 0  # unsigned: unconstrained
    trusted = content["model_trusted_types"]
    assert trusted  # tree internals are outside skops' defaults
    model = skops_io.load(out / content["model_file"], trusted=trusted)
    grid = pd.DataFrame({"income": 0.0, "price": np.linspace(4, 16, 30)})
    assert np.all(np.diff(model.predict(grid)) >= 0)


def test_explicit_directions_override_the_graph(continuous):
    model = xgboost.XGBRegressor(n_estimators=20, n_jobs=1)
    result = constrain(model, continuous, GRAPH, "y", signs=SIGNS,
                       directions={"income": None, "price": "+"}, **FAST)
    assert result.constraints == {"income": 0, "price": 1}
    assert result.directions.by_feature["price"].reason == "given explicitly"
    with pytest.raises(OptionError, match=r"directions: 'tenure' not among the features"):
        constrain(model, continuous, GRAPH, "y", directions={"tenure": "+"}, **FAST)


def test_the_result_writes_itself_and_records_a_seed_sequence(tmp_path, continuous):
    # constrain.json is written by the result (as report.json is by Report), and a
    # SeedSequence is recorded whole: re-running with what the file says gives the same fit.
    seed = np.random.SeedSequence(42, spawn_key=(3,))
    result = constrain(None, continuous, GRAPH, "y", signs=SIGNS, seed=seed, **FAST)
    written = result.write(tmp_path / "out", save_model=False)
    assert set(written) == {"json", "markdown"}
    content = json.loads(written["json"].read_text())
    assert content["seed"] == {"entropy": 42, "spawn_key": [3]}
    assert content == json.loads(json.dumps(result.to_dict()))
    recorded = np.random.SeedSequence(content["seed"]["entropy"],
                                      spawn_key=tuple(content["seed"]["spawn_key"]))
    again = constrain(None, continuous, GRAPH, "y", signs=SIGNS, seed=recorded, **FAST)
    assert again.to_dict() == result.to_dict()
    # An integer seed stays an integer, and another seed gives another validation split.
    other = constrain(None, continuous, GRAPH, "y", signs=SIGNS, seed=42, **FAST).to_dict()
    assert other["seed"] == 42
    assert other["scores"]["rmse"]["before"] != content["scores"]["rmse"]["before"]
    assert "(seed SeedSequence(42, spawn_key=(3,)))" in written["markdown"].read_text()
