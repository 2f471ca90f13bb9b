"""LIME on scikit-learn: a seeded local linear surrogate, its stability, and its agreement
with SHAP.

The ``lime`` package (0.2.0.1, last released in 2020) installs with the project's pins but
pulls in scikit-image and its image stack for a tabular explainer of a hundred lines; this
module implements LIME's tabular algorithm on scikit-learn instead, with the same defaults:

* ``n_samples`` perturbations (default 5000), the first being the row itself; a continuous
  feature is drawn from a normal with the data's mean and standard deviation, a binary or
  categorical one from its observed frequencies;
* interpretable representation: continuous features standardised; a binary or categorical
  feature is 1 where the perturbation equals the row's value, else 0;
* weights ``sqrt(exp(-d**2 / width**2))`` with ``d`` the Euclidean distance to the row in the
  standardised space and ``width = 0.75 * sqrt(p)``;
* a weighted ridge regression (``alpha = 1``) of the model's prediction (the probability of
  the positive class for a classifier) on the representation.

A feature's LIME contribution is its coefficient times the row's representation (for a
continuous feature ``(x - mean) / sd``; 1 for the others): like SHAP, how far this feature
moves the prediction away from an average row, on the outcome's scale.

**Stability** (Visani et al., 2022, "Statistical stability indices for LIME", Journal of the
Operational Research Society 73(1)): LIME is repeated ``runs`` times with independent seeds.
VSI (variables stability index) is the mean, over pairs of runs, of the Jaccard similarity of
their ``top_k`` features by |coefficient|, in percent; CSI (coefficients stability index) is
the mean, over features and pairs of runs, of whether the two runs' 95% confidence intervals
for the coefficient overlap, in percent. 100 means the runs agree; the reported
contributions are those of the first run, so one seed always gives the same explanation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from causalinterp import options

__all__ = ["LimeResult", "agreement", "lime_explain"]

_Z975 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class LimeResult:
    """LIME's explanation of one row and its stability over repeated runs.

    Attributes
    ----------
    contributions : Mapping[str, float]
        Per feature, on the outcome's scale (the first run's).
    intercept : float
        The surrogate's intercept.
    local_r2 : float
        Weighted R² of the surrogate on its perturbations (how linear the model is there).
    vsi, csi : float
        Variables and coefficients stability indices over the runs, in percent (NaN with
        fewer than two runs).
    runs : int
        Runs made.
    seed : int
        Seed of the first run (the others are spawned from it).
    """

    contributions: Mapping[str, float]
    intercept: float
    local_r2: float
    vsi: float
    csi: float
    runs: int
    seed: int


def _perturb(
    row: pd.Series,
    reference: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    n_samples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One run's perturbations (as the model takes them), their representation, the row's."""
    features = list(reference.columns)
    n, p = n_samples, len(features)
    sampled = np.empty((n, p))
    design = np.empty((n, p))
    representation = np.empty(p)
    for j, name in enumerate(features):
        column = reference[name].to_numpy(dtype=float)
        value = float(row[name])
        if kinds.get(name, "continuous") == "continuous":
            mean, sd = float(column.mean()), float(column.std()) or 1.0
            draw = rng.normal(mean, sd, size=n)
            draw[0] = value
            sampled[:, j] = draw
            design[:, j] = (draw - mean) / sd
            representation[j] = (value - mean) / sd
        else:
            levels, counts = np.unique(column, return_counts=True)
            draw = rng.choice(levels, size=n, p=counts / counts.sum())
            draw[0] = value
            sampled[:, j] = draw
            design[:, j] = (draw == value).astype(float)
            representation[j] = 1.0
    return sampled, design, representation


def _surrogate(
    design: np.ndarray, representation: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """LIME's weighted ridge: contributions, their standard errors, intercept, weighted R²."""
    p = design.shape[1]
    distance = np.sqrt(((design - representation) ** 2).sum(axis=1))
    width = 0.75 * math.sqrt(p)
    weight = np.sqrt(np.exp(-(distance**2) / width**2))
    # Weighted ridge with an unpenalised intercept, solved in closed form (centred data).
    total = weight.sum()
    x_mean = weight @ design / total
    y_mean = float(weight @ target / total)
    xc, yc = design - x_mean, target - y_mean
    gram = (xc * weight[:, None]).T @ xc
    penalised = gram + np.eye(p)
    coef = np.linalg.solve(penalised, (xc * weight[:, None]).T @ yc)
    residual = yc - xc @ coef
    rss = float(weight @ residual**2)
    tss = float(weight @ yc**2)
    dof = max(total - p - 1.0, 1.0)
    inverse = np.linalg.inv(penalised)
    cov = (rss / dof) * inverse @ gram @ inverse
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    intercept = y_mean - float(x_mean @ coef)
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    return coef * representation, se * np.abs(representation), intercept, r2


def lime_explain(
    predict: Callable[[pd.DataFrame], np.ndarray],
    row: pd.Series,
    reference: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    seed: int,
    n_samples: int = 5000,
    runs: int = 10,
    top_k: int = 5,
) -> LimeResult:
    """LIME's explanation of ``row`` and its stability indices over ``runs`` seeded runs.

    Parameters
    ----------
    predict : callable
        Maps a DataFrame of feature values to the model's predictions (probabilities for a
        classifier).
    row : pandas.Series
        The row's feature values.
    reference : pandas.DataFrame
        Data the perturbations are drawn from (the analysed rows' features).
    kinds : Mapping[str, str]
        ``"continuous"``, ``"binary"`` or ``"categorical"`` per feature.
    seed : int
        Seed of the first run; the others' seeds are spawned from it.
    n_samples : int, default 5000
        Perturbations per run.
    runs : int, default 10
        Repeated runs for the stability indices (1: no indices).
    top_k : int, default 5
        Features compared by VSI.

    Returns
    -------
    LimeResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    >>> f = lambda d: 2.0 * d["a"].to_numpy() + 0.1 * d["b"].to_numpy()
    >>> out = lime_explain(f, ref.iloc[0], ref, {}, seed=0, runs=3)
    >>> bool(abs(out.contributions["a"] - 2.0 * (ref.a[0] - ref.a.mean()) / ref.a.std(ddof=0)
    ...      * ref.a.std(ddof=0)) < 0.05), out.vsi
    (True, 100.0)
    """
    options.validate({"lime_runs": runs, "lime_samples": n_samples})
    features = [str(c) for c in reference.columns]
    children = np.random.SeedSequence(int(seed)).spawn(runs)
    draws = [
        _perturb(row, reference, kinds, n_samples=n_samples, rng=np.random.default_rng(child))
        for child in children
    ]
    # One call to the model for every run (less per-call overhead), on one thread (a loaded
    # machine's OpenMP threads spin more than they compute on these small batches).
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        sampled = pd.DataFrame(np.vstack([d[0] for d in draws]), columns=features)
        target = np.asarray(predict(sampled), dtype=float)
    fits = [
        _surrogate(design, representation, target[k * n_samples : (k + 1) * n_samples])
        for k, (_, design, representation) in enumerate(draws)
    ]
    first, _, intercept, r2 = fits[0]
    vsi, csi = _stability([f[0] for f in fits], [f[1] for f in fits], top_k)
    return LimeResult(
        contributions={name: float(v) for name, v in zip(features, first, strict=True)},
        intercept=float(intercept),
        local_r2=float(r2),
        vsi=vsi,
        csi=csi,
        runs=runs,
        seed=int(seed),
    )


def _stability(
    values: Sequence[np.ndarray], errors: Sequence[np.ndarray], top_k: int
) -> tuple[float, float]:
    """Visani et al.'s VSI and CSI (percent) over the runs' contributions and their errors."""
    if len(values) < 2:
        return math.nan, math.nan
    k = min(top_k, len(values[0]))
    tops = [frozenset(np.argsort(-np.abs(v), kind="stable")[:k].tolist()) for v in values]
    pairs = list(itertools.combinations(range(len(values)), 2))
    vsi = float(np.mean([len(tops[a] & tops[b]) / len(tops[a] | tops[b]) for a, b in pairs]))
    overlaps = []
    for a, b in pairs:
        low_a, high_a = values[a] - _Z975 * errors[a], values[a] + _Z975 * errors[a]
        low_b, high_b = values[b] - _Z975 * errors[b], values[b] + _Z975 * errors[b]
        overlaps.append((low_a <= high_b) & (low_b <= high_a))
    return round(100.0 * vsi, 2), round(100.0 * float(np.mean(overlaps)), 2)


def agreement(
    shap: Mapping[str, float], lime: Mapping[str, float], *, threshold: float = 0.5
) -> tuple[float, bool]:
    """Kendall's tau between the SHAP and LIME rankings of a row's features by magnitude, and
    whether they disagree: a different top feature, or tau below ``threshold``.

    Examples
    --------
    >>> agreement({"a": 3.0, "b": 1.0, "c": 0.1}, {"a": 2.0, "b": -1.5, "c": 0.0})
    (1.0, False)
    >>> agreement({"a": 3.0, "b": 1.0, "c": 0.1}, {"a": 0.1, "b": 1.0, "c": 3.0})[1]
    True
    """
    names = [n for n in shap if n in lime]
    if len(names) < 2:
        return math.nan, False
    s = np.abs([shap[n] for n in names])
    g = np.abs([lime[n] for n in names])
    tau = float(stats.kendalltau(s, g).statistic)
    tau = 0.0 if math.isnan(tau) else tau
    top_differs = names[int(np.argmax(s))] != names[int(np.argmax(g))]
    return round(tau, 4), bool(top_differs or tau < threshold)
