"""What one simulation is, and how the re-fitting path runs it.

A :class:`Plan` is one feature's share of the stage: its effect, the columns its estimator
uses and one seed per refuter. A :class:`Task` is one simulation of the re-fitting path: the
refuter perturbs the data (:meth:`~causalinterp.refute.refuters.Refuter.perturb`) and the
estimation adapter re-estimates. Both are self-contained and picklable, so any joblib backend
(loky, dask) can run them. The dummy outcome's systematic part, which both paths share, is
fitted here too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from causalinterp._progress import run_parallel
from causalinterp.estimate._subsample import capped_folds
from causalinterp.estimate.effects import design_arrays, estimate_identified
from causalinterp.refute.refuters import REGISTRY

if TYPE_CHECKING:
    from causalinterp.estimate import _econml
    from causalinterp.estimate._dowhy import Identification
    from causalinterp.estimate._econml import EffectEstimate
    from causalinterp.estimate.effects import FeatureEffect


@dataclass(frozen=True)
class Plan:
    """One refuted feature: its effect, the columns its estimator uses, one seed per refuter."""

    feature: str
    effect: FeatureEffect
    frame: pd.DataFrame
    seeds: tuple[np.random.SeedSequence, ...]  # one per refuter, in REFUTERS order
    controls: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Task:
    """One simulation: a perturbation of one feature's data and a re-estimation."""

    feature: str
    refuter: str
    frame: pd.DataFrame  # only the columns this feature's estimator uses
    kinds: Mapping[str, str]
    outcome: str
    identification: Identification
    seed: np.random.SeedSequence
    n_folds: int
    nuisance: _econml.Nuisance
    fitted_outcome: np.ndarray | None = None  # dummy outcome: systematic part (see dummy_base)
    dummy_residuals: np.ndarray | None = None  # dummy outcome: residuals to permute
    reference: bool = False  # dummy outcome without noise: the systematic part alone
    estimand: str = "ate"  # binary back-door treatments: re-fits target the same population


#: A simulation's outcome: the estimate, its standard error and why it failed ("" if it did not).
Simulated = tuple[float, float, str]


def reestimate(
    frame: pd.DataFrame,
    kinds: Mapping[str, str],
    treatment: str,
    outcome: str,
    identification: Identification,
    *,
    seed: int,
    n_folds: int = 3,
    nuisance: _econml.Nuisance = "auto",
    estimand: str = "ate",
) -> EffectEstimate:
    """Estimate ``treatment``'s effect on ``outcome`` the way ``identification`` says
    (for a binary back-door treatment, over the ``estimand``'s population)."""
    arrays = design_arrays(identification, frame, treatment, outcome)
    if estimand != "ate" and kinds[treatment] == "binary" and identification.strategy == "backdoor":
        from causalinterp.estimate._econml import fit_backdoor
        from causalinterp.estimate.estimands import apply_estimand

        estimate, kept = fit_backdoor(
            arrays["y"],
            arrays["t"],
            arrays["w"],
            treatment_kind="binary",
            outcome_kind=kinds[outcome],
            seed=int(seed),
            n_folds=n_folds,
            nuisance=nuisance,
        )
        return apply_estimand(estimate, kept, estimand)
    return estimate_identified(
        identification,
        arrays["y"],
        arrays["t"],
        w=arrays["w"],
        m=arrays["m"],
        z=arrays["z"],
        treatment_kind=kinds[treatment],
        outcome_kind=kinds[outcome],
        seed=int(seed),
        n_folds=n_folds,
        nuisance=nuisance,
    )


def learners_of(effect: FeatureEffect, nuisance: _econml.Nuisance) -> _econml.Nuisance:
    """The learners a re-fit of ``effect`` uses: those ``nuisance="auto"`` chose for it (held
    fixed, not chosen again), else the ``nuisance`` option as given."""
    chosen = getattr(effect.estimate, "learners", None)
    return chosen if chosen is not None else nuisance


def run_task(task: Task) -> Simulated:
    """The re-estimated effect and its standard error, or NaNs and the reason it failed."""
    data_seed, estimator_seed = task.seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    frame, kinds, identification = REGISTRY[task.refuter].perturb(task, rng)
    try:
        # Parallelism is across simulations: inner OpenMP/BLAS threads would only oversubscribe.
        with threadpool_limits(limits=1):
            estimate = reestimate(
                frame,
                kinds,
                task.feature,
                task.outcome,
                identification,
                seed=int(estimator_seed.generate_state(1)[0] >> 1),
                n_folds=task.n_folds,
                nuisance=task.nuisance,
                estimand=task.estimand,
            )
    except Exception as exc:  # a failed simulation is data, not a crash
        return math.nan, math.nan, f"{type(exc).__name__}: {exc}".strip()
    return float(estimate.estimate), float(estimate.stderr), ""


def columns(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray | None:
    """``names`` of ``frame`` as a float matrix, None when there are none."""
    return frame[list(names)].to_numpy(dtype=float) if names else None


def dummy_base(frame: pd.DataFrame, outcome: str, feature: str, effect: float) -> np.ndarray:
    """The outcome with the estimated effect taken out, y - effect * t.

    Its dependence on the controls is what the dummy outcome keeps. Taking the effect out
    first matters: the residuals of y on the controls hold the treatment's own noise (times
    the effect); a flexible fit of y would learn part of that noise as a function of the
    controls, the estimator's treatment model learns the same noise, and the dummy outcome
    would show a spurious effect of about one standard error (measured).
    """
    y = frame[outcome].to_numpy(dtype=float)
    t = frame[feature].to_numpy(dtype=float)
    return y - effect * t if math.isfinite(effect) else y


def fit_outcome(
    target: np.ndarray, x: np.ndarray | None, seed: int, max_rows: int | None = None
) -> np.ndarray:
    """Cross-fitted E[target | x], the systematic part kept by the dummy outcome.

    Least squares plus gradient boosting on its residuals (3 folds): the dummy outcome then
    carries the linear and the non-linear dependence on the controls that the real outcome
    has, and an estimator that cannot adjust for it shows a non-zero dummy effect. On large
    data each fold's learners see a seeded ``max_rows`` of its training rows (the effects'
    subsample rule, :func:`causalinterp.estimate._subsample.subsample_rows`) and predict on
    every row; when half the rows are at least ``max_rows``, on 2 folds
    (:func:`~causalinterp.estimate._subsample.capped_folds`: the same learners, fewer fits).
    """
    fitted = np.full(len(target), target.mean())
    if x is None or len(target) < 20:
        return fitted
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold

    scale = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    folds = KFold(n_splits=capped_folds(len(target), max_rows, 3), shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        for train, test in folds.split(x):
            if max_rows is not None and train.size > max_rows:
                train = np.sort(np.random.default_rng(seed).choice(train, max_rows, replace=False))
            linear = LinearRegression().fit(x[train], target[train])
            # scikit-learn's own default, early stopping above 10,000 training rows: on large
            # data the boosting stops when a held-out tenth no longer improves (fewer trees to
            # fit and to evaluate on every row); below that every fold keeps all its rows.
            boost = HistGradientBoostingRegressor(
                max_iter=100, max_leaf_nodes=15, early_stopping="auto", random_state=seed
            ).fit(x[train], target[train] - linear.predict(x[train]))
            fitted[test] = linear.predict(x[test]) + boost.predict(x[test])
    return fitted


def fit_outcome_task(args: tuple) -> np.ndarray:
    return fit_outcome(*args)


def parallel_map(
    function: Callable[[Any], Any],
    items: Sequence,
    *,
    n_jobs: int | None,
    backend: str | None,
    progress: bool = False,
) -> list:
    """``function`` over ``items`` through the package's one parallel helper, in order."""
    return run_parallel(
        function,
        items,
        n_jobs=n_jobs,
        backend=backend,
        progress=progress,
        desc="refutations",
        unit="fit",
    )
