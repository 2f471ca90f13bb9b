"""Leaf-table interventional TreeSHAP: exact against brute-force Shapley values over the
whole background, equal to SHAP's pairwise algorithm, and used where it applies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeRegressor

from causalinterp.attribute import _budget, _interventional_trees, _shap
from causalinterp.attribute.attributions import compute_attributions


def simulate(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five features with interactions; two are integer-valued, so many rows sit exactly on
    a split threshold (the case the integer codes exist for)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 3] = np.round(X[:, 3])
    X[:, 4] = rng.integers(0, 3, size=n)
    signal = X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * X[:, 4] * (X[:, 3] > 0)
    return X, signal + rng.normal(scale=0.5, size=n)


MODELS = {
    "random forest regressor, unlimited depth": lambda: RandomForestRegressor(
        n_estimators=8, random_state=0
    ),
    "random forest classifier": lambda: RandomForestClassifier(
        n_estimators=10, max_depth=6, random_state=0
    ),
    "extra trees classifier": lambda: ExtraTreesClassifier(
        n_estimators=10, max_depth=8, random_state=0
    ),
    "gradient boosting regressor": lambda: GradientBoostingRegressor(
        n_estimators=30, max_depth=3, random_state=0
    ),
    "histogram gradient boosting regressor": lambda: HistGradientBoostingRegressor(
        max_iter=20, random_state=0
    ),
}


def fitted(name: str, X: np.ndarray, y: np.ndarray):
    model = MODELS[name]()
    classifier = hasattr(model, "predict_proba")
    return model.fit(X, (y > 0).astype(int) if classifier else y), classifier


def prediction(model, classifier: bool, a: np.ndarray) -> np.ndarray:
    return model.predict_proba(a)[:, 1] if classifier else model.predict(a)


@pytest.mark.parametrize("name", list(MODELS))
def test_leaf_tables_equal_brute_force_shapley_values_over_the_whole_background(name) -> None:
    # 150 background rows: more than SHAP's pairwise algorithm keeps, so a result computed
    # on a subsample would differ from the brute force, which averages over all of them.
    X, y = simulate(600)
    model, classifier = fitted(name, X, y)
    rows, background = X[:40], X[400:550]
    values, base, used = _shap._tree_shap(model, classifier, rows, background)
    expected, expected_base = _budget.exact_shap(
        lambda a: prediction(model, classifier, a), rows, background
    )
    assert used == 150
    assert base == pytest.approx(expected_base, abs=1e-12)
    np.testing.assert_allclose(values, expected, atol=1e-10)


@pytest.mark.parametrize("name", list(MODELS))
def test_leaf_tables_equal_shaps_pairwise_algorithm(name) -> None:
    X, y = simulate(1000, seed=1)
    model, classifier = fitted(name, X, y)
    rows, background = X[:300], X[900:]  # 100 background rows: SHAP keeps them all
    fast = _shap._tree_shap(model, classifier, rows, background)
    pairwise = _shap._tree_shap(model, classifier, rows, background, use_leaf_tables=False)
    assert fast[2] == pairwise[2] == 100
    assert fast[1] == pytest.approx(pairwise[1], abs=1e-9)
    # SHAP keeps leaf values in float32.
    np.testing.assert_allclose(fast[0], pairwise[0], atol=1e-6)
    assert np.abs(fast[1] + fast[0].sum(1) - prediction(model, classifier, rows)).max() < 1e-10


def test_paths_deeper_than_the_tables_take_go_to_the_pairwise_algorithm(monkeypatch) -> None:
    X, y = simulate(500, seed=2)
    model = DecisionTreeRegressor(max_depth=6, random_state=0).fit(X, y)
    monkeypatch.setattr(_interventional_trees, "MAX_PATH_FEATURES", 2)
    with pytest.raises(NotImplementedError, match="distinct features"):
        _interventional_trees.interventional_values(
            [
                {
                    "children_left": model.tree_.children_left,
                    "children_right": model.tree_.children_right,
                    "features": model.tree_.feature,
                    "thresholds": np.round(model.tree_.threshold),
                    "values": model.tree_.value[:, 0, :],
                }
            ],
            np.round(X[:5]),
            np.round(X[:5]),
        )
    values, base, used = _shap._tree_shap(model, False, X[:50], X[300:450])
    assert used == _shap.PAIRWISE_BACKGROUND_ROWS
    assert np.abs(base + values.sum(1) - model.predict(X[:50])).max() < 1e-6


def frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])


def test_attributions_say_how_many_background_rows_each_explainer_averaged_over() -> None:
    X, y = simulate(800, seed=3)
    forest = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0)
    forest.fit(frame(X), (y > 0).astype(int))
    att = compute_attributions(forest, frame(X), seed=0, max_rows=100, background_rows=150)
    assert (att.explainer, att.background_rows, att.note) == ("tree", 150, "")

    # Log-odds trees on the probability scale do not split by tree: SHAP's pairwise
    # algorithm runs on its 100-row subsample, and the attributions say so.
    boosting = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    boosting.fit(frame(X), (y > 0).astype(int))
    att = compute_attributions(boosting, frame(X), seed=0, max_rows=100, background_rows=150)
    assert (att.explainer, att.background_rows) == ("tree", 100)
    assert "100 of the 150 background rows" in att.note


def test_chunks_of_leaves_and_rows_give_the_same_values(monkeypatch) -> None:
    X, y = simulate(600, seed=4)
    model = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, y)
    whole = _shap._tree_shap(model, False, X[:80], X[400:500])
    # Small chunks: many leaf chunks per tree and many row chunks per leaf chunk.
    monkeypatch.setattr(_interventional_trees, "_ROW_CHUNK_ELEMENTS", 200)
    chunked = _shap._tree_shap(model, False, X[:80], X[400:500])
    np.testing.assert_allclose(chunked[0], whole[0], atol=1e-12)
    assert chunked[1] == pytest.approx(whole[1], abs=1e-12)
