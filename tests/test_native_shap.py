"""Fast exact attributions: LightGBM/XGBoost native TreeSHAP, Pipelines, linear models, and
column-type checks that name the column."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from causalinterp.attribute import _columns, _native, _pipelines, _shap
from causalinterp.errors import ModelError

LEVEL_EFFECT = {"x": 0.0, "y": 3.0, "z": -1.0}


def simulate(n: int = 1000, seed: int = 0, binary: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Independent features a, b (numeric), c (3 levels) and noise feature d; the outcome is
    additive: 2 a + effect(c) (+ 0 b + 0 d), as a regression target or a logistic one."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": pd.Categorical(rng.choice(list(LEVEL_EFFECT), n), categories=list(LEVEL_EFFECT)),
            "d": rng.uniform(size=n),
        }
    )
    signal = 2.0 * X["a"] + X["c"].map(LEVEL_EFFECT).astype(float)
    if binary:
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-signal))).astype(int)
        return X, pd.Series(y)
    return X, signal


def level_gap(values: np.ndarray, X: pd.DataFrame, column: int, high: str, low: str) -> float:
    c = X["c"].astype(str).to_numpy()
    return float(values[c == high, column].mean() - values[c == low, column].mean())


# --------------------------------------------------------------------------- native
def test_categorical_lightgbm_regressor_recovers_level_effects() -> None:
    X, y = simulate()
    model = lgb.LGBMRegressor(n_estimators=120, learning_rate=0.25, verbose=-1, n_jobs=1).fit(X, y)
    values, base = _native.native_shap(model, X, classifier=False)
    assert np.max(np.abs(base + values.sum(1) - model.predict(X))) < 1e-8
    # True additive structure: the c attribution separates levels by their effects.
    assert level_gap(values, X, 2, "y", "x") == pytest.approx(3.0, abs=0.25)
    assert level_gap(values, X, 2, "z", "x") == pytest.approx(-1.0, abs=0.25)
    # a's attribution has slope 2; the irrelevant d gets (almost) nothing.
    slope = np.polyfit(X["a"], values[:, 0], 1)[0]
    assert slope == pytest.approx(2.0, abs=0.25)
    assert np.abs(values[:, 3]).mean() < 0.05 * np.abs(values[:, 0]).mean()


def test_categorical_lightgbm_classifier_is_additive_on_probability_scale() -> None:
    X, y = simulate(binary=True)
    model = lgb.LGBMClassifier(n_estimators=60, verbose=-1, n_jobs=1).fit(X, y)
    # SHAP's own tree parser cannot follow the categorical splits: the native path is needed.
    with pytest.raises(NotImplementedError, match="categorical"):
        _shap._tree_shap(model, True, X.assign(c=X.c.cat.codes).to_numpy(float), np.zeros((5, 4)))
    values, base = _native.native_shap(model, X, classifier=True)
    proba = model.predict_proba(X)[:, 1]
    assert np.max(np.abs(base + values.sum(1) - proba)) < 1e-9
    # Each row's probability values are its log-odds contributions times one positive factor.
    raw = model.booster_.predict(X, pred_contrib=True)[:, :-1]
    ratio = values / np.where(raw == 0, np.nan, raw)
    spread = np.nanmax(ratio, axis=1) - np.nanmin(ratio, axis=1)
    assert np.nanmax(spread) < 1e-9 and np.nanmin(ratio) > 0
    assert level_gap(values, X, 2, "y", "x") > 0.2  # level y raises the probability


def test_categorical_xgboost_classifier_and_regressor() -> None:
    X, y = simulate(binary=True)
    clf = xgb.XGBClassifier(n_estimators=40, enable_categorical=True, max_cat_to_onehot=1, n_jobs=1)
    clf.fit(X, y)
    values, base = _native.native_shap(clf, X, classifier=True)
    # XGBoost keeps leaf values in float32: additivity to that precision.
    assert np.max(np.abs(base + values.sum(1) - clf.predict_proba(X)[:, 1])) < 1e-5

    X, y = simulate(seed=1)
    reg = xgb.XGBRegressor(n_estimators=300, enable_categorical=True, max_cat_to_onehot=1, n_jobs=1)
    reg.fit(X, y)
    values, base = _native.native_shap(reg, X, classifier=False)
    assert np.max(np.abs(base + values.sum(1) - reg.predict(X))) < 1e-4
    assert level_gap(values, X, 2, "y", "z") == pytest.approx(4.0, abs=0.3)


def test_log_link_objective_adds_up_to_the_mean_prediction() -> None:
    X, y = simulate()
    counts = np.random.default_rng(3).poisson(np.exp(0.3 * y.clip(-3, 3)))
    model = lgb.LGBMRegressor(objective="poisson", n_estimators=40, verbose=-1, n_jobs=1).fit(
        X, counts
    )
    values, base = _native.native_shap(model, X, classifier=False)
    assert np.max(np.abs(base + values.sum(1) - model.predict(X))) < 1e-8


def test_multiclass_is_left_to_the_model_agnostic_explainer() -> None:
    X, y = simulate()
    labels = pd.cut(y, 3, labels=False)
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1).fit(X, labels)
    with pytest.raises(NotImplementedError):
        _native.native_shap(model, X, classifier=True)


# --------------------------------------------------------------------------- pipelines
def _string_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    X, y = simulate(n=n, seed=seed)
    return X.assign(c=X["c"].astype(str)), y + 0.5 * X["b"]


def _preprocessor():
    return make_column_transformer(
        (OneHotEncoder(), ["c"]), (StandardScaler(), ["a", "b"]), remainder="passthrough"
    )


def test_linear_pipeline_groups_equal_exact_shapley_of_original_columns() -> None:
    X, y = _string_frame()
    model = make_pipeline(_preprocessor(), Ridge(alpha=1.0)).fit(X, y)
    rows, background = X.iloc[:60], X.iloc[200:300]
    parts = _shap.explain_pipeline_parts(model, rows, background, classifier=False)
    assert parts.explainer == "linear"
    # The one-hot parts of c (three columns) sum to c's grouped value.
    one_hot = [k for k, name in enumerate(parts.part_names) if "c_" in name]
    assert len(one_hot) == 3 and set(parts.owner[one_hot]) == {2}
    assert np.allclose(parts.values[:, 2], parts.part_values[:, one_hot].sum(1), atol=1e-12)
    # And they are the exact interventional Shapley values of the original columns,
    # computed model-agnostically over all coalitions of a, b, c, d.
    levels = sorted(LEVEL_EFFECT)

    def predict(m: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(m, columns=list(X.columns))
        frame["c"] = np.array(levels)[frame["c"].astype(int)]
        return model.predict(frame)

    def codes(frame: pd.DataFrame) -> np.ndarray:
        return frame.assign(c=frame["c"].map({v: i for i, v in enumerate(levels)})).to_numpy(float)

    exact, base = _shap.exact_shap(predict, codes(rows), codes(background))
    assert parts.base_value == pytest.approx(base, abs=1e-9)
    assert np.max(np.abs(parts.values - exact)) < 1e-9


def test_tree_pipeline_is_additive_and_finds_the_level_effect() -> None:
    X, y = _string_frame(n=800)
    model = make_pipeline(_preprocessor(), GradientBoostingRegressor(n_estimators=150))
    model.fit(X, y)
    values, base = _shap.pipeline_shap(model, X.iloc[:300], X.iloc[400:600], classifier=False)
    assert np.max(np.abs(base + values.sum(1) - model.predict(X.iloc[:300]))) < 1e-6
    assert level_gap(values, X.iloc[:300], 2, "y", "x") == pytest.approx(3.0, abs=0.4)


def test_classifier_pipeline_is_additive_on_probability_scale() -> None:
    X, y = simulate(n=600, binary=True)
    X = X.assign(c=X["c"].astype(str))
    model = make_pipeline(_preprocessor(), HistGradientBoostingClassifier(max_iter=30))
    model.fit(X, y)
    values, base = _shap.pipeline_shap(model, X.iloc[:100], X.iloc[300:400], classifier=True)
    proba = model.predict_proba(X.iloc[:100])[:, 1]
    assert np.max(np.abs(base + values.sum(1) - proba)) < 1e-6


def test_lightgbm_final_step_on_one_hot_columns() -> None:
    X, y = _string_frame(n=600)
    model = make_pipeline(_preprocessor(), lgb.LGBMRegressor(n_estimators=50, verbose=-1, n_jobs=1))
    model.fit(X, y)
    values, base = _shap.pipeline_shap(model, X.iloc[:100], X.iloc[200:300], classifier=False)
    assert np.max(np.abs(base + values.sum(1) - model.predict(X.iloc[:100]))) < 1e-6


def test_column_mixing_transformer_has_no_fast_path() -> None:
    X, y = simulate(n=200)
    X = X.drop(columns="c")
    model = make_pipeline(PolynomialFeatures(2), LinearRegression()).fit(X, y)
    with pytest.raises(NotImplementedError, match="depends on both"):
        _shap.pipeline_shap(model, X, X, classifier=False)


def test_closed_form_linear_equals_shap_linear_explainer() -> None:
    X, y = simulate(n=300)
    X = X.drop(columns="c")
    model = Ridge().fit(X, y)
    xm, bm = X.to_numpy()[:50], X.to_numpy()[100:200]
    values, base = _pipelines.linear_shap(model, xm, bm)
    reference, reference_base = _shap._linear_shap(model, xm, bm)
    assert np.allclose(values, reference, atol=1e-10) and base == pytest.approx(reference_base)


# --------------------------------------------------------------------------- column types
def test_lightgbm_given_codes_for_a_category_names_the_column() -> None:
    X, y = simulate(n=300)
    model = lgb.LGBMRegressor(n_estimators=5, verbose=-1, n_jobs=1).fit(X, y)
    _columns.check_column_types(model, X)
    with pytest.raises(ModelError) as error:
        _columns.check_column_types(model, X.assign(c=X["c"].cat.codes))
    text = str(error.value)
    assert "column 'c'" in text and "['x', 'y', 'z']" in text and "got int8" in text
    with pytest.raises(ModelError, match=r"column 'c'.*unseen level\(s\) \['w'\]"):
        _columns.check_column_types(
            model, X.assign(c=pd.Categorical(["w"] * len(X), categories=["w", "x"]))
        )
    with pytest.raises(ModelError, match=r"column 'a': the model expects numbers.*got a pandas"):
        _columns.check_column_types(model, X.assign(a=pd.Categorical(["p"] * len(X))))


def test_xgboost_given_codes_for_a_category_names_the_column() -> None:
    X, y = simulate(n=300)
    model = xgb.XGBRegressor(n_estimators=5, enable_categorical=True, n_jobs=1).fit(X, y)
    with pytest.raises(ModelError, match=r"column 'c': the model expects a pandas category.*int8"):
        _columns.check_column_types(model, X.assign(c=X["c"].cat.codes))


def test_pipeline_encoder_and_scaler_mismatches_name_the_column() -> None:
    X, y = _string_frame(n=200)
    model = make_pipeline(_preprocessor(), Ridge()).fit(X, y)
    _columns.check_column_types(model, X)
    with pytest.raises(ModelError, match=r"column 'c'.*unseen level\(s\) \['q'\]"):
        _columns.check_column_types(model, X.assign(c="q"))
    with pytest.raises(ModelError, match=r"column 'c': the model expects text levels.*got int64"):
        _columns.check_column_types(model, X.assign(c=1))
    with pytest.raises(ModelError, match=r"column 'a': the model expects numbers, got text"):
        _columns.check_column_types(model, X.assign(a="1.5"))


# --------------------------------------------------------------------------- slow path
def test_slow_path_plan_cuts_rows_to_the_budget_and_states_the_error_growth() -> None:
    import time

    from causalinterp.attribute import _budget

    def slow(a: np.ndarray) -> np.ndarray:
        time.sleep(1e-6 * len(a))  # 1 microsecond per prediction at least
        return a.sum(axis=1)

    bm = np.zeros((20, 4))
    plan = _budget.plan_model_agnostic(
        slow, bm, rows_requested=1000, reason="no fast explainer for Slow", max_seconds=0.05
    )
    # 2**4 - 2 coalitions x 20 background rows per explained row.
    assert plan.explainer == "exact" and plan.predictions_per_row == 14 * 20
    per_row = plan.predictions_per_row * plan.seconds_per_prediction
    assert plan.rows == max(_budget.MIN_ROWS, int(0.05 / per_row)) < 1000
    assert plan.se_factor == pytest.approx(np.sqrt(1000 / plan.rows))
    text = plan.message("Slow")
    assert "model Slow: no fast explainer for Slow" in text and "exact explainer" in text
    assert f"{plan.rows:,} of 1,000 rows explained" in text and "max_shap_seconds=0.05" in text
    unlimited = _budget.plan_model_agnostic(slow, bm, rows_requested=1000, reason="r")
    assert unlimited.rows == 1000 and unlimited.se_factor == 1.0
    wide = _budget.plan_model_agnostic(
        slow, np.zeros((20, 12)), rows_requested=5, reason="r", max_exact_features=8
    )
    assert wide.explainer == "permutation" and wide.predictions_per_row == 10 * 11 * 20


def test_chunked_model_agnostic_explanation_equals_one_pass() -> None:
    from causalinterp.attribute import _budget

    rng = np.random.default_rng(2)
    xm, bm = rng.normal(size=(23, 3)), rng.normal(size=(15, 3))

    def f(a: np.ndarray) -> np.ndarray:
        return a[:, 0] * a[:, 1] + np.sin(a[:, 2])

    whole, base = _shap.exact_shap(f, xm, bm)
    chunked, chunk_base = _budget.explain_in_chunks(
        lambda rows, seed: _shap.exact_shap(f, rows, bm),
        xm,
        seed=np.random.SeedSequence(0),
        progress=False,
        desc="SHAP",
        chunk_rows=5,
    )
    assert np.allclose(chunked, whole, atol=1e-12) and chunk_base == pytest.approx(base)
