"""Nuisance learners fitted on a seeded subsample of large data (scikit-learn only).

Double ML's estimate is the final stage on every row; the nuisance learners only have to be
accurate enough that their errors do not matter. Past a size that accuracy is reached on a
fraction of the rows, so each training fold is subsampled to ``m`` rows and the fitted learner
predicts (out of fold) on every row. The rule, with its argument, is in
``docs/performance.md`` ("Nuisances on a subsample"):

    m = max(nuisance_rows, ceil(10 * p * sqrt(n)))

for ``n`` rows and ``p`` columns the learners see; nothing is subsampled when a training fold
holds no more than ``m`` rows, or when ``nuisance_rows`` is None. Under the least-squares
rate (each nuisance's excess mean squared error at most ``p / m`` of its target's residual
variance), the nuisances' second-order error in the estimate is at most
``sqrt(n) * p / m <= 0.1`` standard errors, and their first-order term inflates the standard
error by a factor ``sqrt(1 + p / m)``, negligible.

The wrappers are scikit-learn estimators, so every estimator (EconML's and the closed forms)
takes them as it takes the user's own learners; the same seed gives the same subsample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.metaestimators import available_if

if TYPE_CHECKING:
    from causalinterp.estimate._learners import Nuisance

__all__ = [
    "RowCap",
    "SubsampledClassifier",
    "SubsampledRegressor",
    "capped_folds",
    "subsample_rows",
    "subsampled_nuisance",
]

#: The factor of the rule: the nuisances' second-order error is at most 1 / SAFETY of a
#: standard error under the least-squares rate.
SAFETY = 10.0


def subsample_rows(n_rows: int, n_columns: int, nuisance_rows: int | None) -> int | None:
    """The rows ``m`` each nuisance is fitted on for data of ``n_rows`` x ``n_columns``, or None
    when the data is too small for the rule to save anything (or ``nuisance_rows`` is None).

    Examples
    --------
    >>> subsample_rows(1_000_000, 20, 200_000)
    200000
    >>> subsample_rows(10_000_000, 20, 200_000)
    632456
    >>> subsample_rows(100_000, 20, 200_000) is None
    True
    """
    if nuisance_rows is None:
        return None
    m = max(int(nuisance_rows), math.ceil(SAFETY * max(n_columns, 1) * math.sqrt(n_rows)))
    return m if m < n_rows else None


def capped_folds(n_rows: int, max_rows: int | None, n_folds: int) -> int:
    """Folds for out-of-fold predictions of ``n_rows`` by learners capped at ``max_rows``
    training rows: 2 when half the rows are at least ``max_rows``, else ``n_folds``.

    Every learner then sees ``max_rows`` rows drawn from rows it does not predict, as with
    ``n_folds`` folds: the same learners in distribution, at 2 fits instead of ``n_folds``.
    For the refutation stage's own fits (the dummy outcome's), never for an estimate's
    nuisances, whose folds are the ``n_folds`` the user asked for.

    Examples
    --------
    >>> capped_folds(1_000_000, 200_000, 3), capped_folds(300_000, 200_000, 3)
    (2, 3)
    >>> capped_folds(1_000_000, None, 5)
    5
    """
    return 2 if max_rows is not None and n_rows // 2 >= max_rows else n_folds


class _Subsampled(BaseEstimator):
    """Fit ``estimator`` on a seeded subsample of at most ``max_rows`` training rows."""

    def __init__(self, estimator: Any, max_rows: int, random_state: int | None = None) -> None:
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def _rows(self, y: np.ndarray) -> np.ndarray | None:
        n = y.shape[0]
        if n <= self.max_rows:
            return None
        rng = np.random.default_rng(self.random_state)
        if not isinstance(self, ClassifierMixin):
            return np.sort(rng.choice(n, self.max_rows, replace=False))
        # Stratified by class, so a rare class keeps its share (and is present at all).
        rows = []
        for label in np.unique(y):
            members = np.flatnonzero(y == label)
            take = max(1, round(self.max_rows * members.size / n))
            rows.append(rng.choice(members, min(take, members.size), replace=False))
        return np.sort(np.concatenate(rows))

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        rows = self._rows(y.ravel() if y.ndim > 1 and y.shape[1] == 1 else y)
        self.estimator_ = clone(self.estimator)
        if "random_state" in self.estimator_.get_params(deep=False):
            self.estimator_.set_params(random_state=self.random_state)
        if rows is not None:
            X = X[rows]
            y = y[rows]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[rows]
        if sample_weight is None:
            self.estimator_.fit(X, y)
        else:
            self.estimator_.fit(X, y, sample_weight=sample_weight)
        self.n_rows_fitted_ = int(y.shape[0])
        return self

    def predict(self, X):
        return self.estimator_.predict(X)


def _unscored(_estimator: object) -> bool:
    # EconML scores every fold's learner on its held-out rows by predicting them a second
    # time, and nothing here reads those scores: on a million rows that second pass is a
    # fifth of the effects stage. Without ``score`` EconML records None and predicts once.
    return False


class SubsampledRegressor(RegressorMixin, _Subsampled):
    """A regressor fitted on at most ``max_rows`` seeded rows of its training data (no
    ``score``: see :func:`_unscored`)."""

    score = available_if(_unscored)(RegressorMixin.score)


class SubsampledClassifier(ClassifierMixin, _Subsampled):
    """A classifier fitted on at most ``max_rows`` seeded rows, stratified by class (no
    ``score``: see :func:`_unscored`)."""

    score = available_if(_unscored)(ClassifierMixin.score)

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


@dataclass(frozen=True)
class RowCap:
    """A nuisance specification whose every learner is fitted on at most ``max_rows`` seeded
    rows of its training fold.

    The learners themselves are built per target from ``nuisance`` as usual
    (:func:`causalinterp.estimate._learners.make_learner`), so each target keeps the family
    chosen for its role. ``nuisance="auto"`` inside a cap is not chosen: it is the flexible
    learner (see :func:`causalinterp.estimate._econml.fit_backdoor`).
    """

    nuisance: Any
    max_rows: int


def subsampled_nuisance(
    nuisance: Nuisance, n_rows: int, n_columns: int, nuisance_rows: int | None
) -> Nuisance | RowCap:
    """``nuisance``, or when the rule engages (:func:`subsample_rows`) the same specification
    capped at the rule's rows (:class:`RowCap`).

    The estimators clone and seed each learner per fit as they do any user's learners, so the
    subsample follows the fit's seed.
    """
    m = subsample_rows(n_rows, n_columns, nuisance_rows)
    if m is None or isinstance(nuisance, RowCap):
        return nuisance
    return RowCap(nuisance, m)
