"""Causal drift: which nodes' causal mechanisms changed between the reference and a window.

A node's *mechanism* is how it arises from its parents in the DAG: ``X = f(parents) + noise``.
Its distribution can change because its parents changed (the mechanism is intact: a proxy of a
shifted confounder) or because ``f`` or the noise changed (the mechanism itself changed). Only
the second is the node's own news. For each observed node we fit ``E[X | parents]`` on one half
of a reference sample (least squares plus a small gradient-boosting model on its residuals: it
extrapolates linearly beyond the reference's range, where trees would go flat, and still bends
where the data bend), and compare the residuals ``X - f(parents)`` of the held-out reference half
with those of the window:

* continuous nodes: the Kolmogorov-Smirnov test, and as the score the Wasserstein-1 distance of
  the residuals divided by the reference residuals' standard deviation;
* binary nodes: Welch's t-test of the mean residual, and as the score the difference of mean
  residuals over the reference residuals' standard deviation;
* text (categorical) nodes: the chi-squared test of their level frequencies, and as the score
  the Jensen-Shannon distance (their marginal distribution: no residuals of a level code).

A root node's "residual" is its deviation from the reference mean, so its test is a test of its
marginal distribution. p-values are Benjamini-Hochberg adjusted across the ranked nodes; a
mechanism *changed* when the adjusted p-value is below ``mechanism_alpha`` and the score at
least ``mechanism_threshold``. The ranking orders nodes by score, highest first.

This is the question DoWhy's ``gcm.distribution_change`` answers with Shapley contributions to the
target's change; here each node's mechanism is tested on its own, which costs one regression per
node (seconds for 20 nodes on a sampled reference) and gives each node a p-value. Latent parents
are not adjusted for: a change in a latent confounder shows as a change in its observed children's
mechanisms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from causalinterp.monitoring.drift import ColumnReference, benjamini_hochberg, compare_columns


@dataclass(frozen=True)
class MechanismReference:
    """A node's mechanism fitted on the reference, and its held-out residuals.

    ``booster_x``, ``booster_y`` and ``booster_seed`` are what the trees were fitted on: a
    saved summary keeps these arrays and refits the trees on loading (:func:`fit_booster` is
    deterministic), so that no fitted object is ever unpickled.
    """

    node: str
    parents: tuple[str, ...]
    binary: bool
    coef: np.ndarray
    intercept: float
    booster: object | None
    residuals: np.ndarray
    residual_std: float
    levels: Mapping[str, tuple[str, ...]]
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    column: ColumnReference | None = None
    booster_x: np.ndarray | None = None
    booster_y: np.ndarray | None = None
    booster_seed: int = 0


@dataclass(frozen=True)
class MechanismChange:
    """One node in the causal-drift ranking.

    Attributes
    ----------
    node : str
    score : float
        Size of the change of its residual distribution, in reference residual SDs.
    p_value, p_adjusted : float
        The test's p-value and its Benjamini-Hochberg adjustment across the ranking.
    changed : bool
        ``p_adjusted < mechanism_alpha`` and ``score >= mechanism_threshold``.
    parents : tuple of str
        The observed parents the mechanism was fitted on (empty for a root).
    test : str
        ``"ks"`` or ``"welch_t"``.
    """

    node: str
    score: float
    p_value: float
    p_adjusted: float
    changed: bool
    parents: tuple[str, ...]
    test: str


@dataclass(frozen=True)
class CausalDrift:
    """The ranking of changed mechanisms for one target.

    Attributes
    ----------
    target : str
        The outcome's name when the window has labels, else ``"prediction"``.
    ranking : tuple of MechanismChange
        The target's observed ancestors (and the outcome itself when labelled), highest score
        first.
    """

    target: str
    ranking: tuple[MechanismChange, ...]


def _design(
    frame: pd.DataFrame, parents: Sequence[str], levels: Mapping[str, tuple[str, ...]]
) -> np.ndarray:
    columns = []
    for p in parents:
        if p in levels:
            # Text parents as the reference's level codes (unseen levels: -1).
            position = {level: i for i, level in enumerate(levels[p])}
            columns.append(frame[p].astype(str).map(position).fillna(-1).to_numpy(dtype=float))
        else:
            columns.append(frame[p].to_numpy(dtype=float))
    return np.column_stack(columns) if columns else np.zeros((len(frame), 0))


def fit_booster(x: np.ndarray, y: np.ndarray, seed: int) -> object:
    """The trees on the linear part's residuals (deterministic given ``x``, ``y``, ``seed``)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=50, learning_rate=0.1, min_samples_leaf=20, random_state=seed
    ).fit(x, y)


def fit_mechanism(
    sample: pd.DataFrame,
    node: str,
    parents: Sequence[str],
    *,
    seed: int,
) -> MechanismReference:
    """Fit ``E[node | parents]`` on half of ``sample``; keep the other half's residuals."""
    parents = tuple(parents)
    levels = {
        p: tuple(sorted(sample[p].astype(str).unique()))
        for p in parents
        if not pd.api.types.is_numeric_dtype(sample[p])
    }
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sample))
    half = len(sample) // 2
    fit, hold = sample.iloc[order[:half]], sample.iloc[order[half:]]
    y = fit[node].to_numpy(dtype=float)
    binary = sample[node].nunique() <= 2
    x = _design(fit, parents, levels)
    booster = None
    if parents:
        design = np.column_stack([np.ones(len(x)), x])
        solution, *_ = np.linalg.lstsq(design, y, rcond=None)
        intercept, coef = float(solution[0]), solution[1:]
        linear_residual = y - intercept - x @ coef
        if len(fit) >= 100:
            booster = fit_booster(x, linear_residual, seed)
    else:
        intercept, coef = float(np.mean(y)), np.zeros(0)
    low, high = (x.min(axis=0), x.max(axis=0)) if parents else (None, None)
    reference = MechanismReference(
        node, parents, bool(binary), coef, intercept, booster, np.zeros(0), 1.0, levels, low, high
    )
    residuals = residuals_of(reference, hold)
    std = float(np.std(residuals)) or 1.0
    return MechanismReference(
        node,
        parents,
        bool(binary),
        coef,
        intercept,
        booster,
        np.sort(residuals),
        std,
        levels,
        low,
        high,
        booster_x=x if booster is not None else None,
        booster_y=linear_residual if booster is not None else None,
        booster_seed=seed,
    )


def categorical_mechanism(column: ColumnReference, parents: Sequence[str]) -> MechanismReference:
    """A text node's "mechanism": its level frequencies in the reference.

    Its test is the chi-squared test of its levels and its score the Jensen-Shannon distance,
    as in the drift stage. For a text node with parents this tests the marginal, not the
    conditional, distribution: a change of its parents can make it look changed.
    """
    empty = np.zeros(0)
    return MechanismReference(
        column.name, tuple(parents), False, empty, 0.0, None, empty, 1.0, {}, column=column
    )


def residuals_of(mechanism: MechanismReference, frame: pd.DataFrame) -> np.ndarray:
    """``node - f(parents)`` on the rows of ``frame``."""
    x = _design(frame, mechanism.parents, mechanism.levels)
    prediction = mechanism.intercept + (x @ mechanism.coef if len(mechanism.coef) else 0.0)
    if mechanism.booster is not None:
        # The trees only where the parents lie inside the range they were fitted on: beyond it
        # they go flat, and that would read as a change of this node's mechanism when only its
        # parents left the support. There the linear part extrapolates alone.
        inside = np.all((x >= mechanism.low) & (x <= mechanism.high), axis=1)
        correction = np.zeros(len(x))
        if inside.any():
            correction[inside] = mechanism.booster.predict(x[inside])
        prediction = prediction + correction
    return frame[mechanism.node].to_numpy(dtype=float) - prediction


def causal_drift(
    mechanisms: Mapping[str, MechanismReference],
    current: pd.DataFrame,
    nodes: Sequence[str],
    target: str,
    *,
    mechanism_alpha: float,
    mechanism_threshold: float,
) -> CausalDrift:
    """Test the mechanisms of ``nodes`` on the window's rows; rank them by score."""
    raw = []
    for node in nodes:
        mechanism = mechanisms[node]
        if mechanism.column is not None:
            (drift,) = compare_columns(
                {node: mechanism.column}, current, [node], drift_alpha=1.0, drift_threshold=0.0
            )
            raw.append((node, drift.distance, drift.p_value, drift.test))
            continue
        residuals = residuals_of(mechanism, current)
        if mechanism.binary:
            result = stats.ttest_ind(mechanism.residuals, residuals, equal_var=False)
            shift = abs(float(np.mean(residuals) - np.mean(mechanism.residuals)))
            score, p, test = shift / mechanism.residual_std, float(result.pvalue), "welch_t"
        else:
            result = stats.ks_2samp(mechanism.residuals, residuals, method="asymp")
            distance = stats.wasserstein_distance(mechanism.residuals, residuals)
            score, p, test = distance / mechanism.residual_std, float(result.pvalue), "ks"
        raw.append((node, float(score), 1.0 if np.isnan(p) else p, test))
    adjusted = benjamini_hochberg([r[2] for r in raw])
    ranking = [
        MechanismChange(
            node=node,
            score=score,
            p_value=p,
            p_adjusted=p_adj,
            changed=bool(p_adj < mechanism_alpha and score >= mechanism_threshold),
            parents=mechanisms[node].parents,
            test=test,
        )
        for (node, score, p, test), p_adj in zip(raw, adjusted, strict=True)
    ]
    ranking.sort(key=lambda m: (-m.score, m.node))
    return CausalDrift(target=target, ranking=tuple(ranking))
