"""Estimation adapter: the only module that imports EconML.

Every estimator returns an average effect on the outcome's scale (a probability for a
binary outcome) with a normal-theory 95% interval and a two-sided p-value.

Estimator choices
-----------------
Continuous treatment, back-door
    ``LinearDML`` (partially linear model, cross-fitted). Reports the average change in the
    outcome per unit of treatment. Under effect heterogeneity this is a variance-weighted
    average of the unit-level slopes (units whose treatment is hard to predict from the
    controls weigh more), not the plain average.
Binary treatment (0/1), back-door
    ``LinearDRLearner`` (doubly robust / AIPW). Its final stage averages the doubly robust
    pseudo-outcomes, so it targets the plain average effect of 1 versus 0 even when the
    effect varies between units; ``LinearDML`` with a discrete treatment would instead
    return an overlap-weighted average. Propensities are clipped to [0.01, 0.99] to keep
    the inverse weights bounded.
Binary outcome
    The outcome nuisance is a classifier and its ``predict_proba`` is used
    (``discrete_outcome=True``): a valid probability model for a 0/1 variable, while the
    final stage stays linear in the residualised 0/1 outcome, so the effect is a
    difference of probabilities.
Front-door
    Two cross-fitted DML stages — treatment on mediators, then mediators on the outcome
    adjusting for the treatment — multiplied (sum over mediators of ``a_j * b_j``). Assumes
    one front-door mediator set and effects linear in treatment and mediators; the
    standard error is the delta method over the joint influence functions of both stages.
Instrumental variables
    ``OrthoIV`` (projected instrument when there are several). Identifies the average
    effect under a constant (or linear, homogeneous) effect; with heterogeneous effects it
    is a local average effect among units moved by the instrument.

Nuisance learners
-----------------
The scikit-learn learners every estimator fits (``nuisance="auto"``, ``"linear"``,
``"flexible"``, ``"boosting"`` or the user's own) are built in
:mod:`causalinterp.estimate._learners`, which states their settings. With ``"auto"`` a back-door
fit first chooses the family of its outcome and treatment models by out-of-fold loss
(:func:`~causalinterp.estimate._learners.select_learner`) and records the choice in
``EffectEstimate.learners``; the other estimators read ``"auto"`` as ``"flexible"``.
All estimators cross-fit with ``n_folds`` seeded folds. Model fitting runs with one
OpenMP/BLAS thread so results do not depend on how many features run in parallel.

Conditional effects
-------------------
The per-row effects of :mod:`causalinterp.explain` (``LinearDML``/``LinearDRLearner`` with
effect modifiers, or ``CausalForestDML``) are fitted here too, at the end of the module.

The results, the input checks and the guard every fit runs under live in
:mod:`causalinterp.estimate._fitting` (they need no EconML); the public ones are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.multioutput import MultiOutputRegressor

from causalinterp.errors import EstimationError, OptionError
from causalinterp.estimate._fitting import (
    MIN_PROPENSITY,
    BackdoorNuisances,
    BackdoorResiduals,
    ConditionalEffects,
    DoublyRobustNuisances,
    EffectEstimate,
    _as_2d,
    _checked_inputs,
    _controls,
    _folds,
    _nuisance_for,
    _quiet_fit,
    _required_columns,
    _result,
    _vector,
)
from causalinterp.estimate._learners import (
    LearnerChoice,
    Nuisance,
    check_nuisance,
    describe_nuisance,
    make_classifier,
    make_learner,
    make_regressor,
    select_learner,
)
from causalinterp.estimate._subsample import RowCap

__all__ = [
    "MIN_PROPENSITY",
    "BackdoorNuisances",
    "BackdoorResiduals",
    "DoublyRobustNuisances",
    "EffectEstimate",
    "Nuisance",
    "check_nuisance",
    "choose_iv_learners",
    "choose_learners",
    "cross_fitted",
    "describe_nuisance",
    "estimate_backdoor",
    "estimate_frontdoor",
    "estimate_iv",
    "fit_backdoor",
]


def _point_and_se(inference) -> tuple[float, float]:
    point = float(np.ravel(inference.point_estimate)[0])
    stderr = float(np.ravel(inference.stderr)[0])
    return point, stderr


def _multi(learner: BaseEstimator, k: int) -> BaseEstimator:
    # Our learners are single-output; several mediators need one model per column.
    return learner if k == 1 else MultiOutputRegressor(learner)


def _dml(
    y: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    *,
    treatment_kind: str,
    outcome_kind: str,
    nuisance: Any,
    seed: int,
    n_folds: int,
):
    """A fitted, cross-fitted LinearDML with residuals cached (y, t may be 2-d)."""
    from econml.dml import LinearDML

    rng = np.random.SeedSequence(seed).generate_state(3)
    y_cols = 1 if y.ndim == 1 else y.shape[1]
    t_cols = 1 if t.ndim == 1 else t.shape[1]
    discrete_t = treatment_kind == "binary"
    discrete_y = outcome_kind == "binary"
    model_y = make_learner(outcome_kind, nuisance, int(rng[0]), "outcome")
    model_t = make_learner(treatment_kind, nuisance, int(rng[1]), "treatment")
    est = LinearDML(
        model_y=_multi(model_y, y_cols) if not discrete_y else model_y,
        model_t=_multi(model_t, t_cols) if not discrete_t else model_t,
        discrete_treatment=discrete_t,
        discrete_outcome=discrete_y,
        cv=_folds(n_folds, stratified=discrete_t or discrete_y, seed=int(rng[2])),
        random_state=int(rng[2]),
    )
    est.fit(y, t, X=None, W=w, cache_values=True)
    return est


# --------------------------------------------------------------------------- estimators


def _dr_nuisances(est: Any, y: np.ndarray, t: np.ndarray) -> DoublyRobustNuisances:
    """The out-of-fold nuisances of a fitted ``LinearDRLearner`` (``cache_values=True``).

    EconML keeps the doubly robust potential outcomes y_d + 1[t = d] (y - y_d) / P(t = d);
    undoing the correction on each row's observed arm gives back y_d itself.
    """
    potential, propensities, _ = est._cached_values.nuisances  # pinned EconML 0.17.0
    potential = np.asarray(potential, dtype=float).reshape(len(y), 2)
    dr0, dr1 = potential[:, 0], potential[:, 1]
    p = np.asarray(propensities, dtype=float).reshape(len(y), 2)[:, 1]
    treated = t == 1
    return DoublyRobustNuisances(
        t=t.copy(),
        y=y.copy(),
        y0=np.where(treated, dr0, (y - (1.0 - p) * dr0) / p),
        y1=np.where(treated, (p * dr1 - y) / (p - 1.0), dr1),
        propensity=p,
    )


def estimate_backdoor(
    y: np.ndarray,
    t: np.ndarray,
    w: np.ndarray | None,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    n_folds: int = 3,
    nuisance: Nuisance = "auto",
) -> EffectEstimate:
    """Average effect of ``t`` on ``y`` adjusting for the back-door set ``w``.

    Parameters
    ----------
    y, t : numpy.ndarray
        Outcome and treatment, one value per row.
    w : numpy.ndarray or None
        Adjustment set (rows x columns), or None when no adjustment is needed.
    treatment_kind, outcome_kind : {"continuous", "binary"}
        Binary variables must be coded 0/1.
    seed : int
        Seeds the cross-fitting folds and the nuisance learners.
    n_folds : int, default 3
        Cross-fitting folds.
    nuisance : {"auto", "linear"}, estimator or (regressor, classifier), default "auto"
        ``"auto"``: linear fit plus gradient boosting on its residuals; ``"linear"``:
        (logistic) linear regression only; a scikit-learn estimator (cloned and seeded) for
        the targets of its kind, or a (regressor, classifier) pair.

    Returns
    -------
    EffectEstimate
        Per unit of ``t`` (continuous, ``LinearDML``) or 1 versus 0 (binary,
        ``LinearDRLearner``), on the outcome's scale (probability for binary ``y``).

    Raises
    ------
    EstimationError
        When the data cannot support a fit (constant columns, a fold with one class, ...).
    """
    return fit_backdoor(
        y,
        t,
        w,
        treatment_kind=treatment_kind,
        outcome_kind=outcome_kind,
        seed=seed,
        n_folds=n_folds,
        nuisance=nuisance,
    )[0]


def fit_backdoor(
    y: np.ndarray,
    t: np.ndarray,
    w: np.ndarray | None,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    n_folds: int = 3,
    nuisance: Nuisance = "auto",
) -> tuple[EffectEstimate, BackdoorNuisances]:
    """:func:`estimate_backdoor` and the cross-fitted nuisances of the very fit that gave it.

    :class:`BackdoorResiduals` for a continuous treatment, :class:`DoublyRobustNuisances`
    for a binary one (same seed, same folds as the estimate).
    """
    y, t = _checked_inputs(y, t, treatment_kind, outcome_kind, n_folds, nuisance)
    n = y.shape[0]
    w, has_w = _controls(_as_2d(w, n, "w"), n)
    nuisance = _nuisance_for(has_w, nuisance)
    seed = int(seed)
    chosen: LearnerChoice | None = None
    # A RowCap (large data, the subsample rule engaged) holding "auto" is not chosen: its
    # learners are the flexible ones (make_learner). The choice is made on at most SELECT_ROWS
    # rows, where a simpler family can be within one standard error of the best while its
    # bias at a million rows is several of the estimate's standard errors (measured: 14 of 20
    # intervals covered their truths with the choice, 18 of 20 without; docs/performance.md).
    spec = nuisance.nuisance if isinstance(nuisance, RowCap) else nuisance
    if isinstance(nuisance, str) and nuisance == "auto":
        chosen = _quiet_fit(
            "choosing the nuisance learners",
            lambda: choose_learners(
                y, t, w, treatment_kind=treatment_kind, outcome_kind=outcome_kind,
                seed=seed, n_folds=n_folds,
            ),
        )  # fmt: skip
        nuisance = chosen
    elif isinstance(spec, LearnerChoice):
        chosen = spec

    if treatment_kind == "continuous":

        def fit_dml():
            est = _dml(
                y,
                t,
                w,
                treatment_kind=treatment_kind,
                outcome_kind=outcome_kind,
                nuisance=nuisance,
                seed=seed,
                n_folds=n_folds,
            )
            point, se = _point_and_se(est.effect_inference(X=None, T0=0.0, T1=1.0))
            residuals = BackdoorResiduals(
                y_res=np.asarray(est.residuals_[0], dtype=float).reshape(n),
                t_res=np.asarray(est.residuals_[1], dtype=float).reshape(n),
            )
            return point, se, residuals

        point, se, residuals = _quiet_fit("LinearDML", fit_dml)
        return replace(_result(point, se, "LinearDML", n), learners=chosen), residuals

    def fit_dr():
        from econml.dr import LinearDRLearner

        rng = np.random.SeedSequence(seed).generate_state(3)
        est = LinearDRLearner(
            model_propensity=make_classifier(nuisance, int(rng[0]), "treatment"),
            model_regression=make_learner(outcome_kind, nuisance, int(rng[1]), "outcome"),
            discrete_outcome=outcome_kind == "binary",
            min_propensity=MIN_PROPENSITY,
            cv=_folds(n_folds, stratified=True, seed=int(rng[2])),
            random_state=int(rng[2]),
        )
        est.fit(y, t, X=None, W=w, cache_values=True)
        point, se = _point_and_se(est.effect_inference(X=None, T0=0.0, T1=1.0))
        return point, se, _dr_nuisances(est, y, t)

    point, se, nuisances = _quiet_fit("LinearDRLearner", fit_dr)
    return replace(_result(point, se, "LinearDRLearner", n), learners=chosen), nuisances


def choose_learners(
    y: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    n_folds: int = 3,
) -> LearnerChoice:
    """The learner families ``nuisance="auto"`` gives a back-door fit's two nuisance models.

    The outcome model predicts ``y`` from the controls (``LinearDML``) or from the controls
    and the treatment (``LinearDRLearner``'s regression of a binary treatment); the treatment
    model predicts ``t`` from the controls. Each is chosen by
    :func:`~causalinterp.estimate._learners.select_learner` on its own seeded folds (a stream
    apart from the estimator's, so the estimate's folds do not change).
    """
    states = np.random.SeedSequence([int(seed), 1]).generate_state(2)
    x_outcome = np.column_stack([w, t]) if treatment_kind == "binary" else w
    return LearnerChoice(
        (
            select_learner("outcome", outcome_kind, x_outcome, y,
                           seed=int(states[0] >> 1), n_folds=n_folds),
            select_learner("treatment", treatment_kind, w, t,
                           seed=int(states[1] >> 1), n_folds=n_folds),
        )
    )  # fmt: skip


def choose_iv_learners(
    y: np.ndarray,
    t: np.ndarray,
    z: np.ndarray,
    w: np.ndarray,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    n_folds: int = 3,
) -> LearnerChoice:
    """The learner families ``nuisance="auto"`` gives an instrumental-variable fit: the
    outcome, treatment and (one) instrument each predicted from the controls ``w``, each
    chosen as in :func:`choose_learners`."""
    states = np.random.SeedSequence([int(seed), 2]).generate_state(3)
    z = _as_2d(z, len(y), "z")
    z_kind = "binary" if z.shape[1] == 1 and np.all((z == 0) | (z == 1)) else "continuous"
    return _quiet_fit(
        "choosing the nuisance learners",
        lambda: _iv_selections(y, t, z, w, z_kind, states, treatment_kind, outcome_kind, n_folds),
    )


def _iv_selections(y, t, z, w, z_kind, states, treatment_kind, outcome_kind, n_folds):
    selections = [
        select_learner("outcome", outcome_kind, w, y, seed=int(states[0] >> 1), n_folds=n_folds),
        select_learner("treatment", treatment_kind, w, t, seed=int(states[1] >> 1),
                       n_folds=n_folds),
    ]  # fmt: skip
    if z.shape[1] == 1:  # several instruments are projected: no instrument model of its own
        selections.append(
            select_learner("instrument", z_kind, w, z[:, 0], seed=int(states[2] >> 1),
                           n_folds=n_folds)
        )  # fmt: skip
    return LearnerChoice(tuple(selections))


def cross_fitted(
    target: np.ndarray,
    w: np.ndarray | None,
    *,
    kind: str,
    seed: int,
    n_folds: int = 3,
    nuisance: Nuisance = "auto",
) -> np.ndarray:
    """Out-of-fold predictions of ``target`` from ``w`` by the nuisance learner of ``kind``.

    The same learner :func:`estimate_backdoor` uses for a target of this kind (for a binary
    kind, the predicted probability; ``target`` may then be any value in [0, 1] and is fitted
    by the regressor). Used by the dummy-outcome refuter to see how much of a known
    ``E[y | w]`` the estimator's outcome model recovers.
    """
    from sklearn.model_selection import KFold

    target = _vector(target, "target")
    n = target.shape[0]
    w, has_w = _controls(_as_2d(w, n, "w"), n)
    nuisance = _nuisance_for(has_w, nuisance)
    if not has_w:
        return np.full(n, float(target.mean()))
    rng = np.random.SeedSequence(int(seed)).generate_state(2)
    predicted = np.empty(n)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=int(rng[0] >> 1))

    def fit():
        for train, test in folds.split(w):
            learner = make_regressor(nuisance, int(rng[1]))
            learner.fit(w[train], target[train])
            predicted[test] = learner.predict(w[test])
        return predicted

    result = _quiet_fit("cross-fitting", fit)
    return np.clip(result, 0.0, 1.0) if kind == "binary" else result


def estimate_frontdoor(
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
) -> EffectEstimate:
    """Average effect of ``t`` on ``y`` through the front-door mediators ``m``.

    Stage 1 estimates ``a_j``, the effect of ``t`` on each mediator (DML, adjusting for
    ``w``); stage 2 estimates ``b``, the effects of the mediators on ``y`` (DML, adjusting
    for ``t`` and ``w``). The effect is ``sum_j a_j * b_j``; its standard error is the
    delta method applied to the stacked influence functions of both stages, so the
    correlation between the stages and between mediators is accounted for.

    Assumes ``m`` is a single front-door set and that effects are linear (constant) in
    ``t`` and in the mediators; mediators are modelled as continuous.

    Parameters and return value as in :func:`estimate_backdoor`; ``m`` holds the
    mediators (rows x columns). ``w`` is usually None for a front-door set.
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
    w, has_w = _controls(_as_2d(w, n, "w"), n)
    k = m.shape[1]
    seeds = np.random.SeedSequence(int(seed)).generate_state(2)
    method = "front-door DML"

    def fit():
        # Stage 1: t -> mediators, adjusting for w.
        first = _dml(
            m if k > 1 else m[:, 0],
            t,
            w,
            treatment_kind=treatment_kind,
            outcome_kind="continuous",
            nuisance=_nuisance_for(has_w, nuisance),
            seed=int(seeds[0]),
            n_folds=n_folds,
        )
        m_res, t_res = first.residuals_[0], first.residuals_[1]
        m_res = np.asarray(m_res, dtype=float).reshape(n, k)
        t_res = np.asarray(t_res, dtype=float).reshape(n)
        # Stage 2: mediators -> y, adjusting for t (blocks the back door M <- T <- U -> Y).
        second = _dml(
            y,
            m if k > 1 else m[:, 0],
            np.column_stack([t, w]) if has_w else t[:, None],
            treatment_kind="continuous",
            outcome_kind=outcome_kind,
            nuisance=nuisance,
            seed=int(seeds[1]),
            n_folds=n_folds,
        )
        y_res2 = np.asarray(second.residuals_[0], dtype=float).reshape(n)
        m_res2 = np.asarray(second.residuals_[1], dtype=float).reshape(n, k)
        return _frontdoor_delta(t_res, m_res, y_res2, m_res2)

    point, se = _quiet_fit(method, fit)
    return _result(point, se, method, n)


def _frontdoor_delta(
    t_res: np.ndarray, m_res: np.ndarray, y_res: np.ndarray, m_res2: np.ndarray
) -> tuple[float, float]:
    """Product of the two DML stages and its delta-method standard error.

    The DML final stages are least squares on the cross-fitted residuals; their influence
    functions are ``J^-1 x_i e_i``. The product's influence function is
    ``sum_j b_j IF(a_j) + a_j IF(b_j)``.
    """
    n = t_res.shape[0]
    jt = np.mean(t_res**2)
    if jt <= 0:
        raise EstimationError("treatment residuals vanish: the treatment is predictable")
    a = (t_res @ m_res) / (n * jt)  # (k,)
    if_a = t_res[:, None] * (m_res - t_res[:, None] * a) / jt  # (n, k)
    jm = m_res2.T @ m_res2 / n
    try:
        jm_inv = np.linalg.inv(jm)
    except np.linalg.LinAlgError as exc:
        raise EstimationError("mediator residuals are collinear") from exc
    b = jm_inv @ (m_res2.T @ y_res) / n  # (k,)
    eps = y_res - m_res2 @ b
    if_b = (m_res2 * eps[:, None]) @ jm_inv.T  # (n, k)
    effect = float(a @ b)
    infl = if_a @ b + if_b @ a
    stderr = float(np.sqrt(np.mean(infl**2) / n))
    return effect, stderr


def estimate_iv(
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
) -> EffectEstimate:
    """Average effect of ``t`` on ``y`` with instruments ``z`` (EconML ``OrthoIV``).

    Assumes a constant effect (or reports a local average effect under heterogeneity).
    With several instruments they are projected onto the treatment first. Parameters and
    return value as in :func:`estimate_backdoor`; ``z`` holds the instruments.
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
    w, has_w = _controls(_as_2d(w, n, "w"), n)
    nuisance = _nuisance_for(has_w, nuisance)
    projection = z.shape[1] > 1
    discrete_z = (not projection) and bool(np.all((z == 0) | (z == 1)))
    rng = np.random.SeedSequence(int(seed)).generate_state(5)
    method = "OrthoIV"

    def fit():
        from econml.iv.dml import OrthoIV

        kwargs: dict[str, Any] = {
            "model_y_xw": make_learner(outcome_kind, nuisance, int(rng[0]), "outcome"),
            "model_t_xw": make_learner(treatment_kind, nuisance, int(rng[1]), "treatment"),
        }
        if projection:
            # Stage models see [X, W, Z]; Z carries the signal, so keep them flexible.
            kwargs["model_t_xwz"] = make_learner(
                treatment_kind, nuisance, int(rng[2]), "treatment"
            )
        else:
            kwargs["model_z_xw"] = make_learner(
                "binary" if discrete_z else "continuous", nuisance, int(rng[3]), "instrument"
            )
        est = OrthoIV(
            **kwargs,
            projection=projection,
            discrete_treatment=treatment_kind == "binary",
            discrete_instrument=discrete_z,
            discrete_outcome=outcome_kind == "binary",
            cv=_folds(
                n_folds,
                stratified=treatment_kind == "binary" or discrete_z or outcome_kind == "binary",
                seed=int(rng[4]),
            ),
            random_state=int(rng[4]),
        )
        est.fit(y, t, Z=z if projection else z[:, 0], X=None, W=w)
        return _point_and_se(est.effect_inference(X=None, T0=0.0, T1=1.0))

    point, se = _quiet_fit(method, fit)
    from causalinterp.estimate.instruments import with_first_stage

    # First-stage strength always; the Anderson-Rubin set replaces the interval when weak.
    return with_first_stage(_result(point, se, method, n), y, t, z, w if has_w else None)


# --------------------------------------------------------------------- conditional effects

#: Heterogeneous-effect estimators of :func:`conditional_effects`.
CATE_METHODS = ("linear", "forest")


@dataclass(frozen=True)
class ConditionalModel:
    """A fitted heterogeneous-effect estimator, read at any rows with :meth:`at`.

    ``n_modifiers`` is the number of effect-modifier columns it was fitted with (0: none,
    the effect is the same for every row).
    """

    estimator: Any
    method: str
    n_rows: int
    n_modifiers: int

    def at(self, x_query: np.ndarray) -> ConditionalEffects:
        """The conditional effects at the rows of ``x_query`` (rows x modifiers)."""
        x_query = np.asarray(x_query, dtype=float)
        # Without modifiers only the number of rows counts, and reshape(-1, 0) cannot infer
        # it from an empty array.
        if self.n_modifiers:
            x_query = x_query.reshape(-1, self.n_modifiers)
        elif x_query.ndim != 2:
            x_query = x_query.reshape(len(x_query), 0)
        k = x_query.shape[0]

        def read():
            query = x_query if self.n_modifiers else None
            inference = self.estimator.effect_inference(X=query, T0=0.0, T1=1.0)
            low, high = inference.conf_int(alpha=0.05)
            return inference.point_estimate, low, high

        point, low, high = _quiet_fit(self.method, read)
        arrays = [
            np.broadcast_to(np.ravel(a).astype(float), (k,)).copy() for a in (point, low, high)
        ]
        return ConditionalEffects(*arrays, method=self.method, n_rows=self.n_rows)


def conditional_effects(
    y: np.ndarray,
    t: np.ndarray,
    x: np.ndarray | None,
    w: np.ndarray | None,
    x_query: np.ndarray,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    method: str = "linear",
    n_folds: int = 3,
    nuisance: Nuisance = "auto",
) -> ConditionalEffects:
    """Effects of ``t`` on ``y`` conditional on the modifiers ``x``, at the rows ``x_query``.

    :func:`fit_conditional`, then :meth:`ConditionalModel.at` the query rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1)); t = rng.normal(size=2000)
    >>> y = (1 + x[:, 0]) * t + rng.normal(size=2000)
    >>> fx = conditional_effects(y, t, x, None, np.array([[0.0], [1.0]]),
    ...     treatment_kind="continuous", outcome_kind="continuous", seed=0)
    >>> np.round(fx.estimate, 1).tolist()
    [1.0, 2.0]
    """
    model = fit_conditional(
        y,
        t,
        x,
        w,
        treatment_kind=treatment_kind,
        outcome_kind=outcome_kind,
        seed=seed,
        method=method,
        n_folds=n_folds,
        nuisance=nuisance,
    )
    return model.at(x_query)


def fit_conditional(
    y: np.ndarray,
    t: np.ndarray,
    x: np.ndarray | None,
    w: np.ndarray | None,
    *,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    method: str = "linear",
    n_folds: int = 3,
    nuisance: Nuisance = "auto",
) -> ConditionalModel:
    """Fit the effect of ``t`` on ``y`` conditional on the modifiers ``x``, controlling ``w``.

    ``"linear"``: ``LinearDML`` (continuous ``t``) or ``LinearDRLearner`` (binary ``t``) with a
    final stage linear in ``x`` (valid intervals when the effect is linear in ``x``);
    ``"forest"``: ``CausalForestDML`` (any shape, bootstrap-of-little-bags intervals, wider and
    less reliable in small samples). Nuisances see ``x`` and the controls ``w``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(1000, 1)); t = rng.normal(size=1000); y = 2 * t + x[:, 0]
    >>> model = fit_conditional(y, t, x, None, treatment_kind="continuous",
    ...     outcome_kind="continuous", seed=0, nuisance="linear")
    >>> np.round(model.at(np.array([[0.0]])).estimate, 2).tolist()
    [2.0]
    """
    y, t = _checked_inputs(y, t, treatment_kind, outcome_kind, n_folds, nuisance)
    n = y.shape[0]
    if method not in CATE_METHODS:
        raise OptionError(f"cate: {method!r} is not supported; use 'linear' or 'forest'")
    x = _as_2d(x, n, "x")
    w = _as_2d(w, n, "w")
    for name, a in (("effect modifiers", x), ("controls", w)):
        if a is not None and not np.all(np.isfinite(a)):
            raise EstimationError(f"{name} have missing or infinite values")
    rng = np.random.SeedSequence(int(seed)).generate_state(3)
    binary_t = treatment_kind == "binary"
    name = {"forest": "CausalForestDML"}.get(method, "LinearDRLearner" if binary_t else "LinearDML")

    def fit():
        model_y = make_learner(outcome_kind, nuisance, int(rng[0]), "outcome")
        model_t = make_learner(treatment_kind, nuisance, int(rng[1]), "treatment")
        folds = _folds(n_folds, stratified=binary_t or outcome_kind == "binary", seed=int(rng[2]))
        if method == "forest":
            from econml.dml import CausalForestDML

            est = CausalForestDML(
                model_y=model_y,
                model_t=model_t,
                discrete_treatment=binary_t,
                discrete_outcome=outcome_kind == "binary",
                cv=folds,
                n_estimators=200,
                min_samples_leaf=10,
                inference=True,
                random_state=int(rng[2]),
            )
        elif binary_t:
            from econml.dr import LinearDRLearner

            est = LinearDRLearner(
                model_propensity=model_t,
                model_regression=model_y,
                discrete_outcome=outcome_kind == "binary",
                min_propensity=MIN_PROPENSITY,
                cv=folds,
                random_state=int(rng[2]),
            )
        else:
            from econml.dml import LinearDML

            est = LinearDML(
                model_y=model_y,
                model_t=model_t,
                discrete_treatment=False,
                discrete_outcome=outcome_kind == "binary",
                cv=folds,
                random_state=int(rng[2]),
            )
        est.fit(y, t, X=x, W=w)
        return est

    est = _quiet_fit(name, fit)
    return ConditionalModel(est, name, n, 0 if x is None else x.shape[1])
