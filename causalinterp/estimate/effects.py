"""Stage: total causal effect of every model feature on the outcome.

Per feature: identify the effect from the DAG (DoWhy adapter), then estimate it by
double machine learning (EconML adapter). Identification is quick and runs here;
estimation runs per feature through ``joblib.Parallel``. Each feature gets its own seed
spawned from one ``SeedSequence``, so the numbers do not depend on ``n_jobs`` or the
backend, and a failure in one feature is recorded in its row and never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd

from causalinterp._progress import run_parallel
from causalinterp._timeout import TimeLimitExceeded, call_with_time_limit
from causalinterp.data import CheckedData
from causalinterp.errors import EstimationError, OptionError
from causalinterp.estimate import _dowhy, _econml
from causalinterp.estimate._dowhy import Identification, identify_effect
from causalinterp.estimate._econml import EffectEstimate
from causalinterp.graph import CausalGraph

_STRATEGIES_ESTIMATED = ("backdoor", "frontdoor", "iv")

#: Seconds one feature's estimation may take before it is stopped and reported as ``error``
#: (``analyze(time_limit=...)``, ``--time-limit``); see docs/reliability.md.
DEFAULT_TIME_LIMIT = 600.0


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

    ``status`` is ``"estimated"``, ``"no_path"``, ``"not_identifiable"`` or ``"error"``.
    For a categorical treatment, ``levels`` holds one :class:`LevelEffect` per level other
    than the reference, and ``estimate`` summarises them (see :func:`_summarise_levels`).
    """

    feature: str
    identification: Identification
    estimate: EffectEstimate | None
    status: str
    message: str = ""
    levels: tuple[LevelEffect, ...] = ()


@dataclass(frozen=True)
class Effects:
    """Every feature's effect, keyed by feature name, plus the seed used and timings."""

    by_feature: Mapping[str, FeatureEffect]
    seed: int
    seconds: Mapping[str, float] = field(default_factory=dict)
    #: Cross-fitted nuisances of each back-door fit (``LinearDML``'s residuals or the parts of
    #: ``LinearDRLearner``'s doubly robust scores), kept so the refuters can reuse the nuisance
    #: fits instead of repeating them (not part of the report).
    nuisances: Mapping[str, _econml.BackdoorNuisances] = field(
        default_factory=dict, repr=False, compare=False
    )
    #: The nuisance specification and folds the estimates were made with.
    nuisance: _econml.Nuisance = field(default="auto", repr=False, compare=False)
    n_folds: int = field(default=3, repr=False, compare=False)


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
    n_folds: int = 3,
    nuisance: _econml.Nuisance = "auto",
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
        "nuisance": nuisance,
    }
    strategy = identification.strategy
    if strategy == "backdoor":
        return _econml.estimate_backdoor(y, t, w, **opts)
    if strategy == "frontdoor":
        return _econml.estimate_frontdoor(y, t, m, w, **opts)
    if strategy == "iv":
        return _econml.estimate_iv(y, t, z, w, **opts)
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


def _run_task(task: _Task) -> tuple[FeatureEffect, float]:
    """Estimate one feature; never raises (a failure becomes an ``"error"`` row)."""
    effect, elapsed, _ = _run_task_keeping_nuisances(task)
    return effect, elapsed


def _run_task_keeping_nuisances(
    task: _Task,
) -> tuple[FeatureEffect, float, _econml.BackdoorNuisances | None]:
    """:func:`_run_task`, plus the back-door fit's cross-fitted nuisances (or None)."""
    start = time.perf_counter()
    nuisances = None
    try:
        # A time limit per feature, so one pathological fit cannot hang the report.
        estimate, nuisances, levels = call_with_time_limit(
            lambda: _estimate_task(task), task.time_limit
        )
        effect = FeatureEffect(
            task.feature, task.identification, estimate, "estimated", levels=levels
        )
    except TimeLimitExceeded as exc:
        message = (
            f"estimation exceeded the time limit of {exc.seconds:g} s; "
            "raise --time-limit or simplify the graph"
        )
        effect = FeatureEffect(task.feature, task.identification, None, "error", message)
    except Exception as exc:  # one feature's failure must not take the others down
        effect = FeatureEffect(task.feature, task.identification, None, "error", _one_line(exc))
    return effect, time.perf_counter() - start, nuisances


def _estimate_task(
    task: _Task,
) -> tuple[EffectEstimate, _econml.BackdoorNuisances | None, tuple[LevelEffect, ...]]:
    """The estimate of one task (and nuisances, level effects when there are any); raises."""
    nuisances = None
    if task.treatment_kind == "categorical":
        estimate, levels = _estimate_levels(task)
        return estimate, None, levels
    if task.identification.strategy == "backdoor":
        # The same fit as estimate_identified, keeping its nuisances for the refuters.
        estimate, nuisances = _econml.fit_backdoor(
            task.y,
            task.t,
            task.w,
            treatment_kind=task.treatment_kind,
            outcome_kind=task.outcome_kind,
            seed=int(task.seed),
            n_folds=task.n_folds,
            nuisance=task.nuisance,
        )
    else:
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
            nuisance=task.nuisance,
        )
    return estimate, nuisances, ()


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


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, EstimationError | OptionError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
    seed: int | np.random.SeedSequence = 0,
    n_jobs: int | None = None,
    backend: str | None = None,
    n_folds: int = 3,
    nuisance: _econml.Nuisance = "auto",
    progress: bool = False,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
) -> Effects:
    """Identify and estimate the total causal effect of every feature on the outcome.

    Parameters
    ----------
    checked : CheckedData
        Checked data: numeric frame, column kinds, outcome, features, observed columns.
    graph : CausalGraph
        The causal DAG over observed and latent variables.
    seed : int or numpy.random.SeedSequence, default 0
        Per-feature seeds are spawned from it, so results do not depend on ``n_jobs``.
    n_jobs : int or None, default None
        Features estimated in parallel (``joblib.Parallel``).
    backend : str or None, default None
        A joblib backend (e.g. ``"loky"``, ``"threading"``, ``"dask"``), set through
        ``joblib.parallel_config`` when given.
    n_folds : int, default 3
        Cross-fitting folds.
    nuisance : {"auto", "linear"}, estimator or (regressor, classifier), default "auto"
        Nuisance learners; see :mod:`causalinterp._econml`. A scikit-learn estimator (e.g.
        ``GradientBoostingRegressor()``) is cloned and seeded per fit.
    progress : bool, default False
        Show a progress bar over the features (on standard error).
    time_limit : float or None, default :data:`DEFAULT_TIME_LIMIT` (600 s)
        Wall-clock seconds one feature's estimation may take; a feature that takes longer
        is stopped and gets status ``"error"``. None: no limit.

    Returns
    -------
    Effects
        One :class:`FeatureEffect` per feature, in ``checked.features`` order, with
        status ``"estimated"``, ``"no_path"`` (no directed path: a structural zero, no
        estimate), ``"not_identifiable"`` (message names the blocking latent confounders)
        or ``"error"`` (one-line message); ``seconds`` holds the time spent per feature.

    Raises
    ------
    OptionError
        For an invalid ``n_folds``, ``nuisance`` or ``time_limit``.
    """
    _econml.check_nuisance(nuisance)
    check_time_limit(time_limit)
    if not isinstance(n_folds, int | np.integer) or isinstance(n_folds, bool) or n_folds < 2:
        raise OptionError(f"n_folds: {n_folds!r} is invalid; use an integer of at least 2")

    features = tuple(checked.features)
    outcome = checked.outcome
    seed_seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    seeds = [int(s.generate_state(1)[0]) for s in seed_seq.spawn(len(features))]
    outcome_kind = checked.kinds.get(outcome, "continuous")

    _dowhy._api()  # pay DoWhy's import once, outside the per-feature timings

    results: dict[str, FeatureEffect] = {}
    seconds: dict[str, float] = {}
    tasks: list[_Task] = []
    for feature, feature_seed in zip(features, seeds, strict=True):
        start = time.perf_counter()
        ident = Identification(strategy="none")
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
                    _Task(
                        feature=feature,
                        identification=ident,
                        **design_arrays(ident, checked.frame, feature, outcome, checked=checked),
                        treatment_kind=treatment_kind,
                        outcome_kind=outcome_kind,
                        seed=feature_seed,
                        n_folds=int(n_folds),
                        nuisance=nuisance,
                        time_limit=None if time_limit is None else float(time_limit),
                        levels=levels,
                        reference=reference,
                    )
                )
        except Exception as exc:  # a bad feature is reported in its own row
            effect = FeatureEffect(feature, ident, None, "error", _one_line(exc))
        if effect is not None:
            results[feature] = effect
        seconds[feature] = time.perf_counter() - start

    nuisances: dict[str, _econml.BackdoorNuisances] = {}
    if tasks:
        done = run_parallel(
            _run_task_keeping_nuisances,
            tasks,
            n_jobs=n_jobs,
            backend=backend,
            progress=progress,
            desc="effects",
        )
        for effect, elapsed, kept in done:
            results[effect.feature] = effect
            seconds[effect.feature] += elapsed
            if kept is not None and effect.status == "estimated":
                nuisances[effect.feature] = kept

    return Effects(
        by_feature={f: results[f] for f in features},
        seed=_seed_entropy(seed),
        seconds={f: seconds[f] for f in features},
        nuisances=nuisances,
        nuisance=nuisance,
        n_folds=int(n_folds),
    )


def _without_estimate(feature: str, outcome: str, ident: Identification) -> FeatureEffect | None:
    """The row for a feature that needs no estimation, or None."""
    if ident.strategy == "no_path":
        return FeatureEffect(
            feature,
            ident,
            None,
            "no_path",
            f"no directed path from {feature} to {outcome} in the graph: "
            "its total causal effect is zero by the graph's assumptions",
        )
    if ident.strategy == "none":
        return FeatureEffect(
            feature,
            ident,
            None,
            "not_identifiable",
            _not_identifiable_message(feature, outcome, ident),
        )
    if ident.strategy not in _STRATEGIES_ESTIMATED:
        return FeatureEffect(
            feature, ident, None, "error", f"unknown identification {ident.strategy!r}"
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
            "error",
            f"{outcome} is categorical: only binary or continuous outcomes are supported",
        )
    return None


def check_time_limit(time_limit: object) -> None:
    """Raise :class:`OptionError` unless ``time_limit`` is a positive number of seconds or None."""
    if time_limit is None:
        return
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, int | float | np.integer | np.floating)
        or not time_limit > 0
    ):
        raise OptionError(
            f"time_limit: expected a positive number of seconds or None, got {time_limit!r}; "
            f"pass e.g. time_limit={DEFAULT_TIME_LIMIT:g} (--time-limit {DEFAULT_TIME_LIMIT:g})"
        )
