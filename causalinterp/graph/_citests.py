"""The conditional-independence tests of the graph test, and their regressions.

Two tests: partial correlation (Fisher z; a Wald test on residual products when a variable is
categorical) and the Generalised Covariance Measure (Shah & Peters 2020) on cross-fitted
flexible residuals. :func:`gcm_residuals` is the unit of parallel work of
:func:`causalinterp.graph.check_graph`: one variable regressed on one conditioning set.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.preprocessing import SplineTransformer
from threadpoolctl import threadpool_limits

__all__ = [
    "design",
    "gcm_residuals",
    "linear_residuals",
    "partial_correlation_test",
    "residual_product_test",
]

# Additive spline basis of the GCM regressions: knots at these many quantiles, for columns with
# at least this many distinct values.
_SPLINE_KNOTS = 4
_SPLINE_MIN_VALUES = 20
# Pairwise products of continuous conditioning columns enter the basis up to this many columns.
_MAX_PRODUCT_COLUMNS = 8


def design(column: pd.Series, kind: str) -> np.ndarray:
    """The column as a numeric block: categorical columns become dummies (first level dropped)."""
    values = column.to_numpy(dtype=float)
    if kind == "categorical":
        levels = np.unique(values)
        if len(levels) > 1:
            return (values[:, None] == levels[None, 1:]).astype(float)
    return values[:, None]


def linear_residuals(v: np.ndarray, z: np.ndarray | None) -> np.ndarray:
    if z is None or z.shape[1] == 0:
        return v - v.mean(axis=0)
    design = np.column_stack([np.ones(len(z)), z])
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    return v - design @ coef


def _additive_basis(z_train: np.ndarray, z_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares basis (train, test): intercept, columns, splines and pairwise products.

    Each many-valued column gets a cubic spline; the products of pairs of many-valued columns
    cover the commonest interaction. Few-valued (binary, dummy) columns enter as they are.
    """
    train_parts = [np.ones((len(z_train), 1)), z_train]
    test_parts = [np.ones((len(z_test), 1)), z_test]
    smooth = []
    for j in range(z_train.shape[1]):
        column = z_train[:, j]
        knots = np.unique(np.quantile(column, np.linspace(0.0, 1.0, _SPLINE_KNOTS)))
        if len(np.unique(column)) < _SPLINE_MIN_VALUES or len(knots) < 3:
            continue
        smooth.append(j)
        spline = SplineTransformer(
            knots=knots[:, None], degree=3, extrapolation="linear", include_bias=False
        ).fit(column[:, None])
        train_parts.append(spline.transform(column[:, None]))
        test_parts.append(spline.transform(z_test[:, j : j + 1]))
    if 2 <= len(smooth) <= _MAX_PRODUCT_COLUMNS:
        pairs = list(itertools.combinations(smooth, 2))
        train_parts.append(np.column_stack([z_train[:, a] * z_train[:, b] for a, b in pairs]))
        test_parts.append(np.column_stack([z_test[:, a] * z_test[:, b] for a, b in pairs]))
    return np.hstack(train_parts), np.hstack(test_parts)


def _best_stage(boost: HistGradientBoostingRegressor, z: np.ndarray, start: float) -> np.ndarray:
    """Predictions of the boosting stage with the best validation score.

    Early stopping keeps the ``n_iter_no_change`` trees fitted after the best stage; on pure
    noise they add variance to the residuals that the GCM's standard error does not see.
    ``start`` (the training mean) stands in when no tree improved on the constant.
    """
    best = int(np.argmax(boost.validation_score_))  # index 0 is the constant start
    if best == 0:
        return np.full(len(z), start)
    return next(itertools.islice(boost.staged_predict(z), best - 1, None))


def _flexible_residuals(v: np.ndarray, z: np.ndarray, folds: np.ndarray, seed: int) -> np.ndarray:
    """Cross-fitted residuals of ``v`` on ``z``: least squares, then boosted trees on the rest.

    The GCM stays calibrated only if both regressions are accurate: their errors multiply into a
    bias of the statistic. Least squares on splines and pairwise products makes linear, smooth
    additive and product relations (nearly) exact, where trees alone leave step-shaped errors
    that are alike for ``x`` and ``y``: in trials they gave 93% false positives on a quadratic
    null (3% with splines) and 32% on an interaction null (8% with the products). The boosted
    trees then pick up what is left, truncated at their best validation stage.
    """
    out = np.empty_like(v)
    for k in (0, 1):
        train, test = folds != k, folds == k
        basis_train, basis_test = _additive_basis(z[train], z[test])
        coef, *_ = np.linalg.lstsq(basis_train, v[train], rcond=None)
        rest = v[train] - basis_train @ coef
        for j in range(v.shape[1]):
            boost = HistGradientBoostingRegressor(
                max_iter=200,
                learning_rate=0.1,
                max_leaf_nodes=15,
                min_samples_leaf=20,
                early_stopping=True,
                validation_fraction=0.2,
                n_iter_no_change=5,
                random_state=seed,
            ).fit(z[train], rest[:, j])
            fitted = basis_test @ coef[:, j] + _best_stage(boost, z[test], float(rest[:, j].mean()))
            out[test, j] = v[test, j] - fitted
    return out


def residual_product_test(rx: np.ndarray, ry: np.ndarray) -> float:
    """p-value of the GCM statistic: the normalised mean of residual products.

    Scalar case: ``sqrt(n) mean(R) / sd(R)`` is N(0, 1) under the null (Shah & Peters 2020).
    Dummy-coded categorical variables give a vector of products: Wald chi-square on its mean.
    """
    n = len(rx)
    products = (rx[:, :, None] * ry[:, None, :]).reshape(n, -1)
    mean = products.mean(axis=0)
    centred = products - mean
    cov = centred.T @ centred / n
    if products.shape[1] == 1:
        sd = float(np.sqrt(cov[0, 0]))
        if not np.isfinite(sd) or sd <= 1e-12 * (1.0 + abs(float(mean[0]))):
            return 1.0  # a constant residual carries no evidence of dependence
        stat = np.sqrt(n) * float(mean[0]) / sd
        return float(2.0 * stats.norm.sf(abs(stat)))
    wald = float(n * mean @ np.linalg.pinv(cov) @ mean)
    dof = max(int(np.linalg.matrix_rank(cov)), 1)
    return float(stats.chi2.sf(wald, dof))


def partial_correlation_test(rx: np.ndarray, ry: np.ndarray, n_given_columns: int) -> float:
    if rx.shape[1] > 1 or ry.shape[1] > 1:
        return residual_product_test(rx, ry)
    a, b = rx[:, 0], ry[:, 0]
    denom = np.sqrt(a @ a * (b @ b))
    if denom <= 0 or not np.isfinite(denom):
        return 1.0
    r = float(np.clip(a @ b / denom, -0.9999999, 0.9999999))
    dof = max(len(a) - n_given_columns - 3, 1)
    stat = np.arctanh(r) * np.sqrt(dof)
    return float(2.0 * stats.norm.sf(abs(stat)))


def _child(parent: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """The seed at ``key`` below ``parent``: what repeated ``spawn`` calls would reach."""
    return np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, *key))


def _gcm_residual_task(
    v: np.ndarray, z: np.ndarray, set_seed: np.random.SeedSequence, variable_index: int
) -> np.ndarray:
    """Cross-fitted flexible residuals of one variable on one conditioning set."""
    # The folds depend only on the conditioning set's seed, so every variable regressed on the
    # same set is cross-fitted on the same split; the trees get a seed per variable.
    n = len(v)
    folds = np.zeros(n, dtype=int)
    folds[np.random.default_rng(_child(set_seed, 0)).permutation(n)[: n // 2]] = 1
    tree_seed = int(_child(set_seed, 1, variable_index).generate_state(1)[0])
    # One OpenMP thread per regression: parallelism is across regressions (joblib), and
    # OpenMP teams spinning on busy cores slowed the boosted trees by over 50x in trials.
    with threadpool_limits(limits=1, user_api="openmp"):
        return _flexible_residuals(v, z, folds, tree_seed)


def gcm_residuals(
    task: tuple[np.ndarray, np.ndarray, np.random.SeedSequence, int],
) -> np.ndarray:
    """:func:`_gcm_residual_task` on one packed task (what ``run_parallel`` hands over)."""
    return _gcm_residual_task(*task)
