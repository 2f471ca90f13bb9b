"""Nuisance learners of the double ML estimators (scikit-learn only; no EconML here).

``nuisance="auto"``: an ordinary least-squares (or logistic) fit plus histogram gradient
boosting on its residuals. Boosted trees alone approximate smooth linear confounding by
steps, and in double ML the treatment and outcome nuisance errors then share a sign and
bias the final estimate; starting from the linear fit removes that part, the trees add
non-linearity. Settings are conservative (at most 100 iterations, learning rate 0.1, 15
leaves of at least 30 rows, L2 penalty 1): in simulations at 3,000 rows, finer trees
overfit the nuisances and made the intervals too narrow. Boosting stops early: 20% of each
training fold is held out, and it stops once 5 iterations in a row have not improved the
held-out loss, so residuals without signal get few trees (on a few hundred rows, boosting
noise made doubly robust weights explode). The held-out split and the trees are seeded, so
fits are deterministic. Like any double ML with flexible learners, strongly non-linear
confounding leaves a finite-sample bias that shrinks as rows grow. ``nuisance="linear"``
keeps the linear part only (fast).

A user's own learner (``nuisance=GradientBoostingRegressor()`` or a (regressor, classifier)
pair) is cloned and seeded per fit; see :func:`make_learner`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from causalinterp.errors import OptionError

_NUISANCES = ("auto", "linear")
_BOOST = {
    "max_iter": 100,
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 30,
    "l2_regularization": 1.0,
    # Boosting on the linear fit's residuals must stop when they hold no more signal: without
    # early stopping it fits noise, and on a few hundred rows the propensity scores that result
    # make doubly robust weights explode (a randomised treatment of 445 rows came out with a
    # standard error seven times the difference in means'). Seeded, so still deterministic.
    "early_stopping": True,
    "validation_fraction": 0.2,
    "n_iter_no_change": 5,
}


class _LinearBoostRegressor(RegressorMixin, BaseEstimator):
    """Least squares, then (optionally) gradient boosting on its residuals."""

    def __init__(self, boost: bool = True, random_state: int | None = None) -> None:
        self.boost = boost
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        self.linear_ = LinearRegression().fit(X, y, sample_weight=sample_weight)
        self.boost_ = None
        if self.boost:
            resid = y - self.linear_.predict(X)
            self.boost_ = HistGradientBoostingRegressor(
                **_BOOST, random_state=self.random_state
            ).fit(X, resid, sample_weight=sample_weight)
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        pred = self.linear_.predict(X)
        if self.boost_ is not None:
            pred = pred + self.boost_.predict(X)
        return pred


class _LinearBoostClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression, then (optionally) boosting on its probability residuals.

    Binary 0/1 targets only. Probabilities are clipped to [0, 1].
    """

    def __init__(self, boost: bool = True, random_state: int | None = None) -> None:
        self.boost = boost
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        self.classes_ = np.unique(y)
        if self.classes_.size != 2:
            raise ValueError("a training fold holds only one class of a binary variable")
        y = (y == self.classes_[1]).astype(float)
        self.linear_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.linear_.fit(X, y, logisticregression__sample_weight=sample_weight)
        self.boost_ = None
        if self.boost:
            resid = y - self.linear_.predict_proba(X)[:, 1]
            self.boost_ = HistGradientBoostingRegressor(
                **_BOOST, random_state=self.random_state
            ).fit(X, resid, sample_weight=sample_weight)
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        p = self.linear_.predict_proba(X)[:, 1]
        if self.boost_ is not None:
            p = np.clip(p + self.boost_.predict(X), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


#: A nuisance specification: "auto", "linear", one scikit-learn estimator, or a
#: (regressor, classifier) pair.
Nuisance = str | BaseEstimator | tuple


def _seeded(estimator: BaseEstimator, seed: int) -> BaseEstimator:
    """An unfitted copy of a user's learner, seeded when it takes a ``random_state``."""
    estimator = clone(estimator)
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=seed)
    return estimator


def _user_learner(kind: str, nuisance: Any, seed: int) -> BaseEstimator:
    """The user's learner for a target of ``kind``.

    A pair is (regressor, classifier). A lone estimator is used for the targets it fits:
    a regressor for continuous targets, a classifier for binary ones; the other kind falls
    back to the ``"auto"`` learner (a regressor cannot give EconML the probabilities a
    binary target needs).
    """
    if isinstance(nuisance, tuple | list):
        regressor, classifier = nuisance
    else:
        regressor, classifier = (None, nuisance) if is_classifier(nuisance) else (nuisance, None)
    chosen = classifier if kind == "binary" else regressor
    if chosen is None:
        return make_learner(kind, "auto", seed)
    return _seeded(chosen, seed)


def make_regressor(nuisance: Any, seed: int) -> BaseEstimator:
    """An unfitted, seeded learner of a continuous target for the ``nuisance`` option."""
    if not isinstance(nuisance, str):
        return _user_learner("continuous", nuisance, seed)
    return _LinearBoostRegressor(boost=nuisance == "auto", random_state=seed)


def make_classifier(nuisance: Any, seed: int) -> BaseEstimator:
    """An unfitted, seeded learner of a 0/1 target (it gives probabilities)."""
    if not isinstance(nuisance, str):
        return _user_learner("binary", nuisance, seed)
    return _LinearBoostClassifier(boost=nuisance == "auto", random_state=seed)


def make_learner(kind: str, nuisance: Any, seed: int) -> BaseEstimator:
    """:func:`make_classifier` for a ``"binary"`` target, else :func:`make_regressor`."""
    return make_classifier(nuisance, seed) if kind == "binary" else make_regressor(nuisance, seed)


def describe_nuisance(nuisance: Nuisance) -> str:
    """The nuisance specification as the report states it: its name or the learners' reprs."""
    if isinstance(nuisance, str):
        return nuisance
    parts = nuisance if isinstance(nuisance, tuple | list) else (nuisance,)
    return ", ".join(" ".join(repr(part).split()) for part in parts)


def check_nuisance(nuisance: Any) -> None:
    """Raise :class:`OptionError` unless ``nuisance`` is a valid nuisance specification."""
    if isinstance(nuisance, str):
        if nuisance not in _NUISANCES:
            raise OptionError(
                f"nuisance: {nuisance!r} is not supported; use 'auto', 'linear', a "
                "scikit-learn estimator or a (regressor, classifier) pair"
            )
        return
    parts = list(nuisance) if isinstance(nuisance, tuple | list) else [nuisance]
    if len(parts) not in (1, 2) or not all(
        hasattr(p, "fit") and hasattr(p, "get_params") for p in parts
    ):
        raise OptionError(
            f"nuisance: {nuisance!r} is not a scikit-learn estimator; pass e.g. "
            "GradientBoostingRegressor() or a (regressor, classifier) pair"
        )
