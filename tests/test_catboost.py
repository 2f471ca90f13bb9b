"""CatBoost: native TreeSHAP (categorical features included), ``.cbm`` files through the
command line, and column types named in errors."""

from __future__ import annotations

import json

import catboost
import numpy as np
import pandas as pd
import pytest

from causalinterp.attribute import _native, attribute_model
from causalinterp.cli import main
from causalinterp.data import check_data
from causalinterp.errors import ModelError
from causalinterp.graph import CausalGraph
from causalinterp.models import load_model

LEVEL_EFFECT = {"low": -1.0, "mid": 0.0, "high": 1.5}
GRAPH = "z -> a; z -> region; z -> y; a -> y; region -> y"


def simulate(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A confounder z, a numeric cause a (effect 1.5 on the log-odds) and a three-level text
    cause region; y is binary."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    a = 0.5 * z + rng.normal(size=n)
    region = np.where(z + rng.normal(size=n) > 0.5, "high", rng.choice(["low", "mid"], n))
    logit = 1.5 * a + pd.Series(region).map(LEVEL_EFFECT).to_numpy() + 0.5 * z
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"z": z, "a": a, "region": region, "y": y})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def classifier(data):
    # Fitted on the columns in another order than the data's, with a text categorical.
    columns = ["region", "a", "z"]
    model = catboost.CatBoostClassifier(
        iterations=150, depth=4, verbose=0, random_seed=0, thread_count=1,
        cat_features=["region"], allow_writing_files=False,
    )  # fmt: skip
    return model.fit(data[columns], data["y"])


def test_native_shap_adds_up_on_the_probability_scale_and_ranks_the_levels(data, classifier):
    X = data[["region", "a", "z"]]
    values, base = _native.native_shap(classifier, X, classifier=True)
    assert np.abs(base + values.sum(1) - classifier.predict_proba(X)[:, 1]).max() < 1e-9
    region = values[:, 0]
    mean = {level: region[data["region"] == level].mean() for level in LEVEL_EFFECT}
    assert mean["low"] < mean["mid"] < mean["high"]
    # a's attribution rises with a (effect +1.5 on the log-odds).
    assert np.polyfit(data["a"], values[:, 1], 1)[0] > 0.1


def attribute(model, data: pd.DataFrame, max_rows: int = 300):
    """The attribution stage as analyze() runs it (text columns coded, types checked)."""
    checked = check_data(data, CausalGraph.parse(GRAPH), "y", features=["z", "a", "region"])
    return attribute_model(model, data, checked, model_seed=0, seed=0, max_shap_rows=max_rows)


def test_the_attribution_stage_takes_the_native_path(data, classifier):
    att = attribute(classifier, data)
    assert att.explainer == "native" and att.background_rows == 0
    assert "path-dependent" in att.note


def test_cbm_file_through_the_command_line(data, classifier, tmp_path):
    model_file, data_file, out = tmp_path / "model.cbm", tmp_path / "d.csv", tmp_path / "out"
    classifier.save_model(str(model_file))
    data.to_csv(data_file, index=False)
    code = main([
        "analyze", "--data", str(data_file), "--graph", GRAPH, "--outcome", "y",
        "--model", str(model_file), "--out", str(out), "--refute", "none",
        "--no-graph-test", "--max-shap-rows", "300", "--quiet",
    ])  # fmt: skip
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    settings = report["settings"]
    assert (settings["explainer"], settings["model"]) == ("native", "CatBoostClassifier")
    assert settings["background_rows"] is None and "path-dependent" in settings["explainer_note"]
    rows = {row["name"]: row for row in report["features"]}
    # The loaded model's partial dependence (its columns are in another order than the
    # data's) and its domain check (a text column among its inputs) both ran.
    assert rows["a"]["curve"]["model_curve"] == "partial_dependence"
    assert report["domain"]["error"] is None and "a" in report["domain"]["checked"]
    # a's true effect is positive, and so is its attribution slope.
    assert rows["a"]["attribution"]["slope"] > 0 and rows["a"]["effect"]["estimate"] > 0


def test_regressor_file_loads_as_a_regressor_and_adds_up_through_its_link(tmp_path):
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=600), "c": rng.choice(["u", "v"], 600)})
    mean = np.exp(0.5 * X["a"] + (X["c"] == "v") * 0.7)
    y = rng.poisson(mean)
    fitted = catboost.CatBoostRegressor(
        iterations=60, verbose=0, loss_function="Poisson", cat_features=["c"], random_seed=0,
        thread_count=1, allow_writing_files=False,
    ).fit(X, y)  # fmt: skip
    path = tmp_path / "counts.cbm"
    fitted.save_model(str(path))
    model = load_model(path)
    assert type(model).__name__ == "CatBoostRegressor"
    values, base = _native.native_shap(model, X, classifier=False)
    assert np.abs(base + values.sum(1) - model.predict(X)).max() < 1e-9


def test_a_categorical_feature_given_as_real_numbers_is_named(data, classifier):
    as_numbers = data.assign(region=data["region"].map({"low": 0.0, "mid": 0.5, "high": 1.0}))
    with pytest.raises(
        ModelError,
        match=r"model CatBoostClassifier: column 'region': the model expects text, integers or "
        r"a pandas category .*, got float64",
    ):
        attribute(classifier, as_numbers, max_rows=50)


def test_the_domain_check_runs_on_a_binary_text_feature(tmp_path):
    from causalinterp import analyze

    rng = np.random.default_rng(2)
    n = 1200
    plan = rng.choice(["basic", "premium"], n)
    a = rng.normal(size=n)
    y = 1.0 * a + 2.0 * (plan == "premium") + rng.normal(size=n)
    data = pd.DataFrame({"plan": plan, "a": a, "y": y})
    model = catboost.CatBoostRegressor(
        iterations=100, verbose=0, cat_features=["plan"], random_seed=0, thread_count=1,
        allow_writing_files=False,
    ).fit(data[["plan", "a"]], data["y"])
    report = analyze(
        data, "plan -> y [+]; a -> y [+]", "y", model=model, refute="none", test_graph=False,
        max_shap_rows=200, ice_rows=50, progress=False,
    ).to_dict()  # fmt: skip
    # The text column is checked along its level codes, as its effect is estimated; the
    # model follows both declared directions.
    assert report["domain"]["error"] is None
    assert set(report["domain"]["checked"]) == {"plan", "a"}
    plan_row = {row["name"]: row for row in report["features"]}["plan"]
    # premium (code 1) adds 2 to the outcome: no row's curve falls from basic to premium.
    domain = plan_row["domain"]
    assert domain["violation_share"] == 0.0 and domain["against_direction"] is False
    assert plan_row["effect"]["estimate"] == pytest.approx(2.0, abs=0.3)
