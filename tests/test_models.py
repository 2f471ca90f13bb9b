"""Models loaded from files: every format through the command-line flags, safe loading,
and the loaded models explained by the fast paths."""

from __future__ import annotations

import argparse
import importlib.util
import pickle

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import xgboost as xgb
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from causalinterp.attribute import _native, _shap
from causalinterp.errors import ModelError
from causalinterp.models import add_model_arguments, load_model, model_from_args


def simulate(n: int = 400, seed: int = 0, binary: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """y = 1.5 a - b + 2 [c == 'y'] (+ logistic noise for a binary outcome)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": pd.Categorical(rng.choice(["x", "y"], n), categories=["x", "y"]),
        }
    )
    signal = 1.5 * X["a"] - X["b"] + 2.0 * (X["c"] == "y")
    if binary:
        return X, pd.Series((rng.logistic(size=n) < signal).astype(int))
    return X, signal


def cli_load(*flags: str):
    """Parse flags as a verb's parser would, then load the model they name."""
    parser = argparse.ArgumentParser(prog="causalinterp analyze")
    add_model_arguments(parser)
    return model_from_args(parser.parse_args(list(flags)))


# --------------------------------------------------------------------------- formats
def test_skops_pipeline_through_the_cli(tmp_path) -> None:
    X, y = simulate()
    X = X.assign(c=X["c"].astype(str))
    pre = make_column_transformer((OneHotEncoder(), ["c"]), (StandardScaler(), ["a", "b"]))
    model = make_pipeline(pre, LinearRegression()).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    loaded = cli_load("--model", str(path))
    assert np.allclose(loaded.predict(X), model.predict(X))
    values, base = _shap.pipeline_shap(loaded, X, X.iloc[:100], classifier=False)
    # Linear truth: c's attribution is 2 x ([c == 'y'] - share of 'y' in the background).
    share = (X["c"].iloc[:100] == "y").mean()
    assert np.allclose(values[:, 2], 2.0 * ((X["c"] == "y") - share), atol=1e-6)
    assert np.allclose(base + values.sum(1), model.predict(X))


def test_skops_untrusted_types_are_listed_then_trusted(tmp_path) -> None:
    X, y = simulate()
    model = make_pipeline(StandardScaler(), lgb.LGBMRegressor(n_estimators=5, verbose=-1))
    model.fit(X.drop(columns="c"), y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    with pytest.raises(ModelError) as error:
        cli_load("--model", str(path))
    text = str(error.value)
    assert "lightgbm.sklearn.LGBMRegressor" in text and "--trusted-types" in text
    untrusted = sio.get_untrusted_types(file=path)
    loaded = cli_load("--model", str(path), "--trusted-types", ",".join(untrusted))
    assert np.allclose(loaded.predict(X.drop(columns="c")), model.predict(X.drop(columns="c")))


def test_lightgbm_text_model_through_the_cli_keeps_categories(tmp_path) -> None:
    X, y = simulate(binary=True)
    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1).fit(X, y)
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)
    loaded = cli_load("--model", str(path))
    assert isinstance(loaded, _native.BoosterModel) and _shap.is_classifier(loaded)
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    assert np.allclose(loaded.predict_proba(X)[:, 1], model.predict_proba(X)[:, 1])
    values, base = _native.native_shap(loaded, X, classifier=True)
    assert np.max(np.abs(base + values.sum(1) - model.predict_proba(X)[:, 1])) < 1e-9
    assert values[X["c"] == "y", 2].mean() > values[X["c"] == "x", 2].mean()


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_xgboost_model_through_the_cli(tmp_path, suffix) -> None:
    X, y = simulate()
    model = xgb.XGBRegressor(n_estimators=30, enable_categorical=True, n_jobs=1).fit(X, y)
    path = tmp_path / f"model{suffix}"
    model.save_model(path)
    loaded = cli_load("--model", str(path))
    assert isinstance(loaded, _native.BoosterModel) and not _shap.is_classifier(loaded)
    assert np.allclose(loaded.predict(X), model.predict(X), atol=1e-6)
    values, base = _native.native_shap(loaded, X, classifier=False)
    assert np.max(np.abs(base + values.sum(1) - model.predict(X))) < 1e-4


def test_xgboost_classifier_file_is_a_classifier(tmp_path) -> None:
    X, y = simulate(binary=True)
    X = X.drop(columns="c")
    model = xgb.XGBClassifier(n_estimators=10, n_jobs=1).fit(X, y)
    path = tmp_path / "model.json"
    model.save_model(path)
    loaded = load_model(path)
    assert _shap.is_classifier(loaded)
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    # The package's explainer takes the loaded model by XGBoost's own TreeSHAP.
    result = _shap.explain(loaded, X.iloc[:20], background=X.iloc[100:150], seed=0)
    assert result.scale == "probability" and result.explainer == "native"
    assert np.allclose(
        result.base_value + result.values.sum(1), model.predict_proba(X.iloc[:20])[:, 1]
    )


def test_catboost_file_needs_catboost(tmp_path) -> None:
    path = tmp_path / "model.cbm"
    path.write_bytes(b"not really a model")
    if importlib.util.find_spec("catboost") is None:
        with pytest.raises(ModelError, match=r"CatBoost is not installed; pip install catboost"):
            load_model(path)
    else:
        with pytest.raises(ModelError, match=r"not a readable CatBoost model"):
            load_model(path)


# --------------------------------------------------------------------------- safety
@pytest.mark.parametrize("suffix", [".pkl", ".joblib"])
def test_pickle_is_refused_without_the_flag(tmp_path, suffix) -> None:
    X, y = simulate()
    X = X.drop(columns="c")
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    path = tmp_path / f"model{suffix}"
    if suffix == ".pkl":
        path.write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, path)
    with pytest.raises(ModelError, match=r"pickle/joblib file.*--trust-pickle"):
        cli_load("--model", str(path))
    loaded = cli_load("--model", str(path), "--trust-pickle")
    assert np.allclose(loaded.predict(X), model.predict(X))


def test_trust_pickle_help_warns() -> None:
    parser = argparse.ArgumentParser()
    add_model_arguments(parser)
    text = parser.format_help()
    assert "WARNING" in text and "runs any code" in " ".join(text.split())
    assert "fits its own model" in " ".join(text.split())


def test_bad_files_get_one_line_errors(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"model file '.*missing.skops': does not exist"):
        load_model(tmp_path / "missing.skops")
    odd = tmp_path / "model.bin"
    odd.write_bytes(b"\0")
    with pytest.raises(ModelError, match=r"unknown extension '.bin'; save the model as one of"):
        load_model(odd)
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(ModelError, match=r"is not a LightGBM text model"):
        load_model(text)
    broken = tmp_path / "model.json"
    broken.write_text("{")
    with pytest.raises(ModelError, match=r"not a readable XGBoost model") as error:
        load_model(broken)
    assert "\n" not in str(error.value)
    not_a_model = tmp_path / "list.skops"
    sio.dump([1, 2, 3], not_a_model)
    with pytest.raises(ModelError, match=r"holds a list, which has no predict method"):
        load_model(not_a_model)


def test_relative_path_is_taken_from_the_case_folder(tmp_path) -> None:
    X, y = simulate()
    model = LinearRegression().fit(X.drop(columns="c"), y)
    sio.dump(model, tmp_path / "m.skops")
    args = argparse.Namespace(model="m.skops", trust_pickle=False, trusted_types=None)
    loaded = model_from_args(args, base_dir=tmp_path)
    assert np.allclose(loaded.coef_, model.coef_)


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_text_columns_from_a_csv_get_the_model_file_categories(tmp_path, suffix) -> None:
    from causalinterp.attribute import _columns

    X, y = simulate()
    if suffix == ".txt":
        lgb.LGBMRegressor(n_estimators=20, verbose=-1, n_jobs=1).fit(X, y).booster_.save_model(
            tmp_path / "m.txt"
        )
    else:
        xgb.XGBRegressor(n_estimators=20, enable_categorical=True, n_jobs=1).fit(X, y).save_model(
            tmp_path / "m.json"
        )
    model = load_model(tmp_path / f"m{suffix}")
    csv = tmp_path / "data.csv"
    X.to_csv(csv, index=False)
    read = pd.read_csv(csv)  # 'c' comes back as text
    with pytest.raises(ModelError, match=r"column 'c': the model expects a pandas category"):
        _columns.check_column_types(model, read)
    conformed = _columns.conform_to_model(model, read)
    _columns.check_column_types(model, conformed)
    assert list(conformed["c"].cat.categories) == ["x", "y"]
    assert np.allclose(model.predict(conformed), model.predict(X), atol=1e-6)
    # A level the model never saw is not guessed: it stays text and is named.
    read.loc[0, "c"] = "w"
    with pytest.raises(ModelError, match=r"column 'c'.*got text"):
        _columns.check_column_types(model, _columns.conform_to_model(model, read))


# --------------------------------------------------------------------------- end to end
def test_lightgbm_and_xgboost_files_are_explained_natively_by_analyze_and_run(tmp_path) -> None:
    import json

    from causalinterp.cli import main

    X, y = simulate(n=600, seed=3)
    data = tmp_path / "data.csv"
    X.assign(y=y).to_csv(data, index=False)  # 'c' is text in the file
    lgb.LGBMRegressor(n_estimators=40, verbose=-1, n_jobs=1).fit(X, y).booster_.save_model(
        tmp_path / "m.txt"
    )
    quick = ["--refute", "none", "--no-graph-test", "--nuisance", "linear", "--quiet"]
    graph = "a -> y; b -> y; c -> y"
    argv = ["analyze", "--data", str(data), "--graph", graph, "--outcome", "y"]
    out = ["--out", str(tmp_path / "lgb")]
    assert main([*argv, *out, "--model", str(tmp_path / "m.txt"), *quick]) == 0

    case = tmp_path / "case"
    case.mkdir()
    xgb.XGBRegressor(n_estimators=40, enable_categorical=True, n_jobs=1).fit(X, y).save_model(
        case / "m.ubj"
    )
    (case / "case.toml").write_text(
        f"data = {str(data)!r}\ngraph = {graph!r}\noutcome = 'y'\nmodel = 'm.ubj'\n"
    )
    assert main(["run", str(case), *quick]) == 0

    for report_dir in (tmp_path / "lgb", case / "report"):
        report = json.loads((report_dir / "report.json").read_text())
        assert report["settings"]["explainer"] == "native"
        shares = {f["name"]: f["attribution"]["mean_abs_shap"] for f in report["features"]}
        # y = 1.5 a - b + 2 [c == 'y']: mean |SHAP| about 1.2, 0.8 and 1.0.
        assert shares["a"] > shares["b"] > 0.5 and 0.7 < shares["c"] < 1.3
