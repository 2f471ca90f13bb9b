"""SHAP attributions: outcome scale, slopes against known effects, explainers, model errors."""

from __future__ import annotations

import itertools
import math
import warnings

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from threadpoolctl import threadpool_limits

from causalinterp.attribute import _shap
from causalinterp.attribute.attributions import compute_attributions, default_model
from causalinterp.errors import DataError, ModelError, OptionError


@pytest.fixture(scope="module", autouse=True)
def _one_openmp_thread():
    # LightGBM and XGBoost load a second OpenMP runtime beside scikit-learn's; with both,
    # spinning worker threads make HistGradientBoosting tens of times slower on 2 cores.
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def linear_data() -> tuple[pd.DataFrame, pd.Series]:
    """y = 2 x1 - x2 + 0 x3 + N(0, 0.5^2), features uniform on [-1, 1]."""
    rng = np.random.default_rng(11)
    n = 4000
    X = pd.DataFrame({f"x{i}": rng.uniform(-1, 1, n) for i in (1, 2, 3)})
    y = 2 * X["x1"] - X["x2"] + rng.normal(scale=0.5, size=n)
    return X, y


@pytest.fixture(scope="module")
def probability_data() -> tuple[pd.DataFrame, pd.Series]:
    """P(y = 1) = 0.2 + 0.3 t + 0.1 x2: linear on the probability scale, t binary."""
    rng = np.random.default_rng(12)
    n = 20000
    X = pd.DataFrame({"t": rng.integers(0, 2, n).astype(float), "x2": rng.uniform(size=n)})
    y = pd.Series((rng.uniform(size=n) < 0.2 + 0.3 * X["t"] + 0.1 * X["x2"]).astype(int))
    return X, y


@pytest.fixture(scope="module")
def small_data() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Small data for the explainer-choice tests: features, binary and continuous outcome."""
    rng = np.random.default_rng(13)
    n = 300
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 2, n).astype(float)})
    X["c d"] = rng.normal(size=n)
    y_bin = pd.Series((rng.uniform(size=n) < 0.3 + 0.4 * X["b"]).astype(int))
    y_cont = X["a"] + 2 * X["b"] + rng.normal(scale=0.3, size=n)
    return X, y_bin, y_cont


# --- slopes against known effects -------------------------------------------------------


def test_linear_regression_slopes_equal_coefficients(linear_data):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    att = compute_attributions(model, X, seed=0, max_rows=1000, background_rows=100)
    assert att.explainer == "linear"
    assert att.scale == "outcome"
    # Linear SHAP is coef * (x - mean of background): its slope is the coefficient exactly.
    for j, f in enumerate(X.columns):
        assert att.by_feature[f].slope == pytest.approx(model.coef_[j], abs=1e-9)
    # The coefficients estimate 2 and -1 with standard error 0.5 / (sqrt(4000) * sd(x))
    # ~ 0.014 (sd of U(-1, 1) is 0.58): 0.06 is more than 4 standard errors.
    assert att.by_feature["x1"].slope == pytest.approx(2.0, abs=0.06)
    assert att.by_feature["x2"].slope == pytest.approx(-1.0, abs=0.06)
    assert att.by_feature["x3"].slope == pytest.approx(0.0, abs=0.06)
    assert [att.by_feature[f].rank for f in ("x1", "x2", "x3")] == [1, 2, 3]


def test_boosted_regressor_slopes_recover_additive_effects(linear_data):
    X, y = linear_data
    model = default_model("continuous", seed=0).fit(X, y)
    att = compute_attributions(model, X, seed=0, max_rows=400, background_rows=50)
    assert att.explainer == "tree"
    # A boosted step function flattens at the edges of the data and estimates each effect
    # from 4000 noisy rows; over seeds the slopes land within 0.05 of the truth, 0.1 leaves
    # room for that (5% of the larger effect).
    assert att.by_feature["x1"].slope == pytest.approx(2.0, abs=0.1)
    assert att.by_feature["x2"].slope == pytest.approx(-1.0, abs=0.1)
    assert abs(att.by_feature["x3"].slope) < 0.1
    assert [att.by_feature[f].rank for f in ("x1", "x2", "x3")] == [1, 2, 3]
    # Mean |SHAP| of x1 is E|2 (x1 - mean)| = 1 for U(-1, 1) (up to the model's fit).
    assert att.by_feature["x1"].mean_abs_shap == pytest.approx(1.0, abs=0.1)


def test_classifier_slope_is_on_probability_scale(probability_data):
    X, y = probability_data
    model = default_model("binary", seed=0).fit(X, y)
    att = compute_attributions(model, X, seed=0, max_rows=600, background_rows=80)
    assert att.explainer == "tree"
    assert att.scale == "probability"
    # Truth: +0.3 in probability. The model estimates it from 20000 rows (standard error
    # of a difference of two proportions near 0.4, 10000 rows each: ~0.007); 0.035 is 5 of
    # those. The log-odds effect would be about 1.3, far outside.
    slope_t = att.by_feature["t"].slope
    assert slope_t == pytest.approx(0.3, abs=0.035)
    assert att.by_feature["x2"].slope == pytest.approx(0.1, abs=0.05)
    # For a 0/1 feature the OLS slope is the difference of mean SHAP between 1 and 0.
    s, t = att.shap_values["t"], att.feature_values["t"]
    assert slope_t == pytest.approx(s[t == 1].mean() - s[t == 0].mean(), abs=1e-12)
    # Additivity with predict_proba on the rows explained.
    proba = model.predict_proba(att.feature_values)[:, 1]
    total = att.base_value + att.shap_values.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, proba, atol=1e-6)
    assert att.base_value == pytest.approx(
        model.predict_proba(X)[:, 1].mean(), abs=0.02
    )  # the background is a sample of X


def test_logistic_regression_is_explained_on_probability_scale(probability_data):
    X, y = probability_data
    model = LogisticRegression().fit(X, y)
    att = compute_attributions(model, X, seed=0, max_rows=500, background_rows=100)
    assert att.explainer == "exact"
    assert att.scale == "probability"
    # The logistic fit of a linear-probability truth is close to it on [0.2, 0.6]: the
    # probability-scale slope is near 0.3, while the coefficient (log-odds) is near 1.3.
    assert att.by_feature["t"].slope == pytest.approx(0.3, abs=0.035)
    assert model.coef_[0, 0] > 1.0
    proba = model.predict_proba(att.feature_values)[:, 1]
    np.testing.assert_allclose(
        att.base_value + att.shap_values.sum(axis=1).to_numpy(), proba, atol=1e-9
    )


# --- explainers -------------------------------------------------------------------------


def _explainer(model, X) -> str:
    return compute_attributions(model, X, seed=0, max_rows=40, background_rows=20).explainer


@pytest.mark.parametrize(
    "make",
    [
        lambda: GradientBoostingClassifier(n_estimators=20, random_state=0),
        lambda: RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0),
        lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),
        lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1),
        lambda: lightgbm.LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1),
        lambda: Pipeline([("pass", "passthrough"), ("hgb", HistGradientBoostingClassifier())]),
    ],
    ids=["gb", "rf", "hgb", "xgboost", "lightgbm", "passthrough-pipeline"],
)
def test_tree_explainer_for_tree_classifiers(small_data, make):
    X, y_bin, _ = small_data
    model = make().fit(X, y_bin)
    att = compute_attributions(model, X, seed=0, max_rows=60, background_rows=30)
    # LightGBM and XGBoost explain themselves (native TreeSHAP); scikit-learn trees go
    # through SHAP's interventional tree explainer.
    library = type(model).__module__.split(".")[0]
    assert att.explainer == ("native" if library in ("lightgbm", "xgboost") else "tree")
    assert att.scale == "probability"
    proba = model.predict_proba(att.feature_values)[:, 1]
    total = att.base_value + att.shap_values.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, proba, atol=1e-5)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: HistGradientBoostingRegressor(max_iter=20, random_state=0), "tree"),
        (lambda: ExtraTreesRegressor(n_estimators=10, max_depth=5, random_state=0), "tree"),
        (lambda: xgboost.XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1), "native"),
        (lambda: lightgbm.LGBMRegressor(n_estimators=20, verbose=-1, n_jobs=1), "native"),
        (lambda: LinearRegression(), "linear"),
        (lambda: Ridge(alpha=1.0), "linear"),
        (lambda: SVR(), "exact"),
        (lambda: KNeighborsRegressor(n_neighbors=5), "exact"),
        (lambda: make_pipeline(StandardScaler(), Ridge()), "pipeline-linear"),
    ],
    ids=["hgb", "extratrees", "xgboost", "lightgbm", "ols", "ridge", "svr", "knn", "pipeline"],
)
def test_explainer_per_regressor_type(small_data, make, expected):
    X, _, y_cont = small_data
    model = make().fit(X, y_cont)
    att = compute_attributions(model, X, seed=0, max_rows=40, background_rows=20)
    assert att.explainer == expected
    assert att.scale == "outcome"
    pred = model.predict(att.feature_values)
    total = att.base_value + att.shap_values.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, pred, atol=1e-5 * max(1.0, np.abs(pred).max()))


def _brute_force_shapley(f, x, background):
    """Interventional Shapley values by averaging over every ordering of the features."""
    p = len(x)
    phi = np.zeros(p)
    orders = list(itertools.permutations(range(p)))
    for order in orders:
        present = np.zeros(p, dtype=bool)
        prev = f(background).mean()
        for j in order:
            present[j] = True
            cur = f(np.where(present, x, background)).mean()
            phi[j] += cur - prev
            prev = cur
    return phi / len(orders)


def test_exact_explainer_matches_shapley_definition():
    rng = np.random.default_rng(3)
    background = rng.normal(size=(15, 3))
    rows = rng.normal(size=(6, 3))

    def f(a):  # interactions and a non-linearity
        return a[:, 0] * a[:, 1] + np.sin(a[:, 2]) + a[:, 0] ** 2 * a[:, 2]

    values, base = _shap.exact_shap(f, rows, background)
    assert base == pytest.approx(f(background).mean())
    for i, x in enumerate(rows):
        np.testing.assert_allclose(values[i], _brute_force_shapley(f, x, background), atol=1e-12)


def test_tree_explainer_is_interventional_and_exact(small_data):
    # The rebuilt tree explainer must equal brute-force interventional Shapley values of the
    # model itself (HistGradientBoosting puts thresholds on data values: the case that
    # breaks SHAP's float32 threshold comparison).
    X, _, y_cont = small_data
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, y_cont)
    rows, background = X.iloc[:8], X.iloc[100:130]
    tree = _shap.explain(model, rows, background=background, seed=0)
    assert tree.explainer == "tree"

    def predict(a):
        return model.predict(pd.DataFrame(a, columns=X.columns))

    exact, base = _shap.exact_shap(predict, rows.to_numpy(), background.to_numpy())
    # SHAP's interventional C code accumulates in float32 (errors ~1e-8); a row routed
    # down the wrong branch would be off by a leaf value (~0.1).
    np.testing.assert_allclose(tree.values, exact, atol=1e-6)
    assert tree.base_value == pytest.approx(base, abs=1e-9)


def test_permutation_explainer_above_exact_limit_is_additive_and_seeded(monkeypatch):
    # A Pipeline has a fast path now: switch it off to exercise the permutation explainer.
    from causalinterp.attribute import _pipelines

    monkeypatch.setattr(_pipelines, "is_transforming_pipeline", lambda model: False)
    rng = np.random.default_rng(5)
    p = _shap.MAX_EXACT_FEATURES + 2
    X = pd.DataFrame(rng.normal(size=(300, p)), columns=[f"f{j}" for j in range(p)])
    y = X @ np.arange(1, p + 1) + rng.normal(size=300)
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
    state = np.random.get_state()
    a1 = compute_attributions(model, X, seed=4, max_rows=30, background_rows=20)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # global RNG untouched
    assert a1.explainer == "permutation"
    # For an additive model every ordering gives the same contributions: exact values.
    coef = model[-1].coef_ / model[0].scale_
    background = X.iloc[_background_positions(len(X), 20, seed=4)]
    expected = (a1.feature_values - background.mean()).to_numpy() * coef
    np.testing.assert_allclose(a1.shap_values.to_numpy(), expected, atol=1e-9)
    a2 = compute_attributions(model, X, seed=4, max_rows=30, background_rows=20)
    pd.testing.assert_frame_equal(a1.shap_values, a2.shap_values)


def _background_positions(n, k, seed):
    # Mirrors compute_attributions: children (rows, background, explainer) of the seed.
    _, bg_seed, _ = np.random.SeedSequence(seed).spawn(3)
    return np.sort(np.random.default_rng(bg_seed).choice(n, size=k, replace=False))


def test_column_order_of_x_may_differ_from_fit(small_data):
    X, _, y_cont = small_data
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y_cont)
    a = compute_attributions(model, X, seed=1, max_rows=50, background_rows=20)
    shuffled = X[["c d", "a", "b"]]
    b = compute_attributions(model, shuffled, seed=1, max_rows=50, background_rows=20)
    assert list(b.shap_values.columns) == ["c d", "a", "b"]
    pd.testing.assert_frame_equal(a.shap_values[["c d", "a", "b"]], b.shap_values)


def test_no_warnings_escape(small_data):
    X, y_bin, _ = small_data
    model = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(X, y_bin)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compute_attributions(model, X, seed=0, max_rows=50, background_rows=20)
    assert [str(w.message) for w in caught] == []


# --- summaries, sampling, seeds ---------------------------------------------------------


def test_ranks_break_ties_by_feature_order_and_constant_slope_is_nan(linear_data):
    X, y = linear_data
    X = X.assign(k1=1.0, k2=5.0)[["k1", "x1", "k2", "x2"]]
    model = LinearRegression().fit(X, y)
    att = compute_attributions(model, X, seed=0, max_rows=200, background_rows=50)
    ranks = {f: v.rank for f, v in att.by_feature.items()}
    assert ranks == {"x1": 1, "x2": 2, "k1": 3, "k2": 4}
    assert att.by_feature["k1"].mean_abs_shap == 0.0
    assert math.isnan(att.by_feature["k1"].slope)
    assert math.isnan(att.by_feature["k2"].slope_se)
    assert list(att.by_feature) == ["k1", "x1", "k2", "x2"]
    assert [v.feature for v in att.by_feature.values()] == list(att.by_feature)


def test_max_rows_sampling_and_seeds(small_data):
    X, _, y_cont = small_data
    X = X.set_axis(np.arange(1000, 1000 + len(X)))  # a non-default index is kept
    model = LinearRegression().fit(X, y_cont.to_numpy())
    att = compute_attributions(model, X, seed=7, max_rows=100, background_rows=30)
    assert (att.rows_explained, att.rows_total, att.background_rows) == (100, len(X), 30)
    assert att.shap_values.shape == (100, 3) == att.feature_values.shape
    assert list(att.shap_values.columns) == list(X.columns)
    assert att.shap_values.index.is_unique and att.shap_values.index.isin(X.index).all()
    assert att.shap_values.index.equals(att.feature_values.index)
    pd.testing.assert_frame_equal(att.feature_values, X.loc[att.feature_values.index])
    # Sampled rows: the standard error of mean |SHAP| is positive.
    assert all(v.mean_abs_shap_se > 0 for v in att.by_feature.values())

    same = compute_attributions(model, X, seed=7, max_rows=100, background_rows=30)
    pd.testing.assert_frame_equal(att.shap_values, same.shap_values)
    assert att.by_feature == same.by_feature
    seq = compute_attributions(
        model, X, seed=np.random.SeedSequence(7), max_rows=100, background_rows=30
    )
    pd.testing.assert_frame_equal(att.shap_values, seq.shap_values)
    other = compute_attributions(model, X, seed=8, max_rows=100, background_rows=30)
    assert not other.shap_values.index.equals(att.shap_values.index)

    everything = compute_attributions(model, X, seed=7, max_rows=10_000, background_rows=30)
    assert everything.rows_explained == len(X)
    assert everything.shap_values.index.equals(X.index)
    assert all(v.mean_abs_shap_se == 0.0 for v in everything.by_feature.values())


def test_attributions_convert_to_a_shap_explanation_that_shap_plots_draws(probability_data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    X, y = probability_data
    model = default_model("binary", seed=0).fit(X, y)
    att = compute_attributions(model, X, seed=0, max_rows=200, background_rows=50)
    explanation = att.to_explanation()
    assert explanation.shape == (200, 2)
    np.testing.assert_array_equal(explanation.values, att.shap_values.to_numpy())
    np.testing.assert_array_equal(explanation.data, att.feature_values.to_numpy())
    assert list(explanation.feature_names) == ["t", "x2"]
    assert np.all(explanation.base_values == att.base_value)
    # On the probability scale: base value plus the row's SHAP values is its prediction.
    total = explanation.base_values + explanation.values.sum(axis=1)
    np.testing.assert_allclose(total, model.predict_proba(att.feature_values)[:, 1], atol=1e-6)
    # The converted values are copies: drawing cannot change the stored attributions.
    explanation.values[:] = 0.0
    stored = att.base_value + att.shap_values.to_numpy().sum(axis=1)
    np.testing.assert_allclose(stored, model.predict_proba(att.feature_values)[:, 1], atol=1e-6)

    explanation = att.to_explanation()
    shap.plots.beeswarm(explanation, show=False)
    ax = plt.gcf().axes[0]
    # One row of dots per feature, labelled with its name, most important (t) on top.
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert labels == ["x2", "t"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2 * 200
    plt.close("all")


def test_default_model_kinds_and_determinism(small_data):
    X, y_bin, _ = small_data
    clf = default_model("binary", seed=3)
    reg = default_model("continuous", seed=3)
    assert isinstance(clf, HistGradientBoostingClassifier)
    assert isinstance(reg, HistGradientBoostingRegressor)
    assert clf.random_state == default_model("binary", seed=3).random_state
    assert not hasattr(clf, "n_iter_")  # unfitted
    p1 = default_model("binary", seed=3).fit(X, y_bin).predict_proba(X)
    p2 = default_model("binary", seed=3).fit(X, y_bin).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    with pytest.raises(OptionError, match="outcome_kind: 'categorical'"):
        default_model("categorical", seed=0)


def test_option_and_data_errors(small_data):
    X, _, y_cont = small_data
    model = LinearRegression().fit(X, y_cont)
    # max_rows is the max_shap_rows option: the table's message, as analyze() gives it.
    with pytest.raises(OptionError, match=r"^max_shap_rows: expected an integer >= 10, got 0; "):
        compute_attributions(model, X, max_rows=0)
    with pytest.raises(OptionError, match=r"^max_shap_rows: expected an integer >= 10, got 2\.5"):
        compute_attributions(model, X, max_rows=2.5)
    with pytest.raises(OptionError, match=r"^background_rows: 0 is not a positive integer$"):
        compute_attributions(model, X, background_rows=0)
    with pytest.raises(OptionError, match=r"^seed: expected a non-negative integer, got -1"):
        compute_attributions(model, X, seed=-1)
    with pytest.raises(DataError, match="X: expected a pandas DataFrame"):
        compute_attributions(model, X.to_numpy())
    with pytest.raises(DataError, match="'a' hold missing"):
        compute_attributions(model, X.assign(a=np.nan))


# --- model errors -----------------------------------------------------------------------


def _model_error(model, X) -> str:
    with pytest.raises(ModelError) as info:
        compute_attributions(model, X, seed=0, max_rows=20, background_rows=10)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_error_unfitted_model(small_data):
    X, _, _ = small_data
    message = _model_error(HistGradientBoostingClassifier(), X)
    assert message.startswith("model HistGradientBoostingClassifier: is not fitted;")
    assert "call model.fit" in message


def test_error_model_fitted_on_other_columns(small_data):
    X, _, y_cont = small_data
    model = Ridge().fit(X, y_cont)
    message = _model_error(model, X.rename(columns={"a": "z"}))
    assert message.startswith("model Ridge: was fitted on other columns")
    assert "missing from X: 'a'" in message
    assert "not seen by the model: 'z'" in message
    # Fitted without names: the count is checked.
    unnamed = Ridge().fit(X.to_numpy(), y_cont)
    message = _model_error(unnamed, X[["a", "b"]])
    assert "was fitted on 3 features but X has 2 columns" in message


def test_error_classifier_without_predict_proba(small_data):
    X, y_bin, _ = small_data
    message = _model_error(SVC().fit(X, y_bin), X)
    assert message.startswith("model SVC: is a classifier without predict_proba")
    assert "SVC(probability=True)" in message


def test_error_multiclass_classifier(small_data):
    X, _, y_cont = small_data
    y3 = pd.cut(y_cont, 3, labels=False)
    message = _model_error(LogisticRegression().fit(X, y3), X)
    assert message.startswith("model LogisticRegression: has 3 classes (")
    assert "multiclass is not" in message
    assert "binary outcome" in message


def test_error_object_without_predict(small_data):
    X, _, _ = small_data

    class Scorer:
        def score(self, X):
            return 0.0

    message = _model_error(Scorer(), X)
    assert message == (
        "model Scorer: has no predict method; pass a fitted scikit-learn-style estimator"
    )


def test_error_prediction_failure_is_one_line(small_data):
    X, _, _ = small_data

    class Broken:
        def predict(self, X):
            raise RuntimeError("boom\nsecond line")

    message = _model_error(Broken(), X)
    assert message.startswith("model Broken: prediction on X failed (RuntimeError: boom);")


# --- the user's model in the user's types: fast paths, budgets, errors -------------------

LEVEL_EFFECT = {"x": 0.0, "y": 2.0, "z": -1.5}


def _categorical_frame(n: int = 2000, seed: int = 21) -> pd.DataFrame:
    """P(y = 1) = logistic(a + effect(c)); b is noise; c a pandas category of three levels."""
    rng = np.random.default_rng(seed)
    c = rng.choice(list(LEVEL_EFFECT), n)
    a, b = rng.normal(size=n), rng.normal(size=n)
    signal = a + pd.Series(c).map(LEVEL_EFFECT).to_numpy()
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-signal))).astype(int)
    frame = pd.DataFrame({"a": a, "b": b, "c": c, "y": y})
    return frame.assign(c=pd.Categorical(frame["c"], categories=list(LEVEL_EFFECT)))


def _checked(frame: pd.DataFrame):
    from causalinterp.data import check_data
    from causalinterp.graph import CausalGraph

    graph = CausalGraph.parse("a -> y; b -> y; c -> y")
    return check_data(frame, graph, "y", features=["a", "b", "c"])


def test_categorical_lightgbm_is_explained_natively_in_seconds():
    import time

    from causalinterp.attribute import attribute_model

    frame = _categorical_frame()
    features = ["a", "b", "c"]
    model = lightgbm.LGBMClassifier(n_estimators=100, verbose=-1, n_jobs=1)
    model.fit(frame[features], frame["y"])
    for data in (frame, frame.assign(c=frame["c"].astype(str))):  # as read from a CSV file
        start = time.perf_counter()
        att = attribute_model(model, data, _checked(data), model_seed=0, seed=0)
        seconds = time.perf_counter() - start
        assert att.explainer == "native" and "path-dependent" in att.note
        assert seconds < 60  # was 750 s through the model-agnostic explainer
        assert att.rows_explained == 2000
        proba = model.predict_proba(frame[features])[:, 1]
        total = att.base_value + att.shap_values.sum(axis=1).to_numpy()
        assert np.max(np.abs(total - proba[att.shap_values.index])) < 1e-9
        # The level effects come back in their order (z < x < y) and b gets the least.
        c = frame["c"].astype(str).to_numpy()[att.shap_values.index]
        by_level = {lvl: att.shap_values["c"].to_numpy()[c == lvl].mean() for lvl in "xyz"}
        assert by_level["z"] < by_level["x"] < by_level["y"]
        assert att.by_feature["b"].rank == 3
        assert math.isnan(att.by_feature["c"].slope)  # levels have no unit


def test_a_type_mismatch_names_the_column_not_an_internal_wrapper():
    from causalinterp.attribute import attribute_model

    frame = _categorical_frame(n=400)
    model = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1)
    model.fit(frame[["a", "b", "c"]], frame["y"])
    coded = frame.assign(c=frame["c"].cat.codes.astype("int64"))
    with pytest.raises(ModelError) as error:
        attribute_model(model, coded, _checked(coded), model_seed=0, seed=0)
    text = str(error.value)
    assert text.startswith("model LGBMClassifier: column 'c'") and "\n" not in text
    assert "category" in text and "int64" in text and "_LevelDecoder" not in text
    assert _shap.model_name(_user_model_decoder(model, frame)) == "LGBMClassifier"


def _user_model_decoder(model, frame):
    from causalinterp.attribute.attributions import user_model_and_rows

    return user_model_and_rows(model, frame, _checked(frame))[0]


def test_a_time_budget_explains_fewer_rows_and_says_so(small_data, capsys):
    X, _, y_cont = small_data
    model = KNeighborsRegressor(n_neighbors=5).fit(X, y_cont)  # no fast explainer
    full = compute_attributions(model, X, seed=3, max_rows=200, background_rows=30)
    assert full.rows_explained == 200 and "model-agnostic exact explainer" in full.note
    capsys.readouterr()
    cut = compute_attributions(
        model, X, seed=3, max_rows=200, background_rows=30, max_seconds=1e-9, progress=True
    )
    err = capsys.readouterr().err
    assert "SHAP: model KNeighborsRegressor" in err and "10 of 200 rows explained" in err
    assert cut.rows_explained == 10 and "max_shap_seconds=1e-09" in cut.note
    # The rows kept are a subset of the unbudgeted sample, explained identically (the exact
    # explainer is deterministic), and their mean |SHAP| has the larger sampling error.
    assert set(cut.shap_values.index) <= set(full.shap_values.index)
    pd.testing.assert_frame_equal(cut.shap_values, full.shap_values.loc[cut.shap_values.index])
    for name in X.columns:
        assert cut.by_feature[name].mean_abs_shap_se > full.by_feature[name].mean_abs_shap_se
    quiet = compute_attributions(
        model, X, seed=3, max_rows=200, background_rows=30, max_seconds=1e-9, progress=False
    )
    assert capsys.readouterr().err == "" and quiet.note == cut.note


def test_analyze_fits_the_default_model_once_for_attributions_domain_check_and_curves(
    monkeypatch,
):
    import causalinterp.attribute._default_model as defaults
    from causalinterp import analyze

    fits = []
    original = defaults.default_model

    def counted(outcome_kind, *, seed):
        model = original(outcome_kind, seed=seed)
        fit = model.fit
        model.fit = lambda *a, **k: (fits.append(outcome_kind), fit(*a, **k))[1]
        return model

    monkeypatch.setattr(defaults, "default_model", counted)
    rng = np.random.default_rng(0)
    z = rng.normal(size=800)
    x = 0.5 * z + rng.normal(size=800)
    data = pd.DataFrame({"z": z, "x": x, "y": 2 * x + z + rng.normal(size=800)})
    report = analyze(
        data, "z -> x; z -> y; x -> y [+]", "y", refute="none", test_graph=False,
        max_shap_rows=200, ice_rows=40, curve_points=8, progress=False,
    )  # fmt: skip
    out = report.to_dict()
    # The domain check and the curves both called the model ...
    assert "x" in out["domain"]["checked"]
    assert {row["name"]: row for row in out["features"]}["x"]["curve"]["model_curve"] == (
        "partial_dependence"
    )
    # ... the one the attribution stage fitted.
    assert fits == ["continuous"]


def test_a_model_outside_scikit_learn_is_explained():
    """No tags, no BaseEstimator: scikit-learn's fitted check must not stop it."""

    class Plain:
        feature_names_in_ = np.array(["a", "b"], dtype=object)

        def fit(self, X, y):  # an estimator's face, without scikit-learn's tags
            return self

        def predict(self, X):
            X = pd.DataFrame(X, columns=self.feature_names_in_)
            return 2.0 * X["a"].to_numpy() - X["b"].to_numpy()

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    att = compute_attributions(Plain(), X, seed=0, max_rows=50, background_rows=40)
    assert att.by_feature["a"].slope == pytest.approx(2.0, abs=1e-9)
    assert att.by_feature["b"].slope == pytest.approx(-1.0, abs=1e-9)


def test_a_slow_pairwise_tree_explanation_is_split_over_the_workers_with_the_same_values(
    monkeypatch,
):
    """SHAP's pairwise algorithm (trees too deep for the leaf tables) costs rows x background
    rows x nodes; above ``PARALLEL_SECONDS`` its rows go to the workers in chunks, and each
    row's values are exactly what one process computes."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(6)
    x = rng.normal(size=(3000, 4))
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(
        x, np.sin(2 * x[:, 0]) * x[:, 1] + x[:, 2] + 0.1 * rng.normal(size=3000)
    )
    rows, background = x[:300], x[300:500]
    chunks: list[int] = []
    run_parallel = _shap.run_parallel

    def counting(function, items, **kwargs):
        chunks.append(len(items))
        return run_parallel(function, items, **kwargs)

    monkeypatch.setattr(_shap, "run_parallel", counting)
    serial, base, used = _shap._tree_shap(model, False, rows, background, use_leaf_tables=False)
    assert chunks == []  # a fraction of a second: one process
    monkeypatch.setattr(_shap, "PARALLEL_SECONDS", 0.0)
    split, split_base, _ = _shap._tree_shap(
        model, False, rows, background, use_leaf_tables=False, n_jobs=2, backend="loky"
    )
    assert chunks == [2]
    assert np.array_equal(split, serial) and split_base == base and used == 100
    assert np.allclose(base + split.sum(axis=1), model.predict(rows), atol=1e-6)
