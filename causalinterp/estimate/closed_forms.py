"""Closed-form instrumental-variable and front-door estimators (scikit-learn and numpy only).

Both estimators are double machine learning by partialling out: every nuisance is a
cross-fitted prediction from the nuisance learners of :mod:`causalinterp.estimate._learners`
(one shared, seeded fold split), and the final stage is a ratio or a product of least-squares
slopes of the residuals, with an influence-function (sandwich / delta-method) standard error.
They are the same estimators as EconML's ``OrthoIV`` and the two ``LinearDML`` stages the
front-door used to run, written out, so a fit is the learners' cost and nothing more: no
estimator objects, no final-stage model, no inference objects. That is what makes their
re-fitting refuters cheap (``docs/identification.md``, "Closed forms").

Instrumental variables (partialled-out 2SLS)
    ``y~ = y - E[y | w]``, ``t~ = t - E[t | w]`` and the instrument's residual ``q``: with one
    instrument ``q = z - E[z | w]``; with several, the optimal instrument's residual
    ``q = E[t | w, z] - E[t | w]`` (the flexible first stage, as ``OrthoIV(projection=True)``).
    The effect solves ``mean(q (y~ - b t~)) = 0``::

        b = sum(q y~) / sum(q t~),   se = sqrt(mean(q^2 (y~ - b t~)^2) / n) / |mean(q t~)|

    Constant effect (or, with heterogeneity, a local average effect among the units the
    instrument moves). The first stage and, when weak, the Anderson-Rubin set are attached by
    :func:`causalinterp.estimate.instruments.with_first_stage`, as before.
Front-door (product of two partialled-out regressions)
    Stage 1, ``t -> m``: ``a = sum(t~ m~) / sum(t~^2)`` with ``t~ = t - E[t | w]`` and
    ``m~ = m - E[m | w]``. Stage 2, ``m -> y`` given ``t``: ``b`` the least-squares slopes of
    ``y - E[y | t, w]`` on ``m - E[m | t, w]``. The effect is ``a . b``; its standard error is
    the delta method over the stacked influence functions of both stages
    (:func:`frontdoor_delta`). Effects linear in ``t`` and in the mediators.

The residuals are returned with the estimate (:class:`IVResiduals`,
:class:`FrontdoorResiduals`), so a refuter that changes only the final stage can reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from causalinterp.errors import EstimationError
from causalinterp.estimate._econml import _frontdoor_delta
from causalinterp.estimate._fitting import (
    EffectEstimate,
    _as_2d,
    _checked_inputs,
    _controls,
    _nuisance_for,
    _quiet_fit,
    _required_columns,
    _result,
)
from causalinterp.estimate._learners import Nuisance, make_learner

__all__ = [
    "FRONTDOOR_METHOD",
    "IV_METHOD",
    "FrontdoorResiduals",
    "IVResiduals",
    "cross_fit",
    "estimate_frontdoor",
    "estimate_iv",
    "fit_frontdoor",
    "fit_iv",
    "frontdoor_delta",
    "iv_ratio",
]

IV_METHOD = "2SLS, partialled out (cross-fitted)"
FRONTDOOR_METHOD = "front-door, partialled out (cross-fitted)"


@dataclass(frozen=True)
class IVResiduals:
    """Cross-fitted residuals of an IV fit: ``b = sum(q y_res) / sum(q t_res)``."""

    y_res: np.ndarray
    t_res: np.ndarray
    q: np.ndarray


@dataclass(frozen=True)
class FrontdoorResiduals:
    """Cross-fitted residuals of both front-door stages (see :func:`frontdoor_delta`)."""

    t_res: np.ndarray
    m_res: np.ndarray
    y_res: np.ndarray
    m_res2: np.ndarray


# --------------------------------------------------------------------------- cross-fitting


def _folds(n: int, n_folds: int, strata: np.ndarray | None, seed: int) -> list[np.ndarray]:
    """Test indices of each fold: seeded, stratified on ``strata`` (binary variables' cells)
    so that every training fold holds both classes of a binary target, as EconML's do."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if strata is not None:
        _, counts = np.unique(strata, return_counts=True)
        if counts.min() >= n_folds:
            split = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            return [test for _, test in split.split(np.zeros(n), strata)]
    split = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [test for _, test in split.split(np.zeros(n))]


def cross_fit(
    targets: list[tuple[np.ndarray, str, str]],
    x: np.ndarray | None,
    *,
    folds: list[np.ndarray],
    nuisance: Nuisance,
    seed: int,
) -> list[np.ndarray]:
    """Out-of-fold predictions of each ``(target, kind, role)`` from ``x``, on one fold split.

    A ``"binary"`` target gets the classifier's probability of 1, a ``"continuous"`` one the
    regressor's prediction; without ``x`` every prediction is the target's mean (the right
    model without covariates, and the exact 2SLS then). ``role`` ("outcome", "treatment",
    "instrument") picks the learner family ``nuisance="auto"`` chose for that target. Each
    target's learner is seeded from ``seed`` and its position, so the predictions depend on
    the seed only.
    """
    n = targets[0][0].shape[0]
    if x is None:
        return [np.full(n, float(np.mean(a))) for a, _, _ in targets]
    seeds = np.random.SeedSequence(int(seed)).generate_state(len(targets))
    predicted = [np.empty(n) for _ in targets]
    every = np.arange(n)
    for test in folds:
        train = np.setdiff1d(every, test, assume_unique=True)
        for (target, kind, role), out, s in zip(targets, predicted, seeds, strict=True):
            learner = make_learner(kind, nuisance, int(s), role)
            learner.fit(x[train], target[train])
            if kind == "binary":
                out[test] = learner.predict_proba(x[test])[:, 1]
            else:
                out[test] = learner.predict(x[test])
    return predicted


def _binary(a: np.ndarray) -> bool:
    return bool(np.all((a == 0) | (a == 1)))


def _strata(*columns: np.ndarray | None) -> np.ndarray | None:
    """One stratum per cell of the binary columns given (None when there are none)."""
    binary = [c for c in columns if c is not None]
    if not binary:
        return None
    return sum((c.astype(int) << i) for i, c in enumerate(binary))


# --------------------------------------------------------------------------- IV


def iv_ratio(residuals: IVResiduals) -> tuple[float, float]:
    """The IV estimate ``sum(q y~) / sum(q t~)`` and its heteroskedasticity-robust (sandwich)
    standard error ``sqrt(mean(q^2 e^2) / n) / |mean(q t~)|``, ``e = y~ - b t~``."""
    q, y_res, t_res = residuals.q, residuals.y_res, residuals.t_res
    n = q.shape[0]
    j = float(np.mean(q * t_res))
    if not np.isfinite(j) or abs(j) <= 1e-12 * max(float(np.std(q) * np.std(t_res)), 1e-300):
        raise EstimationError("the instrument does not move the treatment given the controls")
    b = float(np.mean(q * y_res)) / j
    e = y_res - b * t_res
    se = float(np.sqrt(np.mean(q**2 * e**2) / n)) / abs(j)
    return b, se


def fit_iv(
    y: np.ndarray,
    t: np.ndarray,
    z: np.ndarray,
    w: np.ndarray | None,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    n_folds: int = 3,
    nuisance: Nuisance = "auto",
) -> tuple[EffectEstimate, IVResiduals]:
    """Average effect of ``t`` on ``y`` with instruments ``z`` given controls ``w`` (closed
    form), and the residuals it was computed from.

    Parameters
    ----------
    y, t : numpy.ndarray
        Outcome and treatment, one value per row (binary ones coded 0/1).
    z : numpy.ndarray
        Instruments (rows x columns, or one column).
    w : numpy.ndarray or None
        Controls: the conditioning set of a conditional instrument, outcome parents for
        precision, or None.
    treatment_kind, outcome_kind : {"continuous", "binary"}
    seed : int
        Seeds the fold split and every nuisance learner.
    n_folds : int, default 3
    nuisance : {"auto", "linear"}, estimator or (regressor, classifier), default "auto"

    Returns
    -------
    (EffectEstimate, IVResiduals)
        The estimate carries the first-stage strength, and the Anderson-Rubin set as its
        interval when the instruments are weak.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r, u = rng.normal(size=(2, 4000))
    >>> z = r + rng.normal(size=4000)
    >>> t = z + u + rng.normal(size=4000)
    >>> y = t + 2 * r + u + rng.normal(size=4000)
    >>> e, _ = fit_iv(y, t, z, r, treatment_kind="continuous", outcome_kind="continuous",
    ...               seed=0, nuisance="linear")
    >>> round(e.estimate, 1)
    1.0
    """
    y, t = _checked_inputs(y, t, treatment_kind, outcome_kind, n_folds, nuisance)
    n = y.shape[0]
    z = _required_columns(
        z,
        n,
        "z",
        "no instrument columns; pass the instruments",
        "instruments",
        "an instrument is constant; it cannot move the treatment",
    )
    w2, has_w = _controls(_as_2d(w, n, "w"), n)
    x = w2 if has_w else None
    projection = z.shape[1] > 1
    binary_z = (not projection) and _binary(z[:, 0])
    strata = _strata(
        y if outcome_kind == "binary" else None,
        t if treatment_kind == "binary" else None,
        z[:, 0] if binary_z else None,
    )
    seeds = np.random.SeedSequence(int(seed)).generate_state(3)

    def fit() -> IVResiduals:
        folds = _folds(n, n_folds, strata, int(seeds[0] >> 1))
        learners = _nuisance_for(has_w, nuisance)
        ey, et = cross_fit(
            [(y, outcome_kind, "outcome"), (t, treatment_kind, "treatment")], x, folds=folds,
            nuisance=learners,
            seed=int(seeds[1]),
        )
        if projection:
            # The optimal instrument E[t | w, z]: its learner always sees z, so it is flexible.
            wz = z if x is None else np.column_stack([x, z])
            (etz,) = cross_fit(
                [(t, treatment_kind, "treatment")], wz, folds=folds, nuisance=nuisance,
                seed=int(seeds[2]),
            )
            q = etz - et
        else:
            (ez,) = cross_fit(
                [(z[:, 0], "binary" if binary_z else "continuous", "instrument")], x, folds=folds,
                nuisance=learners, seed=int(seeds[2]),
            )
            q = z[:, 0] - ez
        return IVResiduals(y_res=y - ey, t_res=t - et, q=q)

    residuals = _quiet_fit(IV_METHOD, fit)
    point, se = iv_ratio(residuals)
    from causalinterp.estimate.instruments import with_first_stage

    # First-stage strength always; the Anderson-Rubin set replaces the interval when weak.
    estimate = with_first_stage(_result(point, se, IV_METHOD, n), y, t, z, x)
    return estimate, residuals


def estimate_iv(
    y: np.ndarray,
    t: np.ndarray,
    z: np.ndarray,
    w: np.ndarray | None,
    **options: Any,
) -> EffectEstimate:
    """:func:`fit_iv`'s estimate alone (same parameters)."""
    return fit_iv(y, t, z, w, **options)[0]


# --------------------------------------------------------------------------- front-door


def frontdoor_delta(residuals: FrontdoorResiduals) -> tuple[float, float]:
    """Product of the two stages' slopes and its delta-method standard error (the stacked
    influence functions of both least-squares stages; see ``_econml._frontdoor_delta``)."""
    r = residuals
    return _frontdoor_delta(r.t_res, r.m_res, r.y_res, r.m_res2)


def fit_frontdoor(
    y: np.ndarray,
    t: np.ndarray,
    m: np.ndarray,
    w: np.ndarray | None,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    n_folds: int = 3,
    nuisance: Nuisance = "auto",
) -> tuple[EffectEstimate, FrontdoorResiduals]:
    """Average effect of ``t`` on ``y`` through the front-door mediators ``m`` (closed form),
    and the residuals it was computed from.

    Parameters and return value as in :func:`fit_iv`; ``m`` holds the mediators (rows x
    columns, modelled as continuous), ``w`` the front-door set's covariates (often None).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u = rng.normal(size=4000)
    >>> t = u + rng.normal(size=4000)
    >>> m = 0.8 * t + rng.normal(size=4000)
    >>> y = 1.5 * m + 2 * u + rng.normal(size=4000)
    >>> e, _ = fit_frontdoor(y, t, m, None, treatment_kind="continuous",
    ...                      outcome_kind="continuous", seed=0, nuisance="linear")
    >>> round(e.estimate, 1)
    1.2
    """
    y, t = _checked_inputs(y, t, treatment_kind, outcome_kind, n_folds, nuisance)
    n = y.shape[0]
    m = _required_columns(
        m,
        n,
        "m",
        "no mediator columns; pass the front-door set",
        "mediators",
        "a mediator is constant; the front-door effect cannot be estimated",
    )
    w2, has_w = _controls(_as_2d(w, n, "w"), n)
    x = w2 if has_w else None
    k = m.shape[1]
    strata = _strata(
        y if outcome_kind == "binary" else None, t if treatment_kind == "binary" else None
    )
    seeds = np.random.SeedSequence(int(seed)).generate_state(3)

    def fit() -> FrontdoorResiduals:
        folds = _folds(n, n_folds, strata, int(seeds[0] >> 1))
        # Stage 1: t -> mediators, adjusting for w.
        first = cross_fit(
            # Roles as in EconML's stage models: the mediators are this stage's outcomes.
            [(t, treatment_kind, "treatment")]
            + [(m[:, j], "continuous", "outcome") for j in range(k)],
            x,
            folds=folds,
            nuisance=_nuisance_for(has_w, nuisance),
            seed=int(seeds[1]),
        )
        # Stage 2: mediators -> y, adjusting for t (blocks the back door M <- T <- U -> Y).
        tw = t[:, None] if x is None else np.column_stack([t, x])
        second = cross_fit(
            [(y, outcome_kind, "outcome")]
            + [(m[:, j], "continuous", "treatment") for j in range(k)],
            tw,
            folds=folds,
            nuisance=nuisance,
            seed=int(seeds[2]),
        )
        return FrontdoorResiduals(
            t_res=t - first[0],
            m_res=m - np.column_stack(first[1:]),
            y_res=y - second[0],
            m_res2=m - np.column_stack(second[1:]),
        )

    residuals = _quiet_fit(FRONTDOOR_METHOD, fit)
    point, se = frontdoor_delta(residuals)
    return _result(point, se, FRONTDOOR_METHOD, n), residuals


def estimate_frontdoor(
    y: np.ndarray,
    t: np.ndarray,
    m: np.ndarray,
    w: np.ndarray | None,
    **options: Any,
) -> EffectEstimate:
    """:func:`fit_frontdoor`'s estimate alone (same parameters)."""
    return fit_frontdoor(y, t, m, w, **options)[0]
