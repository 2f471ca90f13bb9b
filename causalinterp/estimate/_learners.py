"""Nuisance learners of the double ML estimators (scikit-learn only; no EconML here).

``nuisance="auto"`` (the default) chooses, per feature and per nuisance target (the outcome
model and the treatment model), one of three learner families by cross-validated
out-of-fold loss: see :func:`select_learner` and "Choosing the learners" below.

``nuisance="flexible"``: an ordinary least-squares (or logistic) fit plus histogram gradient
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
is a penalised linear model alone (ridge, or logistic regression, each with its penalty chosen
by cross-validation: from almost none to almost intercept-only, so a randomised treatment's
propensity model does not fit noise); ``nuisance="boosting"`` is the boosted trees alone.

Choosing the learners
---------------------
A learner the data cannot fit stably makes the estimate's own noise larger than its analytic
standard error says: on the 445 rows of the NSW experiment the flexible learner's re-fits of
the randomised training effect spread 1.7 to 3.9 times that error, and the refuters then
blamed the effect for the learner. So ``"auto"`` asks the data. For each target it computes
the out-of-fold loss (squared error; log loss for a 0/1 target, probabilities clipped to
[0.001, 0.999]) of ``linear``, ``flexible`` and ``boosting`` on the same seeded folds, and takes
the *simplest* family whose loss is within one standard error of the best one's (the
one-standard-error rule; the standard error is that of the per-row loss difference, paired on
the same rows). Simpler wins ties because a learner that does not predict better out of fold
only adds re-fit noise. Above :data:`SELECT_ROWS` rows (5,000) the losses are computed on a
seeded subsample of that size: ranking three families needs far fewer rows than fitting them
well, and the choice then costs the same at any size (about 1 CPU-s per nuisance model).
The choice and every family's loss are kept (:class:`LearnerChoice`) and reported; the
refuters re-fit with the chosen family, not by choosing again.

EconML 0.17 can choose among first-stage models itself (a list passed as ``model_y`` goes
through ``econml.sklearn_extensions.model_selection.ListSelector``), but it ranks classifiers
by ``score``, i.e. accuracy, which does not rank propensity models, and it keeps no per-family
losses to report; the choice is therefore made here and the chosen learner handed to EconML.

A user's own learner (``nuisance=GradientBoostingRegressor()`` or a (regressor, classifier)
pair) is cloned and seeded per fit; see :func:`make_learner`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeCV,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from causalinterp.errors import OptionError
from causalinterp.estimate._subsample import RowCap, SubsampledClassifier, SubsampledRegressor

#: The learner families ``nuisance="auto"`` chooses among, simplest first (the order breaks
#: ties under the one-standard-error rule).
CANDIDATES = ("linear", "flexible", "boosting")
_NUISANCES = ("auto", *CANDIDATES)
#: Above this many rows the learner choice is made on a seeded subsample of this size.
SELECT_ROWS = 5_000
#: Log loss clips probabilities to [LOSS_CLIP, 1 - LOSS_CLIP].
LOSS_CLIP = 1e-3
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


#: Ridge penalties (on standardised controls) and inverse logistic penalties the penalised
#: linear learner chooses among: from almost none to almost intercept-only.
_ALPHAS = np.logspace(-3, 4, 15)
_CS = np.logspace(-4, 2, 7)


class _LinearBoostRegressor(RegressorMixin, BaseEstimator):
    """Least squares (ridge when ``penalised``), then optionally boosting on its residuals."""

    def __init__(
        self,
        boost: bool = True,
        random_state: int | None = None,
        penalised: bool = False,
        penalty: float | None = None,
    ) -> None:
        self.boost = boost
        self.random_state = random_state
        self.penalised = penalised
        self.penalty = penalty

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if self.penalised:
            # Ridge's leave-one-out error is closed-form: choosing the penalty costs one fit.
            # A penalty given (the one chosen on the full data) is held fixed.
            ridge = RidgeCV(alphas=_ALPHAS) if self.penalty is None else Ridge(self.penalty)
            self.linear_ = make_pipeline(StandardScaler(), ridge)
            self.linear_.fit(X, y, **{f"{ridge.__class__.__name__.lower()}__sample_weight":
                                      sample_weight})  # fmt: skip
        else:
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

    def __init__(
        self,
        boost: bool = True,
        random_state: int | None = None,
        penalised: bool = False,
        penalty: float | None = None,
    ) -> None:
        self.boost = boost
        self.random_state = random_state
        self.penalised = penalised
        self.penalty = penalty

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        self.classes_ = np.unique(y)
        if self.classes_.size != 2:
            raise ValueError("a training fold holds only one class of a binary variable")
        y = (y == self.classes_[1]).astype(float)
        c = 1.0
        if self.penalised:
            c = self.penalty if self.penalty is not None else _penalty(X, y, self.random_state)
        self.linear_ = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
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


@dataclass(frozen=True)
class Selection:
    """The learner chosen for one nuisance target, and every family's out-of-fold loss.

    Attributes
    ----------
    role : str
        ``"outcome"`` or ``"treatment"`` (the instruments' models are ``"instrument"``).
    kind : str
        ``"continuous"`` or ``"binary"`` (the target's).
    chosen : str
        One of :data:`CANDIDATES`.
    metric : str
        ``"squared error"`` or ``"log loss"``.
    losses : dict of str to float
        Mean out-of-fold loss per family (inf when a family's fit failed).
    excess_se : dict of str to float
        Per family, the standard error of its mean loss minus the best family's (paired).
    rows : int
        Rows the losses were computed on.
    """

    role: str
    kind: str
    chosen: str
    metric: str
    losses: dict[str, float] = field(default_factory=dict)
    excess_se: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    #: The linear family's penalty chosen on the selection rows (ridge alpha, or logistic C),
    #: held fixed by every fit made with this choice; None for the other families.
    penalty: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``report.json``'s ``effect.learners`` (docs/report-schema.md)."""
        return {
            "role": self.role,
            "chosen": self.chosen,
            "metric": self.metric,
            "losses": {k: (v if math.isfinite(v) else None) for k, v in self.losses.items()},
            "excess_se": {
                k: (v if math.isfinite(v) else None) for k, v in self.excess_se.items()
            },
            "rows": self.rows,
            "penalty": self.penalty,
        }


@dataclass(frozen=True)
class LearnerChoice:
    """What ``nuisance="auto"`` chose for one fit: one :class:`Selection` per target.

    It is itself a nuisance specification: passed back as ``nuisance`` (the refuters' re-fits
    do), every target gets its chosen family without choosing again.
    """

    selections: tuple[Selection, ...]

    def name(self, role: str) -> str:
        """The family chosen for ``role`` (``"flexible"`` for a target that was not chosen for)."""
        selection = self.selection(role)
        return selection.chosen if selection is not None else "flexible"

    def selection(self, role: str) -> Selection | None:
        """The :class:`Selection` of ``role``, None when none was made."""
        return next((s for s in self.selections if s.role == role), None)

    def describe(self) -> str:
        """One line: ``"outcome: linear, treatment: flexible"``."""
        return ", ".join(f"{s.role}: {s.chosen}" for s in self.selections)

    def to_dict(self) -> dict[str, Any]:
        return {s.role: s.to_dict() for s in self.selections}


def _penalty(X: np.ndarray, y: np.ndarray, seed: int | None) -> float:
    """The logistic penalty C by 3-fold cross-validated log loss, on at most
    :data:`SELECT_ROWS` rows (seeded): a randomised treatment gets a C small enough to leave
    the intercept alone, a predictable one a C near 1.

    Each fold walks the penalties from the strongest to the weakest, warm-starting every fit
    from the previous one's coefficients (the path is smooth in C, so each needs few steps).
    """
    from sklearn.model_selection import StratifiedKFold

    if len(y) > SELECT_ROWS:
        rows = np.random.default_rng(seed).choice(len(y), SELECT_ROWS, replace=False)
        X, y = X[rows], y[rows]
    if min(y.sum(), len(y) - y.sum()) < 3:
        return 1.0  # too few of one class to cross-validate: the unpenalised default
    X = StandardScaler().fit_transform(X)
    loss = np.zeros(len(_CS))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    for train, test in folds.split(X, y):
        model = LogisticRegression(warm_start=True, max_iter=1000)
        for i, c in enumerate(_CS):
            model.set_params(C=float(c)).fit(X[train], y[train])
            p = np.clip(model.predict_proba(X[test])[:, 1], LOSS_CLIP, 1 - LOSS_CLIP)
            loss[i] -= float(np.sum(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
    return float(_CS[int(np.argmin(loss))])


#: A nuisance specification: "auto", "linear", "flexible", "boosting", a :class:`LearnerChoice`,
#: one scikit-learn estimator, or a (regressor, classifier) pair.
Nuisance = str | BaseEstimator | tuple | LearnerChoice


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


def _family(nuisance: Any, role: str) -> tuple[Any, float | None]:
    """(family, fixed penalty) for ``role`` of a :class:`LearnerChoice`; other specifications
    as given, with no fixed penalty.

    Outside a fit that chooses (``fit_backdoor``), ``"auto"`` means the flexible learner.
    """
    if isinstance(nuisance, LearnerChoice):
        selection = nuisance.selection(role)
        if selection is None:
            return "flexible", None
        return selection.chosen, selection.penalty
    return ("flexible" if isinstance(nuisance, str) and nuisance == "auto" else nuisance), None


def make_regressor(nuisance: Any, seed: int, role: str = "outcome") -> BaseEstimator:
    """An unfitted, seeded learner of a continuous target for the ``nuisance`` option."""
    if isinstance(nuisance, RowCap):
        inner = make_regressor(nuisance.nuisance, seed, role)
        return SubsampledRegressor(inner, nuisance.max_rows, random_state=seed)
    nuisance, penalty = _family(nuisance, role)
    if not isinstance(nuisance, str):
        return _user_learner("continuous", nuisance, seed)
    if nuisance == "boosting":
        return HistGradientBoostingRegressor(**_BOOST, random_state=seed)
    flexible = nuisance == "flexible"
    return _LinearBoostRegressor(
        boost=flexible, random_state=seed, penalised=not flexible, penalty=penalty
    )


def make_classifier(nuisance: Any, seed: int, role: str = "treatment") -> BaseEstimator:
    """An unfitted, seeded learner of a 0/1 target (it gives probabilities)."""
    if isinstance(nuisance, RowCap):
        inner = make_classifier(nuisance.nuisance, seed, role)
        return SubsampledClassifier(inner, nuisance.max_rows, random_state=seed)
    nuisance, penalty = _family(nuisance, role)
    if not isinstance(nuisance, str):
        return _user_learner("binary", nuisance, seed)
    if nuisance == "boosting":
        return HistGradientBoostingClassifier(**_BOOST, random_state=seed)
    flexible = nuisance == "flexible"
    return _LinearBoostClassifier(
        boost=flexible, random_state=seed, penalised=not flexible, penalty=penalty
    )


def make_learner(kind: str, nuisance: Any, seed: int, role: str = "outcome") -> BaseEstimator:
    """:func:`make_classifier` for a ``"binary"`` target, else :func:`make_regressor`."""
    if kind == "binary":
        return make_classifier(nuisance, seed, role)
    return make_regressor(nuisance, seed, role)


def select_learner(
    role: str, kind: str, x: np.ndarray, y: np.ndarray, *, seed: int, n_folds: int = 3
) -> Selection:
    """Choose the learner family for one target by out-of-fold loss (module docstring's rule).

    Parameters
    ----------
    role : str
        What the target is (``"outcome"``, ``"treatment"``), kept in the result.
    kind : {"continuous", "binary"}
        A binary target (0/1) is scored by log loss, else by squared error.
    x, y : numpy.ndarray
        Predictors (rows x columns) and target.
    seed : int
        Seeds the subsample, the folds and the learners.
    n_folds : int, default 3

    Returns
    -------
    Selection

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(600, 3)); y = x @ [1.0, -1.0, 0.5] + rng.normal(size=600)
    >>> select_learner("outcome", "continuous", x, y, seed=0).chosen
    'linear'
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    states = np.random.SeedSequence(int(seed)).generate_state(3)
    binary = kind == "binary"
    if len(y) > SELECT_ROWS:
        rows = np.random.default_rng(int(states[0])).choice(len(y), SELECT_ROWS, replace=False)
        x, y = x[np.sort(rows)], y[np.sort(rows)]
    n = len(y)
    splitter = (StratifiedKFold if binary else KFold)(
        n_splits=n_folds, shuffle=True, random_state=int(states[1] >> 1)
    )
    predicted = {name: np.full(n, np.nan) for name in CANDIDATES}
    for train, test in splitter.split(x, y if binary else None):
        for name in CANDIDATES:
            try:
                learner = make_learner(kind, name, int(states[2] >> 1))
                learner.fit(x[train], y[train])
                predicted[name][test] = (
                    learner.predict_proba(x[test])[:, 1] if binary else learner.predict(x[test])
                )
            except ValueError:  # e.g. a fold with one class: this family scores inf
                predicted[name][test] = np.nan
    if binary:
        per_row = {
            k: -(y * np.log(np.clip(p, LOSS_CLIP, 1 - LOSS_CLIP))
                 + (1 - y) * np.log(np.clip(1 - p, LOSS_CLIP, 1 - LOSS_CLIP)))
            for k, p in predicted.items()
        }  # fmt: skip
    else:
        per_row = {k: (y - p) ** 2 for k, p in predicted.items()}
    losses = {
        k: float(v.mean()) if np.all(np.isfinite(v)) else math.inf for k, v in per_row.items()
    }
    best = min(CANDIDATES, key=losses.__getitem__)
    excess_se: dict[str, float] = {}
    chosen = best
    for name in CANDIDATES:
        if not math.isfinite(losses[name]):
            excess_se[name] = math.inf
            continue
        difference = per_row[name] - per_row[best]
        excess_se[name] = float(difference.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    for name in CANDIDATES:  # the simplest within one standard error of the best
        if math.isfinite(losses[name]) and losses[name] - losses[best] <= excess_se[name]:
            chosen = name
            break
    penalty = None
    if chosen == "linear":  # chosen once on these rows, then held fixed by every fit
        if binary:
            penalty = _penalty(x, y, int(states[2] >> 1))
        else:
            ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=_ALPHAS)).fit(x, y)
            penalty = float(ridge[-1].alpha_)
    return Selection(
        role=role,
        kind=kind,
        chosen=chosen,
        metric="log loss" if binary else "squared error",
        losses=losses,
        excess_se=excess_se,
        rows=n,
        penalty=penalty,
    )


def describe_nuisance(nuisance: Nuisance) -> str:
    """The nuisance specification as the report states it: its name or the learners' reprs."""
    if isinstance(nuisance, RowCap):
        rows = f"each fitted on at most {nuisance.max_rows:,} rows per fold"
        return f"{describe_nuisance(nuisance.nuisance)} ({rows})"
    if isinstance(nuisance, str):
        return nuisance
    if isinstance(nuisance, LearnerChoice):
        return nuisance.describe()
    parts = nuisance if isinstance(nuisance, tuple | list) else (nuisance,)
    return ", ".join(" ".join(repr(part).split()) for part in parts)


def check_nuisance(nuisance: Any) -> None:
    """Raise :class:`OptionError` unless ``nuisance`` is a valid nuisance specification."""
    if isinstance(nuisance, RowCap):
        check_nuisance(nuisance.nuisance)
        return
    if isinstance(nuisance, LearnerChoice):
        return
    if isinstance(nuisance, str):
        if nuisance not in _NUISANCES:
            raise OptionError(
                f"nuisance: {nuisance!r} is not supported; use 'auto', 'linear', 'flexible', "
                "'boosting', a scikit-learn estimator or a (regressor, classifier) pair"
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
