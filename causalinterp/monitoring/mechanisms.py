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

A residual distribution that keeps its shape can still hide a changed mechanism: a slope that
doubles around the parents' mean, or a new interaction, moves each residual by an amount that
depends on the parents, and the residuals' mean and spread barely change. So every node with
parents also gets a **residual-dependence test**: the residuals are regressed on the parents
(standardised, their squares, their pairwise products, one indicator per level of a text
parent), once on the held-out reference rows and once on the window's rows, and a Chow F-test
asks whether the two regressions differ. Model error the reference fit left behind is in both
and cancels; a changed slope or interaction is in the window alone. Its score is the root mean
square of the difference of the two fitted residual functions over the window's rows, less what
noise alone would give, in reference residual SDs. A node's p-value is the smaller of its two
tests' (Bonferroni: doubled, capped at 1), its score the larger of the two scores.

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

#: Up to this many parents the dependence test includes their pairwise products.
MAX_INTERACTION_PARENTS = 8


@dataclass(frozen=True)
class MechanismReference:
    """A node's mechanism fitted on the reference, and its held-out residuals.

    ``booster`` holds the trees as plain arrays (:class:`Trees`), which a saved summary keeps
    as they are: no fitted object is unpickled or refitted. ``hold_x`` holds the parents
    (as :func:`residuals_of` codes them) of the held-out rows whose ``residuals`` are kept, in
    the same order, for the residual-dependence test.
    """

    node: str
    parents: tuple[str, ...]
    binary: bool
    coef: np.ndarray
    intercept: float
    booster: Trees | None
    residuals: np.ndarray
    residual_std: float
    levels: Mapping[str, tuple[str, ...]]
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    column: ColumnReference | None = None
    booster_seed: int = 0
    hold_x: np.ndarray | None = None


@dataclass(frozen=True)
class MechanismChange:
    """One node in the causal-drift ranking.

    Attributes
    ----------
    node : str
    score : float
        Size of the change, in reference residual SDs: the larger of ``distribution_score``
        and ``dependence_score``.
    p_value, p_adjusted : float
        The node's p-value (the smaller of its tests', Bonferroni-corrected) and its
        Benjamini-Hochberg adjustment across the ranking.
    changed : bool
        ``p_adjusted < mechanism_alpha`` and ``score >= mechanism_threshold``.
    parents : tuple of str
        The observed parents the mechanism was fitted on (empty for a root).
    test : str
        The residual-distribution test: ``"ks"``, ``"welch_t"`` or ``"chi2"`` (text nodes).
    distribution_score, distribution_p : float
        That test's score (Wasserstein distance or mean shift of the residuals, in residual
        SDs; Jensen-Shannon distance for text nodes) and p-value.
    dependence_score, dependence_p : float or None
        The residual-dependence (Chow F) test's score and p-value; None for roots, text
        nodes and windows too small for it.
    """

    node: str
    score: float
    p_value: float
    p_adjusted: float
    changed: bool
    parents: tuple[str, ...]
    test: str
    distribution_score: float = float("nan")
    distribution_p: float = float("nan")
    dependence_score: float | None = None
    dependence_p: float | None = None


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


@dataclass(frozen=True)
class Trees:
    """Fitted regression trees as plain arrays: what a saved summary stores instead of a
    fitted object (nothing to unpickle, nothing to refit on loading).

    Nodes of every tree are numbered together; ``roots`` are the trees' first nodes. A row
    goes left where ``x[feature] <= threshold`` (a missing value where ``missing_left``), and
    the prediction is ``baseline`` plus the sum of the leaves' ``value`` it reaches.
    """

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    baseline: float

    FIELDS = ("feature", "threshold", "missing_left", "left", "right", "leaf", "value", "roots")

    @classmethod
    def from_booster(cls, booster: object) -> Trees:
        """The trees of a fitted ``HistGradientBoostingRegressor`` (numeric features only)."""
        nodes = [tree.nodes for (tree,) in booster._predictors]
        offsets = np.cumsum([0] + [len(n) for n in nodes[:-1]])
        joined = np.concatenate(nodes)
        shift = np.repeat(offsets, [len(n) for n in nodes])
        return cls(
            feature=joined["feature_idx"].astype(np.int64),
            threshold=joined["num_threshold"].astype(float),
            missing_left=joined["missing_go_to_left"].astype(bool),
            left=joined["left"].astype(np.int64) + shift,
            right=joined["right"].astype(np.int64) + shift,
            leaf=joined["is_leaf"].astype(bool),
            value=joined["value"].astype(float),
            roots=offsets.astype(np.int64),
            baseline=float(np.ravel(booster._baseline_prediction)[0]),
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The trees' summed prediction for the rows of ``x``."""
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        while True:
            active = ~self.leaf[node]
            if not active.any():
                break
            values = x[rows, self.feature[node]]
            go_left = np.where(
                np.isnan(values), self.missing_left[node], values <= self.threshold[node]
            )
            node = np.where(active, np.where(go_left, self.left[node], self.right[node]), node)
        return self.baseline + self.value[node].sum(axis=1)


def fit_booster(x: np.ndarray, y: np.ndarray, seed: int) -> Trees:
    """The trees on the linear part's residuals, as :class:`Trees`."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    booster = HistGradientBoostingRegressor(
        max_iter=50, learning_rate=0.1, min_samples_leaf=20, random_state=seed
    ).fit(x, y)
    return Trees.from_booster(booster)


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
        residuals,
        std,
        levels,
        low,
        high,
        booster_seed=seed,
        hold_x=_design(hold, parents, levels) if parents else None,
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


def _terms(x: np.ndarray, mechanism: MechanismReference) -> np.ndarray:
    """The regressors of the residual-dependence test: an intercept, each numeric parent
    standardised (by the held-out reference's mean and SD), its square, the pairwise products
    (up to :data:`MAX_INTERACTION_PARENTS` parents), and one indicator per level of a text
    parent (all zero at a level the reference never had)."""
    assert mechanism.hold_x is not None
    columns = [np.ones(len(x))]
    numeric = []
    for j, parent in enumerate(mechanism.parents):
        if parent in mechanism.levels:
            for code in range(1, len(mechanism.levels[parent])):
                columns.append((x[:, j] == code).astype(float))
            continue
        ref = mechanism.hold_x[:, j]
        scale = float(np.std(ref)) or 1.0
        numeric.append((x[:, j] - float(np.mean(ref))) / scale)
    columns += numeric
    columns += [z * z for z in numeric]
    if len(numeric) <= MAX_INTERACTION_PARENTS:
        columns += [
            numeric[a] * numeric[b] for a in range(len(numeric)) for b in range(a + 1, len(numeric))
        ]
    return np.column_stack(columns)


def _least_squares(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, int]:
    beta, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    return beta, float(residual @ residual), int(rank)


def dependence_test(
    mechanism: MechanismReference, x: np.ndarray, residuals: np.ndarray
) -> tuple[float, float] | None:
    """Chow F-test of the residuals' regression on the parents, reference against window.

    Returns ``(score, p_value)``, or None when the node has no parents or either sample is
    too small for the regression. Window rows with a parent outside the held-out reference's
    range are left out. The score is the root mean square, over the window's rows,
    of the difference between the window's and the reference's fitted residual functions,
    less its expectation under no change, over the reference residuals' SD.
    """
    if mechanism.hold_x is None or not mechanism.parents:
        return None
    # Only rows whose parents lie inside the reference's range: beyond it the squares and
    # products extrapolate a fit's noise without bound, and those rows are the support
    # checks' news (out_of_range, out_of_support), not this mechanism's.
    inside = np.all(
        (x >= mechanism.hold_x.min(axis=0)) & (x <= mechanism.hold_x.max(axis=0)), axis=1
    )
    x, residuals = x[inside], residuals[inside]
    ref_design = _terms(mechanism.hold_x, mechanism)
    cur_design = _terms(x, mechanism)
    q = ref_design.shape[1]
    n_ref, n_cur = len(ref_design), len(cur_design)
    if n_cur < 2 * q + 20 or n_ref < 2 * q + 20:
        return None
    beta_ref, rss_ref, _ = _least_squares(ref_design, mechanism.residuals)
    beta_cur, rss_cur, rank = _least_squares(cur_design, residuals)
    pooled = np.concatenate([ref_design, cur_design])
    _, rss_pooled, _ = _least_squares(pooled, np.concatenate([mechanism.residuals, residuals]))
    df_den = n_ref + n_cur - 2 * rank
    within = (rss_ref + rss_cur) / df_den
    if within <= 0 or rank == 0:
        return None
    statistic = max(rss_pooled - rss_ref - rss_cur, 0.0) / rank / within
    p_value = float(stats.f.sf(statistic, rank, df_den))
    gap = cur_design @ (beta_cur - beta_ref)
    # What the two fits' noise alone adds to the mean square gap (about rank * sigma^2 over
    # each sample's rows): subtracted, so that the score of an unchanged node is near 0.
    noise = within * rank * (1.0 / n_cur + 1.0 / n_ref)
    score = float(np.sqrt(max(float(np.mean(gap * gap)) - noise, 0.0))) / mechanism.residual_std
    return score, p_value


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
            raw.append((node, drift.distance, drift.p_value, drift.test, None))
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
        dependence = dependence_test(
            mechanism, _design(current, mechanism.parents, mechanism.levels), residuals
        )
        raw.append((node, float(score), 1.0 if np.isnan(p) else p, test, dependence))
    combined = []
    for _, score, p, _, dependence in raw:
        if dependence is None:
            combined.append((score, p))
        else:
            combined.append((max(score, dependence[0]), min(1.0, 2.0 * min(p, dependence[1]))))
    adjusted = benjamini_hochberg([c[1] for c in combined])
    ranking = [
        MechanismChange(
            node=node,
            score=score,
            p_value=p,
            p_adjusted=p_adj,
            changed=bool(p_adj < mechanism_alpha and score >= mechanism_threshold),
            parents=mechanisms[node].parents,
            test=test,
            distribution_score=dist_score,
            distribution_p=dist_p,
            dependence_score=None if dependence is None else dependence[0],
            dependence_p=None if dependence is None else dependence[1],
        )
        for (node, dist_score, dist_p, test, dependence), (score, p), p_adj in zip(
            raw, combined, adjusted, strict=True
        )
    ]
    ranking.sort(key=lambda m: (-m.score, m.node))
    return CausalDrift(target=target, ranking=tuple(ranking))
