"""What the estimators take and return, apart from EconML itself.

The results (:class:`EffectEstimate`, the nuisances a back-door fit keeps for the refuters,
:class:`ConditionalEffects`), the checks every estimator runs on its inputs, the cross-fitting
folds (:func:`_folds`), and :func:`_quiet_fit`, the guard every fit runs under.
:mod:`causalinterp.estimate._econml` (the only module that imports EconML) and
:mod:`causalinterp.estimate.closed_forms` both build on them; ``_econml`` re-exports the
public names.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.model_selection import KFold, StratifiedKFold

from causalinterp import options
from causalinterp.errors import EstimationError, OptionError
from causalinterp.estimate._learners import LearnerChoice, check_nuisance

__all__ = [
    "MIN_PROPENSITY",
    "BackdoorNuisances",
    "BackdoorResiduals",
    "ConditionalEffects",
    "DoublyRobustNuisances",
    "EffectEstimate",
]

_KINDS = ("binary", "continuous")
_Z975 = float(stats.norm.ppf(0.975))
#: Propensities are clipped to [MIN_PROPENSITY, 1 - MIN_PROPENSITY] in doubly robust fits.
MIN_PROPENSITY = 0.01


class _UniqueIndices(np.ndarray):
    """A fold's row indices, unique by construction (scikit-learn's splitters).

    EconML checks that folds are disjoint with ``np.intersect1d``, which first finds each
    array's unique values; numpy 2.3 and later find unique integers by hashing, about 0.5 s
    per million on one core (70 CPU-seconds of the million-row audit). Told the values are
    unique, ``intersect1d`` only sorts: the same answer, a hundredth of the time.
    """

    def __array_function__(self, func, types, args, kwargs):
        if func is np.intersect1d:
            kwargs = {**kwargs, "assume_unique": True}
        return super().__array_function__(func, types, args, kwargs)


class _UniqueSplits:
    def split(self, X, y=None, groups=None):
        for train, test in super().split(X, y, groups):  # type: ignore[misc]
            yield train.view(_UniqueIndices), test.view(_UniqueIndices)


# Module-level (not made per call): a fitted EconML estimator keeps its splitter, and must
# pickle to come back from a worker process.
class _UniqueKFold(_UniqueSplits, KFold):
    pass


class _UniqueStratifiedKFold(_UniqueSplits, StratifiedKFold):
    pass


def _folds(n_folds: int, *, stratified: bool, seed: int) -> KFold | StratifiedKFold:
    """The cross-fitting splitter EconML builds from ``cv=n_folds`` and ``random_state=seed``
    (the same folds: shuffled, stratified when a variable is discrete, seeded by a fresh
    ``RandomState(seed)``), yielding :class:`_UniqueIndices`; for EconML's ``cv``."""
    splitter = _UniqueStratifiedKFold if stratified else _UniqueKFold
    return splitter(n_splits=n_folds, shuffle=True, random_state=np.random.RandomState(seed))


@dataclass(frozen=True)
class EffectEstimate:
    """An average per-unit effect on the outcome's scale with its 95% interval."""

    estimate: float
    stderr: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    n_rows: int
    #: IV only: first-stage strength, and the Anderson-Rubin set when the instruments are
    #: weak (then ``ci_low``/``ci_high``/``p_value`` are the AR ones); see estimate/instruments.py.
    first_stage: Any = None
    anderson_rubin: Any = None
    #: ``nuisance="auto"`` back-door fits: the learner chosen per target and every family's
    #: out-of-fold loss (a :class:`~causalinterp.estimate._learners.LearnerChoice`).
    learners: LearnerChoice | None = None


# --------------------------------------------------------------------------- helpers


def _as_2d(a: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] != n:
        raise OptionError(f"{name}: expected {n} rows, got shape {a.shape}; pass one row per unit")
    if a.shape[1] == 0:
        return None
    return a


def _required_columns(
    a: np.ndarray | None, n: int, name: str, missing: str, plural: str, constant: str
) -> np.ndarray:
    """Mediator or instrument columns: present, finite and not constant, or a one-line error."""
    a = _as_2d(a, n, name)
    if a is None:
        raise OptionError(f"{name}: {missing}")
    if not np.all(np.isfinite(a)):
        raise EstimationError(f"{plural} have missing or infinite values")
    if np.any(np.ptp(a, axis=0) == 0):
        raise EstimationError(constant)
    return a


def _vector(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise OptionError(f"{name}: expected one column, got shape {a.shape}; pass a 1-d array")
    return a


def _check_options(treatment_kind: str, outcome_kind: str, n_folds: int, nuisance: Any) -> None:
    if treatment_kind not in _KINDS:
        raise OptionError(
            f"treatment_kind: {treatment_kind!r} is not supported; use 'binary' or 'continuous'"
        )
    if outcome_kind not in _KINDS:
        raise OptionError(
            f"outcome_kind: {outcome_kind!r} is not supported; use 'binary' or 'continuous'"
        )
    check_nuisance(nuisance)
    options.validate({"n_folds": n_folds})  # a user option: the table's check and message


def _checked_inputs(
    y: Any, t: Any, treatment_kind: str, outcome_kind: str, n_folds: int, nuisance: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Every estimator's options, outcome and treatment checked; y and t as 1-d arrays."""
    _check_options(treatment_kind, outcome_kind, n_folds, nuisance)
    y, t = _vector(y, "y"), _vector(t, "t")
    if y.shape[0] != t.shape[0]:
        raise OptionError(f"t: {t.shape[0]} rows but y has {y.shape[0]}; pass aligned arrays")
    for name, a, kind in (("treatment", t, treatment_kind), ("outcome", y, outcome_kind)):
        if not np.all(np.isfinite(a)):
            raise EstimationError(f"{name} has missing or infinite values")
        if kind == "binary" and not np.all((a == 0) | (a == 1)):
            raise EstimationError(f"{name} is declared binary but is not coded 0/1")
        if np.ptp(a) == 0:
            raise EstimationError(f"{name} is constant; its effect cannot be estimated")
    return y, t


def _controls(w: np.ndarray | None, n: int) -> tuple[np.ndarray, bool]:
    """Controls for EconML; a constant column when there are none.

    Some EconML estimators refuse ``W=None``; a constant column gives intercept-only
    nuisances, i.e. plain means, which is the right model without controls.
    """
    if w is None:
        return np.ones((n, 1)), False
    if not np.all(np.isfinite(w)):
        raise EstimationError("controls have missing or infinite values")
    return w, True


def _nuisance_for(has_controls: bool, nuisance: Any) -> Any:
    # Boosting a constant column learns nothing; skip it.
    return nuisance if has_controls else "linear"


def _result(estimate: float, stderr: float, method: str, n: int) -> EffectEstimate:
    estimate, stderr = float(estimate), float(stderr)
    if not (np.isfinite(estimate) and np.isfinite(stderr)) or stderr < 0:
        raise EstimationError(f"{method} returned a non-finite estimate or standard error")
    if stderr > 0:
        p_value = float(2.0 * stats.norm.sf(abs(estimate) / stderr))
    else:
        p_value = 0.0 if estimate != 0 else 1.0
    return EffectEstimate(
        estimate=estimate,
        stderr=stderr,
        ci_low=estimate - _Z975 * stderr,
        ci_high=estimate + _Z975 * stderr,
        p_value=p_value,
        method=method,
        n_rows=int(n),
    )


def _quiet_fit(method: str, fit: Callable[[], Any]) -> Any:
    """Run ``fit`` with the libraries' own noise silenced and single-threaded native code.

    Silenced: deprecation and future warnings, and EconML's and DoWhy's notes about their own
    internals; they say nothing about the user's data. A learner that did not converge (the
    user's own learner above all) still warns: its ``ConvergenceWarning`` goes through.
    Numerical failures become :class:`EstimationError` with a one-line message.
    """
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("ignore", module=r"(econml|dowhy)(\.|$)")
        # sklearn's notes about feature names and the like; not its ConvergenceWarning.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"sklearn(\.|$)")
        warnings.filterwarnings("default", category=ConvergenceWarning)
        with np.errstate(all="ignore"):
            try:
                return fit()
            except (EstimationError, OptionError):
                raise
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                message = " ".join(str(exc).split())[:200] or type(exc).__name__
                raise EstimationError(f"{method} failed: {message}") from exc


@dataclass(frozen=True)
class BackdoorResiduals:
    """Cross-fitted residuals of a ``LinearDML`` fit: what its final stage regresses.

    ``y_res = y - E[y | w]`` and ``t_res = t - E[t | w]``, each predicted out of fold; the
    estimate is ``sum(y_res * t_res) / sum(t_res ** 2)``. Refuters reuse them instead of
    re-fitting the nuisances (see ``docs/refutation.md``).
    """

    y_res: np.ndarray
    t_res: np.ndarray


@dataclass(frozen=True)
class DoublyRobustNuisances:
    """Cross-fitted nuisances of a ``LinearDRLearner`` fit of a binary treatment.

    ``y0`` and ``y1`` predict the outcome at t = 0 and t = 1 from the controls, and
    ``propensity`` is P(t = 1 | w) clipped to [MIN_PROPENSITY, 1 - MIN_PROPENSITY], each out
    of fold. The estimate is the mean of the doubly robust scores (see :attr:`scores`).
    Refuters reuse them instead of re-fitting the nuisances (see ``docs/performance.md``).
    """

    t: np.ndarray
    y: np.ndarray
    y0: np.ndarray
    y1: np.ndarray
    propensity: np.ndarray

    @property
    def scores(self) -> np.ndarray:
        """psi = y1 - y0 + t (y - y1) / p - (1 - t) (y - y0) / (1 - p), one per row."""
        t, p = self.t, self.propensity
        return (
            self.y1
            - self.y0
            + t * (self.y - self.y1) / p
            - (1.0 - t) * (self.y - self.y0) / (1.0 - p)
        )


#: What a back-door fit keeps for the refuters, by treatment kind.
BackdoorNuisances = BackdoorResiduals | DoublyRobustNuisances


@dataclass(frozen=True)
class ConditionalEffects:
    """Per-row conditional effects with normal-theory 95% intervals (one entry per query row)."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    method: str
    n_rows: int
