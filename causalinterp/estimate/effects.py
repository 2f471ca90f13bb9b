"""Stage: total causal effect of every model feature on the outcome.

Per feature: identify the effect from the DAG (DoWhy adapter), then estimate it by
double machine learning (EconML adapter). Identification is quick and runs here;
estimation runs per feature through :func:`causalinterp._progress.run_parallel` (joblib).
Each feature gets its own seed spawned from one ``SeedSequence``, so the numbers do not
depend on ``n_jobs`` or the backend, and a failure in one feature is recorded in its row and
never stops the others.

The result, :class:`Effects`, also keeps the settings the estimates were made with (seed,
nuisance learners, folds, time limit) and the back-door fits' cross-fitted nuisances, so the
refutation stage and the report read them from here instead of asking for them again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from causalinterp import options
from causalinterp._progress import Lazy, run_parallel
from causalinterp._seeds import seed_sequence
from causalinterp._timeout import TimeLimitExceeded, call_with_time_limit
from causalinterp.data import CheckedData
from causalinterp.errors import EstimationError, OptionError, first_line
from causalinterp.estimate import _dowhy, _econml, closed_forms, estimands
from causalinterp.estimate._dowhy import Identification, identify_effect
from causalinterp.estimate._econml import EffectEstimate
from causalinterp.estimate._subsample import subsample_rows, subsampled_nuisance
from causalinterp.estimate.enums import EffectStatus, Strategy
from causalinterp.estimate.overlap import Overlap, diagnose_overlap
from causalinterp.graph import CausalGraph

__all__ = [
    "EffectEstimate",
    "EffectStatus",
    "Effects",
    "FeatureEffect",
    "LevelEffect",
    "Strategy",
    "estimate_effects",
]

#: The option table's defaults (seed, nuisance, n_folds, time_limit ...): one source.
_DEFAULT = options.defaults()
#: Strategies with an estimator; the members compare equal to their plain strings.
_ESTIMABLE = frozenset(s for s in Strategy if s.estimable)


@dataclass(frozen=True)
class LevelEffect:
    """Effect of one level of a categorical treatment against its reference level.

    Estimated on the rows at either level, with the indicator of ``level`` as a binary
    treatment; ``estimate`` is None (and ``message`` says why) when that failed.
    """

    level: str
    reference: str
    estimate: EffectEstimate | None
    n_rows: int
    message: str = ""


@dataclass(frozen=True)
class FeatureEffect:
    """One feature's identification and (if identified) estimate.

    Attributes
    ----------
    feature : str
        The model feature (the treatment).
    identification : Identification
        How the effect is identified: strategy and the sets it uses.
    estimate : EffectEstimate or None
        The average effect on the outcome's scale; present exactly when ``status`` is
        :attr:`EffectStatus.ESTIMATED`.
    status : EffectStatus
        ``"estimated"``, ``"no_path"``, ``"not_identifiable"`` or ``"error"``; a plain string
        is accepted and converted.
    message : str
        Why there is no estimate (empty for estimated effects).
    levels : tuple of LevelEffect
        For a categorical treatment, one :class:`LevelEffect` per level other than the
        reference; ``estimate`` then summarises them (see :func:`_summarise_levels`).

    Raises
    ------
    ValueError
        For an unknown status, or an estimate that contradicts it (an ``"estimated"`` row
        without an estimate, or an estimate on any other row).
    """

    feature: str
    identification: Identification
    estimate: EffectEstimate | None
    status: EffectStatus
    message: str = ""
    levels: tuple[LevelEffect, ...] = ()

    def __post_init__(self) -> None:
        status = EffectStatus(self.status)
        object.__setattr__(self, "status", status)
        if (self.estimate is not None) != (status is EffectStatus.ESTIMATED):
            has = "an estimate" if self.estimate is not None else "no estimate"
            raise ValueError(f"{self.feature}: status {str(status)!r} with {has}")


@dataclass(frozen=True)
class Effects:
    """Every feature's effect, and the settings and seed the estimates were made with.

    The settings are stored here once, by the stage that used them: the refutation stage
    re-estimates with :attr:`nuisance` and :attr:`n_folds`, and the report states
    :attr:`nuisance_description`, without either asking for them again.

    Attributes
    ----------
    by_feature : Mapping[str, FeatureEffect]
        Per model feature, in the model's feature order.
    seed : int
        The seed the per-feature seeds were spawned from (its entropy for a SeedSequence).
    seconds : Mapping[str, float]
        Wall-clock seconds spent per feature (identification and estimation).
    nuisances : Mapping[str, BackdoorNuisances]
        Cross-fitted nuisances of each back-door fit (``LinearDML``'s residuals or the parts
        of ``LinearDRLearner``'s doubly robust scores), kept so the refuters can reuse the
        nuisance fits instead of repeating them (not part of the report).
    nuisance : str, estimator or (regressor, classifier)
        The nuisance learners the estimates were made with (the ``nuisance`` option).
    n_folds : int
        Cross-fitting folds of every estimate (the ``n_folds`` option).
    time_limit : float or None
        Seconds one feature's estimation was allowed (the ``time_limit`` option; None: none).
    """

    by_feature: Mapping[str, FeatureEffect]
    seed: int
    seconds: Mapping[str, float] = field(default_factory=dict)
    nuisances: Mapping[str, _econml.BackdoorNuisances] = field(
        default_factory=dict, repr=False, compare=False
    )
    nuisance: _econml.Nuisance = field(default=_DEFAULT["nuisance"], repr=False, compare=False)
    n_folds: int = field(default=_DEFAULT["n_folds"], repr=False, compare=False)
    time_limit: float | None = field(default=_DEFAULT["time_limit"], repr=False, compare=False)
    #: The ``estimand`` option (binary back-door treatments; see ``estimate/estimands.py``).
    estimand: str = field(default=_DEFAULT["estimand"], compare=False)
    #: Per estimated feature, its overlap diagnosis (see ``estimate/overlap.py``).
    overlap: Mapping[str, Overlap] = field(default_factory=dict, repr=False, compare=False)
    #: The ``nuisance_rows`` option (nuisances on a subsample of large data; re-fits pass it).
    nuisance_rows: int | None = field(
        default=_DEFAULT["nuisance_rows"], repr=False, compare=False
    )

    @property
    def nuisance_description(self) -> str:
        """The nuisance learners as the report states them: ``"auto"``, ``"linear"`` or the
        learners' one-line reprs (e.g. ``"LinearRegression(), LogisticRegression(C=2.0)"``).

        On data large enough for the subsample rule, ``"auto"`` says what it did there: no
        choice (``effect.learners`` is null), the flexible learner on a subsample.
        """
        text = _econml.describe_nuisance(self.nuisance)
        rows = max(
            (e.estimate.n_rows for e in self.by_feature.values() if e.estimate is not None),
            default=0,
        )
        # The fewest columns a learner sees (the treatment and one control) give the smallest
        # subsample; a feature with more controls gets more rows, or none taken away.
        fewest = subsample_rows(rows, 2, self.nuisance_rows)
        if _is_auto(self.nuisance) and fewest is not None:
            text += (
                f" (on {rows:,} rows each nuisance is fitted on a seeded subsample of its "
                f"training fold, of at least {fewest:,} rows, and where it is, auto fits the "
                "flexible learner without choosing: effect.learners is null there)"
            )
        return text


@dataclass(frozen=True)
class _Task:
    """Everything one feature's estimation needs: arrays and small values only (picklable)."""

    feature: str
    identification: Identification
    y: np.ndarray
    t: np.ndarray
    w: np.ndarray | None
    m: np.ndarray | None
    z: np.ndarray | None
    treatment_kind: str
    outcome_kind: str
    seed: int
    n_folds: int
    nuisance: _econml.Nuisance
    time_limit: float | None = None
    #: Categorical treatment: level labels in code order and the reference level's code.
    levels: tuple[str, ...] = ()
    reference: int = 0
    estimand: str = "ate"
    nuisance_rows: int | None = _DEFAULT["nuisance_rows"]


def estimate_identified(
    identification: Identification,
    y: np.ndarray,
    t: np.ndarray,
    *,
    w: np.ndarray | None = None,
    m: np.ndarray | None = None,
    z: np.ndarray | None = None,
    treatment_kind: str,
    outcome_kind: str,
    seed: int,
    n_folds: int = _DEFAULT["n_folds"],
    nuisance: _econml.Nuisance = _DEFAULT["nuisance"],
    nuisance_rows: int | None = _DEFAULT["nuisance_rows"],
) -> EffectEstimate:
    """Estimate an identified effect with the estimator its strategy calls for.

    Parameters
    ----------
    identification : Identification
        Strategy ``"backdoor"``, ``"frontdoor"`` or ``"iv"``.
    y, t : numpy.ndarray
        Outcome and treatment.
    w, m, z : numpy.ndarray or None
        Columns of ``identification.adjustment_set`` (controls; back-door and IV),
        ``identification.mediators`` (front-door) and ``identification.instruments`` (IV),
        in that order; see :func:`design_arrays`.
    treatment_kind, outcome_kind : {"continuous", "binary"}
    seed : int
    n_folds : int, default 3
    nuisance : {"auto", "linear"}, estimator or (regressor, classifier), default "auto"
    nuisance_rows : int or None, default 200000
        Nuisances on a seeded subsample of large data (``estimate/_subsample.py``).

    Returns
    -------
    EffectEstimate

    Raises
    ------
    EstimationError
        When the strategy is not estimable or the fit fails.
    """
    opts = {
        "treatment_kind": treatment_kind,
        "outcome_kind": outcome_kind,
        "seed": int(seed),
        "n_folds": n_folds,
        "nuisance": subsampled_nuisance(nuisance, len(y), _columns(w, m, z), nuisance_rows),
    }
    strategy = identification.strategy
    if strategy == Strategy.BACKDOOR:
        return _econml.estimate_backdoor(y, t, w, **opts)
    # Front-door and IV effects in closed form (partialling out; estimate/closed_forms.py):
    # the same estimators as EconML's, at the learners' cost alone, which re-fits repeat.
    if strategy == Strategy.FRONTDOOR:
        return closed_forms.estimate_frontdoor(y, t, m, w, **opts)
    if strategy == Strategy.IV:
        return closed_forms.estimate_iv(y, t, z, w, **opts)
    raise EstimationError(f"strategy {strategy!r} has no estimator")


def design_arrays(
    identification: Identification,
    frame: pd.DataFrame,
    treatment: str,
    outcome: str,
    *,
    checked: CheckedData | None = None,
) -> dict[str, np.ndarray | None]:
    """The arrays ``y, t, w, m, z`` that :func:`estimate_identified` takes, from ``frame``.

    With ``checked``, categorical controls, mediators and instruments are one-hot encoded
    (reference level dropped) instead of entering as level codes.
    """

    def block(names: tuple[str, ...]) -> np.ndarray | None:
        if not names:
            return None
        if checked is not None:
            return checked.design(names, frame)
        return frame.loc[:, list(names)].to_numpy(dtype=float, copy=True)

    return {
        "y": frame[outcome].to_numpy(dtype=float, copy=True),
        "t": frame[treatment].to_numpy(dtype=float, copy=True),
        "w": block(identification.adjustment_set),
        "m": block(identification.mediators),
        "z": block(identification.instruments),
    }


@dataclass(frozen=True)
class _Unbuilt:
    """A feature whose arrays could not be built: it becomes an ``"error"`` row."""

    feature: str
    identification: Identification
    message: str


def _run_task(task: _Task) -> tuple[FeatureEffect, float]:
    """Estimate one feature; never raises (a failure becomes an ``"error"`` row)."""
    effect, elapsed, _ = _run_task_keeping_nuisances(task)
    return effect, elapsed


def _run_task_keeping_nuisances(
    task: _Task | _Unbuilt,
) -> tuple[FeatureEffect, float, _econml.BackdoorNuisances | None]:
    """:func:`_run_task`, plus the back-door fit's cross-fitted nuisances (or None)."""
    if isinstance(task, _Unbuilt):
        row = FeatureEffect(
            task.feature, task.identification, None, EffectStatus.ERROR, task.message
        )
        return row, 0.0, None
    start = time.perf_counter()
    nuisances = None
    try:
        # A time limit per feature, so one pathological fit cannot hang the report.
        estimate, nuisances, levels = call_with_time_limit(
            lambda: _estimate_task(task), task.time_limit
        )
        effect = FeatureEffect(
            task.feature, task.identification, estimate, EffectStatus.ESTIMATED, levels=levels
        )
    except TimeLimitExceeded as exc:
        message = (
            f"estimation exceeded the time limit of {exc.seconds:g} s; "
            "raise --time-limit or simplify the graph"
        )
        effect = FeatureEffect(task.feature, task.identification, None, EffectStatus.ERROR, message)
    except Exception as exc:  # one feature's failure must not take the others down
        effect = FeatureEffect(
            task.feature, task.identification, None, EffectStatus.ERROR, _one_line(exc)
        )
    return effect, time.perf_counter() - start, nuisances


def _estimate_task(
    task: _Task,
) -> tuple[EffectEstimate, _econml.BackdoorNuisances | None, tuple[LevelEffect, ...]]:
    """The estimate of one task (and nuisances, level effects when there are any); raises."""
    nuisances = None
    if task.treatment_kind == "categorical":
        estimate, levels = _estimate_levels(task)
        return estimate, None, levels
    if task.identification.strategy == Strategy.BACKDOOR:
        # The same fit as estimate_identified, keeping its nuisances for the refuters.
        estimate, nuisances = _econml.fit_backdoor(
            task.y,
            task.t,
            task.w,
            treatment_kind=task.treatment_kind,
            outcome_kind=task.outcome_kind,
            seed=int(task.seed),
            n_folds=task.n_folds,
            nuisance=subsampled_nuisance(
                task.nuisance, len(task.y), _columns(task.w), task.nuisance_rows
            ),
        )
        # The ATT/ATC from the same fit's nuisances (binary treatments only).
        estimate = estimands.apply_estimand(estimate, nuisances, task.estimand)
    else:
        nuisance, chosen = task.nuisance, None
        choose = (
            _is_auto(nuisance)
            and task.identification.strategy == Strategy.IV
            and task.w is not None
            and task.z is not None
            # Not on data large enough for the subsample rule, as for back-door effects
            # (_econml.fit_backdoor says why).
            and subsample_rows(len(task.y), _columns(task.w, task.z), task.nuisance_rows) is None
        )
        if choose:
            # The instruments' nuisances chosen for the data too (then held fixed by the
            # refuters' re-fits, as for back-door effects).
            chosen = _econml.choose_iv_learners(
                task.y, task.t, task.z, task.w, treatment_kind=task.treatment_kind,
                outcome_kind=task.outcome_kind, seed=task.seed, n_folds=task.n_folds,
            )  # fmt: skip
            nuisance = chosen
        estimate = estimate_identified(
            task.identification,
            task.y,
            task.t,
            w=task.w,
            m=task.m,
            z=task.z,
            treatment_kind=task.treatment_kind,
            outcome_kind=task.outcome_kind,
            seed=task.seed,
            n_folds=task.n_folds,
            nuisance=nuisance,
            nuisance_rows=task.nuisance_rows,
        )
        if chosen is not None:
            estimate = replace(estimate, learners=chosen)
    return estimate, nuisances, ()


def _is_auto(nuisance: object) -> bool:
    return isinstance(nuisance, str) and nuisance == "auto"


def _estimate_levels(task: _Task) -> tuple[EffectEstimate, tuple[LevelEffect, ...]]:
    """Per level of a categorical treatment: its effect against the reference level.

    Each level is estimated on the rows at that level or the reference, with the level's
    indicator as a binary treatment (same strategy, controls and estimator as any binary
    treatment). A level that fails keeps its message; the others are unaffected.
    """
    reference = task.levels[task.reference]
    others = [code for code in range(len(task.levels)) if code != task.reference]
    seeds = np.random.SeedSequence(int(task.seed)).spawn(len(others))
    results = []
    for code, seed in zip(others, seeds, strict=True):
        rows = (task.t == code) | (task.t == task.reference)

        def take(a: np.ndarray | None, rows: np.ndarray = rows) -> np.ndarray | None:
            return None if a is None else a[rows]

        try:
            estimate = estimate_identified(
                task.identification,
                task.y[rows],
                (task.t[rows] == code).astype(float),
                w=take(task.w),
                m=take(task.m),
                z=take(task.z),
                treatment_kind="binary",
                outcome_kind=task.outcome_kind,
                seed=int(seed.generate_state(1)[0]),
                n_folds=task.n_folds,
                nuisance=task.nuisance,
                nuisance_rows=task.nuisance_rows,
            )
            results.append(LevelEffect(task.levels[code], reference, estimate, int(rows.sum())))
        except Exception as exc:  # one level's failure must not take the others down
            results.append(
                LevelEffect(task.levels[code], reference, None, int(rows.sum()), _one_line(exc))
            )
    estimated = [r for r in results if r.estimate is not None]
    if not estimated:
        raise EstimationError(
            f"no level of {task.feature} could be estimated against the reference level "
            f"{reference!r} ({results[0].level!r}: {results[0].message})"
        )
    return _summarise_levels(estimated, len(results)), tuple(results)


def _summarise_levels(estimated: list[LevelEffect], n_levels: int) -> EffectEstimate:
    """The feature-level estimate of a categorical treatment: its most significant level
    contrast, with the p-value and the confidence interval Bonferroni-adjusted over the
    ``n_levels`` contrasts. Its interval excludes zero exactly when some level differs from
    the reference at the family-wise 5% level, which is what the verdict then judges.
    """
    best = min(estimated, key=lambda r: r.estimate.p_value)  # type: ignore[union-attr]
    e = best.estimate
    assert e is not None
    z = NormalDist().inv_cdf(1.0 - 0.025 / n_levels)
    return EffectEstimate(
        estimate=e.estimate,
        stderr=e.stderr,
        ci_low=e.estimate - z * e.stderr,
        ci_high=e.estimate + z * e.stderr,
        p_value=min(1.0, e.p_value * n_levels),
        method=(
            f"{e.method}, level {best.level!r} vs reference {best.reference!r} "
            f"(most significant of {n_levels} levels, Bonferroni-adjusted)"
        ),
        n_rows=e.n_rows,
    )


def _columns(*blocks: np.ndarray | None) -> int:
    """Columns the nuisance learners see (the treatment's included): the ``p`` of the
    subsample rule."""
    return 1 + sum(0 if b is None else (b.shape[1] if b.ndim == 2 else 1) for b in blocks)


def _one_line(exc: BaseException) -> str:
    # Our own errors are already one line about the input; another's says what failed.
    if isinstance(exc, EstimationError | OptionError):
        return first_line(exc, 1000)
    return first_line(exc, 1000, typed=True)


def _seed_entropy(seed: int | np.random.SeedSequence) -> int:
    if isinstance(seed, np.random.SeedSequence):
        entropy = seed.entropy
        return int(entropy) if isinstance(entropy, int | np.integer) else 0
    return int(seed)


def _not_identifiable_message(feature: str, outcome: str, ident: Identification) -> str:
    if ident.blocking_latents:
        names = ", ".join(ident.blocking_latents)
        return (
            f"not identifiable: latent confounder(s) {names} of {feature} and {outcome} "
            "cannot be adjusted for, and no front-door set or instrument is observed; "
            "measure them or add a mediator or instrument to the graph and data"
        )
    return (
        f"not identifiable: no back-door set, front-door set or instrument for {feature} "
        f"-> {outcome} among the observed columns"
    )


def estimate_effects(
    checked: CheckedData,
    graph: CausalGraph,
    *,
    seed: int | np.random.SeedSequence = _DEFAULT["seed"],
    nuisance: _econml.Nuisance = _DEFAULT["nuisance"],
    n_folds: int = _DEFAULT["n_folds"],
    time_limit: float | None = _DEFAULT["time_limit"],
    estimand: str = _DEFAULT["estimand"],
    nuisance_rows: int | None = _DEFAULT["nuisance_rows"],
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = None,
) -> Effects:
    """Identify and estimate the total causal effect of every feature on the outcome.

    Per feature: identification from the DAG (back-door, else front-door, else instruments),
    then double machine learning with cross-fitted nuisance learners. A feature's failure or
    time-out is recorded in its own row; the others are unaffected.

    Parameters
    ----------
    checked : CheckedData
        Checked data (:func:`causalinterp.data.check_data`): numeric frame, column kinds,
        outcome, features, observed columns.
    graph : CausalGraph
        The causal DAG over observed and latent variables.
    seed : int or numpy.random.SeedSequence, default 0
        Per-feature seeds are spawned from it, so results do not depend on ``n_jobs``.
    nuisance : {"auto", "linear"}, estimator or (regressor, classifier), default "auto"
        Nuisance learners; see :mod:`causalinterp.estimate._econml`. A scikit-learn
        estimator (e.g. ``GradientBoostingRegressor()``) is cloned and seeded per fit.
    n_folds : int, default 3
        Cross-fitting folds (at least 2).
    time_limit : float or None, default 600
        Wall-clock seconds one feature's estimation may take; a feature that takes longer
        is stopped and gets status ``"error"``. None (or ``inf``): no limit.
    estimand : {"ate", "att", "atc"}, default "ate"
        Population of a binary back-door treatment's effect: all rows, the treated or the
        untreated rows (see :mod:`causalinterp.estimate.estimands`); other treatments keep
        the population their estimator targets. Every estimated feature's overlap is
        diagnosed for it (:mod:`causalinterp.estimate.overlap`, ``Effects.overlap``).
    nuisance_rows : int or None, default 200000
        On more rows than the rule of :mod:`causalinterp.estimate._subsample` allows, each
        nuisance learner is fitted on a seeded subsample of its training fold and predicts on
        every row (``docs/performance.md``); None: never.
    n_jobs : int or None, default None
        Features estimated in parallel (joblib semantics); None keeps the active
        ``joblib.parallel_config`` (serial outside one).
    backend : str or None, default None
        A joblib backend (e.g. ``"loky"``, ``"threading"``, ``"dask"``); None keeps the
        active ``joblib.parallel_config``.
    progress : bool or None, default None
        Show a progress bar over the features on standard error (None: when it is a
        terminal).

    Returns
    -------
    Effects
        One :class:`FeatureEffect` per feature, in ``checked.features`` order, with status
        ``"estimated"``, ``"no_path"`` (no directed path: a structural zero, no estimate),
        ``"not_identifiable"`` (the message names the blocking latent confounders) or
        ``"error"`` (one-line message); ``seconds`` holds the time spent per feature, and
        the settings used (``nuisance``, ``n_folds``, ``time_limit``) are kept with them.

    Raises
    ------
    OptionError
        For an invalid ``seed``, ``nuisance``, ``n_folds``, ``time_limit`` or ``n_jobs``.

    See Also
    --------
    causalinterp.refute.refute_effects : attacks these estimates, reusing their nuisances.
    causalinterp.verdicts.judge : turns effects and attributions into verdicts.

    Examples
    --------
    >>> from causalinterp.data import check_data
    >>> from causalinterp.estimate import estimate_effects
    >>> from causalinterp.simulators import retention_model
    >>> sim = retention_model()
    >>> data = sim.sample(1000, seed=0)
    >>> features = ["premium_device", "tenure_years"]
    >>> checked = check_data(data, sim.graph, "churned", features=features)
    >>> effects = estimate_effects(checked, sim.graph, seed=0, nuisance="linear")
    >>> effects.by_feature["premium_device"].status
    <EffectStatus.NO_PATH: 'no_path'>
    >>> effects.by_feature["tenure_years"].identification.strategy == "backdoor"
    True
    >>> tenure = effects.by_feature["tenure_years"].estimate
    >>> tenure.ci_low < tenure.estimate < tenure.ci_high
    True
    """
    checked_options = options.validate(
        {
            "n_folds": n_folds,
            "time_limit": time_limit,
            "n_jobs": n_jobs,
            "estimand": estimand,
            "nuisance_rows": nuisance_rows,
        }
    )
    nuisance_rows = checked_options["nuisance_rows"]
    n_folds, time_limit = checked_options["n_folds"], checked_options["time_limit"]
    estimand = checked_options["estimand"]
    _econml.check_nuisance(nuisance)  # an "object" option: its stage interprets it
    seed_seq = seed_sequence(seed)  # validates an int seed; copies a SeedSequence

    features = tuple(checked.features)
    outcome = checked.outcome
    seeds = [int(s.generate_state(1)[0]) for s in seed_seq.spawn(len(features))]
    outcome_kind = checked.kinds.get(outcome, "continuous")
    seed_by_feature = dict(zip(features, seeds, strict=True))

    _dowhy._api()  # pay DoWhy's import once, outside the per-feature timings

    results: dict[str, FeatureEffect] = {}
    seconds: dict[str, float] = {}
    tasks: list[dict[str, Any]] = []
    for feature, feature_seed in zip(features, seeds, strict=True):
        start = time.perf_counter()
        ident = Identification(strategy=Strategy.NONE)
        try:
            ident = identify_effect(graph, feature, outcome, checked.observed)
            effect = _without_estimate(feature, outcome, ident)
            if effect is None:
                effect = _kind_problem(feature, outcome, ident, checked.kinds, outcome_kind)
            if effect is None:
                treatment_kind = checked.kinds.get(feature, "continuous")
                levels, reference = (
                    checked.level_codes(feature) if treatment_kind == "categorical" else ((), 0)
                )
                tasks.append(
                    {
                        "feature": feature,
                        "identification": ident,
                        "treatment_kind": treatment_kind,
                        "outcome_kind": outcome_kind,
                        "seed": feature_seed,
                        "n_folds": n_folds,
                        "nuisance": nuisance,
                        "time_limit": time_limit,
                        "levels": levels,
                        "reference": reference,
                        "estimand": estimand,
                        "nuisance_rows": nuisance_rows,
                    }
                )
        except Exception as exc:  # a bad feature is reported in its own row
            effect = FeatureEffect(feature, ident, None, EffectStatus.ERROR, _one_line(exc))
        if effect is not None:
            results[feature] = effect
        seconds[feature] = time.perf_counter() - start

    nuisances: dict[str, _econml.BackdoorNuisances] = {}
    if tasks:

        def build(spec: dict[str, Any]) -> _Task | _Unbuilt:
            feature, ident = spec["feature"], spec["identification"]
            try:
                arrays = design_arrays(ident, checked.frame, feature, outcome, checked=checked)
            except Exception as exc:  # that feature's error row, not the stage's failure
                return _Unbuilt(feature, ident, _one_line(exc))
            return _Task(**spec, **arrays)

        done = run_parallel(
            _run_task_keeping_nuisances,
            Lazy(tasks, build),
            n_jobs=n_jobs,
            backend=backend,
            progress=progress,
            desc="effects",
        )
        for effect, elapsed, kept in done:
            results[effect.feature] = effect
            seconds[effect.feature] += elapsed
            if kept is not None and effect.status is EffectStatus.ESTIMATED:
                nuisances[effect.feature] = kept

    overlap = {
        f: diagnose_overlap(
            e, checked, nuisances.get(f), estimand=estimand, seed=seed_by_feature[f],
            n_folds=n_folds, nuisance=nuisance,
        )
        for f, e in results.items()
        if e.status is EffectStatus.ESTIMATED
    }
    return Effects(
        by_feature={f: results[f] for f in features},
        seed=_seed_entropy(seed),
        seconds={f: seconds[f] for f in features},
        nuisances=nuisances,
        nuisance=nuisance,
        n_folds=n_folds,
        time_limit=time_limit,
        estimand=estimand,
        overlap={f: overlap[f] for f in features if f in overlap},
        nuisance_rows=nuisance_rows,
    )


def _without_estimate(feature: str, outcome: str, ident: Identification) -> FeatureEffect | None:
    """The row for a feature that needs no estimation, or None."""
    if ident.strategy == Strategy.NO_PATH:
        return FeatureEffect(
            feature,
            ident,
            None,
            EffectStatus.NO_PATH,
            f"no directed path from {feature} to {outcome} in the graph: "
            "its total causal effect is zero by the graph's assumptions",
        )
    if ident.strategy == Strategy.NONE:
        return FeatureEffect(
            feature,
            ident,
            None,
            EffectStatus.NOT_IDENTIFIABLE,
            _not_identifiable_message(feature, outcome, ident),
        )
    if ident.strategy not in _ESTIMABLE:
        return FeatureEffect(
            feature, ident, None, EffectStatus.ERROR, f"unknown identification {ident.strategy!r}"
        )
    return None


def _kind_problem(
    feature: str,
    outcome: str,
    ident: Identification,
    kinds: Mapping[str, str],
    outcome_kind: str,
) -> FeatureEffect | None:
    """An ``"error"`` row when the outcome kind has no average effect (a categorical
    treatment is estimated level by level, see :func:`_estimate_levels`)."""
    if outcome_kind == "categorical":
        return FeatureEffect(
            feature,
            ident,
            None,
            EffectStatus.ERROR,
            f"{outcome} is categorical: only binary or continuous outcomes are supported",
        )
    return None
