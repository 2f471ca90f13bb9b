"""Stage: try hard to break every estimated effect.

Five refuters perturb the data and re-estimate: for back-door effects on the original fit's
cross-fitted nuisances (the final stage only, the fast path), otherwise, or with
``refit=True``, by re-running the estimation adapter. Each keeps its full simulated
distribution, a p-value for the null "the claim survives this challenge", and a
Benjamini-Hochberg adjusted p-value over the whole report (every feature and refuter at once).
A sensitivity analysis (Cinelli & Hazlett 2020 robustness values; VanderWeele & Ding 2017
E-values for binary outcomes) says how strong a hidden confounder would have to be.
The definitions and formulas are in ``docs/refutation.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from causalinterp._progress import run_parallel
from causalinterp._seeds import seed_sequence
from causalinterp.errors import DataError, OptionError
from causalinterp.estimate import _econml
from causalinterp.estimate._dowhy import Identification
from causalinterp.estimate._econml import EffectEstimate
from causalinterp.estimate.effects import design_arrays, estimate_identified

if TYPE_CHECKING:  # effects.py may come to import this module's dispatch
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects, FeatureEffect

#: Simulations per simulation-based refuter at each depth ("none" skips the refuters).
DEPTHS: Mapping[str, int] = {"none": 0, "quick": 10, "standard": 20, "thorough": 100}
#: Refuters, in the fixed order that also fixes their random seeds.
REFUTERS: tuple[str, ...] = (
    "placebo_treatment",
    "random_common_cause",
    "data_subset",
    "bootstrap",
    "dummy_outcome",
)
#: Share of the rows kept by each ``data_subset`` simulation.
SUBSET_FRACTION = 0.8
#: Spreads below this share of the standard error count as zero (deterministic estimators).
_SPREAD_FLOOR = 0.01
#: When every simulation re-fits the nuisances, the original estimate is taken to carry at
#: least this share of its standard error as re-estimation (cross-fitting) noise.
_ORIGINAL_NOISE_FLOOR = 0.25
#: A refuter with fewer usable simulations than this share of those planned fails.
_MIN_USABLE = 0.5


@dataclass(frozen=True)
class RefutationResult:
    """One refuter applied to one feature's effect.

    ``distribution`` holds every simulated estimate (kept raw, for plots and audits);
    ``p_adjusted`` and ``passed`` are filled after the report-wide Benjamini-Hochberg step.
    """

    name: str
    feature: str
    original: float
    distribution: np.ndarray
    p_value: float
    p_adjusted: float
    passed: bool
    detail: str = ""
    #: The value the simulated estimates centre on when the claim holds (0 or the original).
    expected: float = 0.0

    @property
    def simulations(self) -> int:
        return len(self.distribution)


@dataclass(frozen=True)
class Sensitivity:
    """Sensitivity of an effect to an unobserved confounder (Cinelli & Hazlett 2020).

    ``robustness_value`` is the partial R² a confounder would need with both the treatment and
    the outcome (residualised on the controls) to bring the estimate to zero;
    ``robustness_value_alpha`` the same to make it insignificant at 5%.
    ``e_value`` is set for binary outcomes only.
    """

    feature: str
    partial_r2: float
    robustness_value: float
    robustness_value_alpha: float
    e_value: float | None
    sentence: str
    #: t-statistic and residual degrees of freedom the values were computed from.
    t_statistic: float = math.nan
    dof: int = 0


@dataclass(frozen=True)
class Refutations:
    """Every refuter result per feature, the sensitivity per feature, and the depth used."""

    by_feature: Mapping[str, tuple[RefutationResult, ...]]
    sensitivity: Mapping[str, Sensitivity]
    depth: str
    #: Level of the report-wide false discovery rate control.
    alpha: float = 0.05
    #: Simulations per refuter (0 for depth "none").
    simulations: int = 0
    #: Every simulation re-fitted the nuisances (else back-door effects reused the original's).
    refit: bool = False

    def failed(self, feature: str) -> tuple[str, ...]:
        """Names of the refuters whose challenge ``feature``'s effect did not survive."""
        return tuple(r.name for r in self.by_feature.get(feature, ()) if not r.passed)


# ------------------------------------------------------------------------------ estimation


def _reestimate(
    frame: pd.DataFrame,
    kinds: Mapping[str, str],
    treatment: str,
    outcome: str,
    identification: Identification,
    *,
    seed: int,
    n_folds: int = 3,
    nuisance: str = "auto",
) -> EffectEstimate:
    """Estimate ``treatment``'s effect on ``outcome`` the way ``identification`` says."""
    arrays = design_arrays(identification, frame, treatment, outcome)
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


def _columns(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray | None:
    return frame[list(names)].to_numpy(dtype=float) if names else None


# ------------------------------------------------------------------------------ simulation


@dataclass(frozen=True)
class _Task:
    """One simulation: a perturbation of one feature's data and a re-estimation.

    Self-contained and picklable, so any joblib backend (loky, dask) can run it.
    """

    feature: str
    refuter: str
    frame: pd.DataFrame  # only the columns this feature's estimator uses
    kinds: Mapping[str, str]
    outcome: str
    identification: Identification
    seed: np.random.SeedSequence
    n_folds: int
    nuisance: str
    fitted_outcome: np.ndarray | None = None  # dummy outcome: systematic part (see _dummy_base)
    dummy_residuals: np.ndarray | None = None  # dummy outcome: residuals to permute
    reference: bool = False  # dummy outcome without noise: the systematic part alone


def _run_task(task: _Task) -> tuple[float, float, str]:
    """The re-estimated effect and its standard error, or NaNs and the reason it failed."""
    data_seed, estimator_seed = task.seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    frame, kinds, identification = _perturb(task, rng)
    try:
        # Parallelism is across simulations: inner OpenMP/BLAS threads would only oversubscribe.
        with threadpool_limits(limits=1):
            estimate = _reestimate(
                frame,
                kinds,
                task.feature,
                task.outcome,
                identification,
                seed=int(estimator_seed.generate_state(1)[0] >> 1),
                n_folds=task.n_folds,
                nuisance=task.nuisance,
            )
    except Exception as exc:  # a failed simulation is data, not a crash
        return math.nan, math.nan, f"{type(exc).__name__}: {exc}".strip()
    return float(estimate.estimate), float(estimate.stderr), ""


def _perturb(
    task: _Task, rng: np.random.Generator
) -> tuple[pd.DataFrame, Mapping[str, str], Identification]:
    frame, kinds, identification = task.frame, task.kinds, task.identification
    n = len(frame)
    if task.refuter == "placebo_treatment":
        frame = frame.copy()
        # Instruments move with the treatment: permuting the treatment alone would remove the
        # first stage and leave an IV ratio without a finite mean.
        block = [task.feature, *identification.instruments]
        frame[block] = frame[block].to_numpy()[rng.permutation(n)]
    elif task.refuter == "random_common_cause":
        name = _fresh_name(frame.columns)
        frame = frame.assign(**{name: rng.standard_normal(n)})
        kinds = {**kinds, name: "continuous"}
        identification = replace(
            identification, adjustment_set=(*identification.adjustment_set, name)
        )
    elif task.refuter == "data_subset":
        keep = np.sort(rng.choice(n, size=max(2, round(SUBSET_FRACTION * n)), replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    elif task.refuter == "bootstrap":
        # Half-samples without replacement rather than resamples with it: cross-fitting would
        # put copies of a row on both sides of a fold split, and flexible nuisances fitting
        # those rows' noise move both the centre and the spread of the re-fits (measured).
        # A half-sample's estimate differs from the full-data one by the full-data standard
        # error (Var = SE^2 (n/m - 1) = SE^2 at m = n/2), the bootstrap's own yardstick.
        keep = np.sort(rng.choice(n, size=max(2, n // 2), replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    elif task.refuter == "dummy_outcome":
        fitted = task.fitted_outcome
        assert fitted is not None
        if task.reference:
            # The systematic part alone, on the probability scale for a binary outcome.
            dummy = fitted
            kinds = {**kinds, task.outcome: "continuous"}
        elif kinds[task.outcome] == "binary":
            dummy = (rng.random(n) < fitted).astype(float)
        else:
            assert task.dummy_residuals is not None
            dummy = fitted + rng.permutation(task.dummy_residuals)
        frame = frame.assign(**{task.outcome: dummy})
    else:  # pragma: no cover - REFUTERS is closed
        raise AssertionError(task.refuter)
    return frame, kinds, identification


def _fresh_name(columns: Sequence[str]) -> str:
    name = "random common cause"
    while name in columns:
        name += "_"
    return name


def _dummy_base(frame: pd.DataFrame, outcome: str, feature: str, effect: float) -> np.ndarray:
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


def _fit_outcome(target: np.ndarray, x: np.ndarray | None, seed: int) -> np.ndarray:
    """Cross-fitted E[target | x], the systematic part kept by the dummy outcome.

    Least squares plus gradient boosting on its residuals (3 folds): the dummy outcome then
    carries the linear and the non-linear dependence on the controls that the real outcome
    has, and an estimator that cannot adjust for it shows a non-zero dummy effect.
    """
    fitted = np.full(len(target), target.mean())
    if x is None or len(target) < 20:
        return fitted
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold

    scale = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    folds = KFold(n_splits=3, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        for train, test in folds.split(x):
            linear = LinearRegression().fit(x[train], target[train])
            boost = HistGradientBoostingRegressor(
                max_iter=100, max_leaf_nodes=15, early_stopping=False, random_state=seed
            ).fit(x[train], target[train] - linear.predict(x[train]))
            fitted[test] = linear.predict(x[test]) + boost.predict(x[test])
    return fitted


def _fit_outcome_task(args: tuple) -> np.ndarray:
    return _fit_outcome(*args)


# ------------------------------------------------------------------------------ fast path
#
# A back-door effect is the final stage of a cross-fitted estimator whose nuisance fits each
# refuter changes only in part; the fits it does not change are reused (docs/performance.md
# argues each case). Two final stages:
#   continuous treatment  LinearDML: the least-squares slope of y~ = y - E[y|w] on
#                         t~ = t - E[t|w] (_PartiallyLinearStage);
#   binary treatment      LinearDRLearner: the mean of the doubly robust scores
#                         psi = y1 - y0 + t (y - y1)/p - (1 - t)(y - y0)/(1 - p)
#                         (_DoublyRobustStage).
# Per refuter:
#   placebo treatment  a permuted treatment is independent of (w, y): its nuisance is the
#                      constant mean(t) (the share treated) and the outcome model is E[y|w];
#   random common cause  an independent column u enters the nuisances with a population
#                      coefficient of zero; its finite-sample coefficients are one least-squares
#                      step in u (Frisch-Waugh-Lovell: exact for the slope) and, for a logistic
#                      propensity, one Newton step;
#   data subset / bootstrap  the final stage on the subset / resample of rows, nuisances fixed
#                      (the double ML bootstrap of the orthogonal scores);
#   dummy outcome      dummy = f(w) + noise with f = E[y - effect * t | w] from a flexible fit;
#                      the estimator's outcome model recovers g = its cross-fitted fit of f (one
#                      fit per feature), the noise is independent of w and the true effect is 0:
#                      the final stage applied to f - g + noise.


def _fast_eligible(effect: FeatureEffect, kinds: Mapping[str, str], frame: pd.DataFrame) -> bool:
    return (
        effect.identification.strategy == "backdoor"
        and kinds.get(effect.feature) in ("continuous", "binary")
        and len(frame) >= 20
    )


def _final_stage(y_res: np.ndarray, t_res: np.ndarray) -> tuple[float, float]:
    """LinearDML's final stage: slope through the origin and its HC1 standard error."""
    d = float(t_res @ t_res)
    n = len(y_res)
    if not (d > 0) or n < 3:
        return math.nan, math.nan
    theta = float(y_res @ t_res) / d
    e = y_res - theta * t_res
    se = math.sqrt(float((t_res * t_res) @ (e * e)) * n / (n - 1)) / d
    return theta, se


def _mean_and_se(scores: np.ndarray) -> tuple[float, float]:
    """LinearDRLearner's final stage without effect modifiers: the mean score and its s.e."""
    n = len(scores)
    if n < 3 or not np.all(np.isfinite(scores)):
        return math.nan, math.nan
    return float(scores.mean()), float(scores.std(ddof=1) / math.sqrt(n))


def _permutation_sd(treatment: np.ndarray, weights: np.ndarray) -> float:
    """Exact standard deviation of sum_i weights_i * t_perm(i) over random permutations.

    For a statistic linear in the permuted treatment the permutation variance is known in
    closed form, sum (t - mean t)^2 * sum (w - mean w)^2 / (n - 1): the placebo test need
    not estimate it from a handful of simulations.
    """
    n = len(treatment)
    if n < 2:
        return math.nan
    spread_t = float(((treatment - treatment.mean()) ** 2).sum())
    spread_w = float(((weights - weights.mean()) ** 2).sum())
    return math.sqrt(spread_t * spread_w / (n - 1))


@dataclass(frozen=True)
class _PartiallyLinearStage:
    """LinearDML's final stage on the original fit's residuals (continuous treatment)."""

    y_res: np.ndarray
    t_res: np.ndarray

    def estimate(self, rows: np.ndarray | None = None) -> tuple[float, float]:
        if rows is None:
            return _final_stage(self.y_res, self.t_res)
        return _final_stage(self.y_res[rows], self.t_res[rows])

    def placebo(self, treatment: np.ndarray) -> tuple[float, float]:
        return _final_stage(self.y_res, treatment - treatment.mean())

    def placebo_sd(self, treatment: np.ndarray) -> float:
        # slope = sum(y~ * (t_perm - mean t)) / sum((t - mean t)^2), the denominator fixed.
        centred = float(((treatment - treatment.mean()) ** 2).sum())
        return _permutation_sd(treatment, self.y_res / centred) if centred > 0 else math.nan

    def common_cause(self, u: np.ndarray) -> tuple[float, float]:
        u = u - u.mean()
        uu = float(u @ u)
        return _final_stage(
            self.y_res - (float(self.y_res @ u) / uu) * u,
            self.t_res - (float(self.t_res @ u) / uu) * u,
        )

    def dummy(self, outcome_res: np.ndarray) -> tuple[float, float]:
        return _final_stage(outcome_res, self.t_res)


@dataclass(frozen=True)
class _DoublyRobustStage:
    """LinearDRLearner's final stage on the original fit's nuisances (binary treatment).

    ``outcome_mean`` is a cross-fitted E[y | w], the outcome model of a treatment that is
    independent of everything (the placebo). What every simulation shares is computed once.
    """

    nuisances: _econml.DoublyRobustNuisances
    outcome_mean: np.ndarray

    @cached_property
    def _scores(self) -> np.ndarray:
        return self.nuisances.scores

    @cached_property
    def _observed_residual(self) -> np.ndarray:
        kept = self.nuisances
        return kept.y - np.where(kept.t == 1, kept.y1, kept.y0)

    @cached_property
    def _placebo_residual(self) -> np.ndarray:
        return self.nuisances.y - self.outcome_mean

    @cached_property
    def _logit(self) -> np.ndarray:
        p = self.nuisances.propensity
        return np.log(p / (1.0 - p))

    def estimate(self, rows: np.ndarray | None = None) -> tuple[float, float]:
        return _mean_and_se(self._scores if rows is None else self._scores[rows])

    def placebo(self, treatment: np.ndarray) -> tuple[float, float]:
        share = float(treatment.mean())
        if not 0.0 < share < 1.0:
            return math.nan, math.nan
        residual = self._placebo_residual
        return _mean_and_se(
            treatment * residual / share - (1.0 - treatment) * residual / (1.0 - share)
        )

    def placebo_sd(self, treatment: np.ndarray) -> float:
        # mean score = sum(r * (t_perm - share)) / (n share (1 - share)), the share fixed.
        share, n = float(treatment.mean()), len(treatment)
        if not 0.0 < share < 1.0:
            return math.nan
        return _permutation_sd(treatment, self._placebo_residual / (n * share * (1.0 - share)))

    def common_cause(self, u: np.ndarray) -> tuple[float, float]:
        nuisances = self.nuisances
        t, p = nuisances.t, nuisances.propensity
        u = u - u.mean()
        residual = self._observed_residual
        residual = residual - (float(u @ residual) / float(u @ u)) * u
        newton = float(u @ (t - p)) / float((p * (1.0 - p)) @ (u * u))
        bound = _econml.MIN_PROPENSITY
        shifted = np.clip(1.0 / (1.0 + np.exp(-(self._logit + newton * u))), bound, 1.0 - bound)
        return _mean_and_se(
            nuisances.y1
            - nuisances.y0
            + t * residual / shifted
            - (1.0 - t) * residual / (1.0 - shifted)
        )

    def dummy(self, outcome_res: np.ndarray) -> tuple[float, float]:
        t, p = self.nuisances.t, self.nuisances.propensity
        return _mean_and_se(t * outcome_res / p - (1.0 - t) * outcome_res / (1.0 - p))


_FinalStage = _PartiallyLinearStage | _DoublyRobustStage


def _nuisances_task(args: tuple) -> _econml.BackdoorNuisances | None:
    y, t, w, treatment_kind, outcome_kind, seed, n_folds, nuisance = args
    try:
        with threadpool_limits(limits=1):
            return _econml.fit_backdoor(
                y,
                t,
                w,
                treatment_kind=treatment_kind,
                outcome_kind=outcome_kind,
                seed=seed,
                n_folds=n_folds,
                nuisance=nuisance,
            )[1]
    except Exception:  # the re-fitting path will report the failure per simulation
        return None


def _crossfit_task(args: tuple) -> np.ndarray:
    target, w, kind, seed, n_folds, nuisance = args
    with threadpool_limits(limits=1):
        return _econml.cross_fitted(
            target, w, kind=kind, seed=seed, n_folds=n_folds, nuisance=nuisance
        )


@dataclass(frozen=True)
class _FastResults:
    """What the fast path computed, per feature."""

    #: ``simulations * len(REFUTERS)`` (estimate, stderr, error) triples, in the layout of the
    #: re-fitting path.
    simulations: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    #: The noise-free dummy outcome (the systematic part alone).
    references: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    #: The exact standard deviation of one placebo simulation (its permutation distribution).
    placebo_sd: dict[str, float] = field(default_factory=dict)


def _fast_plans(
    plans: Sequence[_Plan],
    *,
    checked: CheckedData,
    effects: Effects,
    kinds: Mapping[str, str],
    fitted: Mapping[str, np.ndarray],
    base: Mapping[str, np.ndarray],
    simulations: int,
    nuisance: _econml.Nuisance,
    n_folds: int,
    n_jobs: int | None,
    backend: str | None,
) -> _FastResults:
    """Every simulation of every refuter for the plans that reuse their nuisance fits.

    Features whose nuisances cannot be had are left out (they go through the re-fitting path).
    """
    result = _FastResults()
    if not plans:
        return result
    outcome = checked.outcome
    cached = getattr(effects, "nuisances", {}) or {}
    missing = [p for p in plans if p.feature not in cached]
    # Seed streams: seeds[0] is the placebo's; its states 1 and 2 seed the two fits made here
    # (a feature's nuisances when they were not kept, and its outcome model E[y | w]).
    refitted = _map(
        _nuisances_task,
        [
            (
                p.frame[outcome].to_numpy(dtype=float),
                p.frame[p.feature].to_numpy(dtype=float),
                _columns(p.frame, p.controls),
                kinds[p.feature],
                kinds[outcome],
                int(p.seeds[0].generate_state(2)[1] >> 1),
                n_folds,
                nuisance,
            )
            for p in missing
        ],
        n_jobs=n_jobs,
        backend=backend,
    )
    nuisances = {p.feature: cached[p.feature] for p in plans if p.feature in cached}
    nuisances.update({p.feature: r for p, r in zip(missing, refitted, strict=True)})
    plans = [p for p in plans if nuisances.get(p.feature) is not None]
    doubly_robust = [
        p for p in plans if isinstance(nuisances[p.feature], _econml.DoublyRobustNuisances)
    ]

    # One batch of cross-fits: what the estimator's outcome model recovers of each dummy's
    # systematic part, and each binary treatment's E[y | w] for its placebo.
    dummy_index = REFUTERS.index("dummy_outcome")
    jobs = [
        (
            fitted[plan.feature],
            _columns(plan.frame, plan.controls),
            kinds[outcome],
            int(plan.seeds[dummy_index].generate_state(2)[1] >> 1),
            n_folds,
            nuisance,
        )
        for plan in plans
    ] + [
        (
            plan.frame[outcome].to_numpy(dtype=float),
            _columns(plan.frame, plan.controls),
            kinds[outcome],
            int(plan.seeds[0].generate_state(3)[2] >> 1),
            n_folds,
            nuisance,
        )
        for plan in doubly_robust
    ]
    crossfits = _map(_crossfit_task, jobs, n_jobs=n_jobs, backend=backend)
    recovered_by = dict(zip((p.feature for p in plans), crossfits[: len(plans)], strict=True))
    outcome_mean = dict(
        zip((p.feature for p in doubly_robust), crossfits[len(plans) :], strict=True)
    )

    for plan in plans:
        kept = nuisances[plan.feature]
        stage: _FinalStage
        if isinstance(kept, _econml.DoublyRobustNuisances):
            stage = _DoublyRobustStage(kept, outcome_mean[plan.feature])
        else:
            stage = _PartiallyLinearStage(
                np.asarray(kept.y_res, dtype=float), np.asarray(kept.t_res, dtype=float)
            )
        theta_r, _ = stage.estimate()
        original = float(plan.effect.estimate.estimate)  # type: ignore[union-attr]
        # Re-fits centre on the original estimate; the kept fit's final stage equals it
        # exactly when it is the original fit, and differs by cross-fitting noise otherwise.
        shift = original - theta_r if math.isfinite(theta_r) else 0.0
        inputs = {
            "stage": stage,
            "t": plan.frame[plan.feature].to_numpy(dtype=float),
            "y": base[plan.feature],
            "fitted": fitted[plan.feature],
            "fitted_res": fitted[plan.feature] - recovered_by[plan.feature],
            "binary_outcome": kinds[outcome] == "binary",
            "shift": shift,
        }
        block: list[tuple[float, float, str]] = []
        for refuter, refuter_seed in zip(REFUTERS, plan.seeds, strict=True):
            for sim_seed in refuter_seed.spawn(simulations):
                block.append(_fast_simulation(refuter, inputs, sim_seed))
        result.simulations[plan.feature] = block
        systematic = inputs["fitted_res"] - inputs["fitted_res"].mean()
        result.references[plan.feature] = (*stage.dummy(systematic), "")
        result.placebo_sd[plan.feature] = stage.placebo_sd(inputs["t"])
    return result


def _fast_simulation(
    refuter: str, inputs: Mapping, seed: np.random.SeedSequence
) -> tuple[float, float, str]:
    """One simulation of ``refuter`` on the final stage (see the section comment)."""
    data_seed, _ = seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    stage: _FinalStage = inputs["stage"]
    n = len(inputs["t"])
    shift = 0.0
    if refuter == "placebo_treatment":
        theta, se = stage.placebo(inputs["t"][rng.permutation(n)])
    elif refuter == "random_common_cause":
        theta, se = stage.common_cause(rng.standard_normal(n))
        shift = inputs["shift"]
    elif refuter == "data_subset":
        keep = np.sort(rng.choice(n, size=max(2, round(SUBSET_FRACTION * n)), replace=False))
        theta, se = stage.estimate(keep)
        shift = inputs["shift"]
    elif refuter == "bootstrap":
        theta, se = stage.estimate(rng.integers(0, n, size=n))
        shift = inputs["shift"]
    elif refuter == "dummy_outcome":
        fitted = inputs["fitted"]
        if inputs["binary_outcome"]:
            noise = (rng.random(n) < fitted).astype(float) - fitted
        else:
            noise = rng.permutation(inputs["y"] - fitted)
        theta, se = stage.dummy(inputs["fitted_res"] + noise - noise.mean())
    else:  # pragma: no cover - REFUTERS is closed
        raise AssertionError(refuter)
    if not math.isfinite(theta):
        return math.nan, math.nan, "EstimationError: the final stage has no finite estimate"
    return theta + shift, se, ""


# ------------------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class _Test:
    p_value: float
    detail: str
    expected: float


def _spread(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _t_p(statistic: float, dof: float) -> float:
    if not math.isfinite(statistic):
        return 0.0 if math.isinf(statistic) else math.nan
    return float(2.0 * stats.t.sf(abs(statistic), max(dof, 1.0)))


def _centred_at_zero(
    values: np.ndarray, fixed_variance: float, stderr: float, known_sd: float = math.nan
) -> tuple[float, float, float]:
    """Test of E[mean(values)] = 0: (p-value, mean, standard error of the mean).

    ``fixed_variance`` is the sampling variance of the part of the simulated estimates that
    does not change between simulations (zero for the placebo treatment). ``known_sd``, when
    finite, is the exact spread of one simulation: then a z-test, else a t-test on the
    simulations' own spread.
    """
    b = len(values)
    mean = float(values.mean())
    known = math.isfinite(known_sd) and known_sd > 0
    spread = known_sd if known else max(_spread(values), _SPREAD_FLOOR * stderr)
    sem = math.sqrt(spread**2 / b + fixed_variance)
    statistic = mean / sem if sem > 0 else (0.0 if mean == 0 else math.inf)
    return _t_p(statistic, math.inf if known else b - 1), mean, sem


def _shift_test(
    values: np.ndarray, original: float, stderr: float, noise: float, noise_sims: int
) -> tuple[float, float]:
    """Welch-type test of mean(values) = original when the original has re-estimation noise.

    ``noise`` is the standard deviation of a re-estimate of the original on the same data
    (from the random-common-cause refits), estimated from ``noise_sims`` simulations.
    Returns (p-value, t-statistic).
    """
    b = len(values)
    s = max(_spread(values), _SPREAD_FLOOR * stderr)
    a, c = s**2 / b, noise**2
    total = a + c
    if total <= 0:
        return (1.0 if values.mean() == original else 0.0), math.nan
    statistic = (float(values.mean()) - original) / math.sqrt(total)
    denominator = a**2 / max(b - 1, 1) + (c**2 / (noise_sims - 1) if noise_sims > 1 else 0.0)
    dof = total**2 / denominator if denominator > 0 else math.inf
    return _t_p(statistic, dof), statistic


def _test(
    refuter: str,
    values: np.ndarray,
    stderrs: np.ndarray,
    original: float,
    stderr: float,
    noise: float,
    noise_sims: int,
    *,
    shared: float = math.nan,
    refitted: bool = True,
    placebo_sd: float = math.nan,
) -> _Test:
    """The p-value and a plain-language detail of one refuter's simulated estimates.

    ``noise`` is the spread of the random-common-cause re-estimates (``noise_sims`` of them),
    the reference for the original estimate's own re-estimation noise; ``refitted`` says the
    simulations re-fitted the nuisances (so that noise is at least a floor, see
    docs/refutation.md). ``shared`` is the standard error of the noise-free dummy outcome fit.
    ``placebo_sd``, when finite, is the exact spread of one placebo simulation (fast path).
    """
    b = len(values)
    se = stderr if math.isfinite(stderr) and stderr > 0 else math.nan
    if refuter in ("placebo_treatment", "dummy_outcome"):
        fixed = 0.0
        if refuter == "dummy_outcome":
            # Every dummy outcome shares E[y | controls]; its contribution to the dummy estimate
            # is one draw of sampling noise that averaging over simulations cannot remove. Its
            # variance is that of the noise-free fit; failing that, what the fits' own standard
            # errors hold beyond the simulation spread.
            if math.isfinite(shared):
                fixed = shared**2
            else:
                finite = stderrs[np.isfinite(stderrs)]
                if len(finite):
                    fixed = max(0.0, float(np.mean(finite**2)) - _spread(values) ** 2)
        known = placebo_sd if refuter == "placebo_treatment" else math.nan
        p, mean, sem = _centred_at_zero(values, fixed, se if math.isfinite(se) else 0.0, known)
        what = "placebo treatment" if refuter == "placebo_treatment" else "dummy outcome"
        detail = (
            f"mean {what} effect {mean:.4g} (s.e. {sem:.3g}, {b} simulations) against the "
            f"original {original:.4g}; expected 0"
        )
        return _Test(p, detail, 0.0)

    se0 = se if math.isfinite(se) else 0.0
    # Cross-fitting noise in re-fitted estimates is occasionally heavy-tailed; the original is
    # one draw of it, so below a floor its spread is not trusted.
    noise = max(noise, _ORIGINAL_NOISE_FLOOR * se0) if refitted else noise
    mean = float(values.mean())
    s = _spread(values)
    shift = f"{(mean - original) / se:+.2f} standard errors" if math.isfinite(se) else "n/a"
    if refuter == "random_common_cause":
        # The original is one more draw of the re-estimates: its noise is their spread.
        p, _ = _shift_test(values, original, se0, noise, b)
        detail = (
            f"mean estimate with a random common cause {mean:.4g} against the original "
            f"{original:.4g} (shift {shift}; re-estimation spread {s:.3g}); expected unchanged"
        )
        return _Test(p, detail, original)

    p_centre, _ = _shift_test(values, original, se0, noise, noise_sims)
    if refuter == "data_subset":
        expected_spread = se * math.sqrt((1.0 - SUBSET_FRACTION) / SUBSET_FRACTION)
        detail = (
            f"mean estimate on {SUBSET_FRACTION:.0%} subsets {mean:.4g} against the original "
            f"{original:.4g} (shift {shift}); subset spread {s:.3g} against "
            f"{expected_spread:.3g} expected from the standard error "
            f"(ratio {s / expected_spread:.2f}); expected unchanged"
        )
        return _Test(p_centre, detail, original)

    # bootstrap: centred on the original, and no wider than the analytic standard error allows.
    # Re-fitted simulations are half-samples (see _perturb): their fits carry twice the
    # re-estimation variance of a full-data fit.
    reference = math.sqrt(se**2 + (2.0 if refitted else 1.0) * noise**2) if se0 else math.nan
    if b > 1 and math.isfinite(reference) and reference > 0:
        p_spread = float(stats.chi2.sf((b - 1) * s**2 / reference**2, b - 1))
    else:
        p_spread = math.nan
    p = min(1.0, 2.0 * min(p_centre, p_spread)) if math.isfinite(p_spread) else p_centre
    what = "half-sample" if refitted else "bootstrap"
    detail = (
        f"mean {what} estimate {mean:.4g} against the original {original:.4g} "
        f"(shift {shift}, p = {p_centre:.3g}); {what} standard error {s:.3g} against the "
        f"analytic {se:.3g} (ratio {s / se:.2f}, p = {p_spread:.3g}); expected unchanged"
    )
    return _Test(p, detail, original)


# ------------------------------------------------------------------------------ sensitivity


def _partial_r2(t_statistic: float, dof: float) -> float:
    """Partial R² of the treatment with the outcome: t² / (t² + dof)."""
    return t_statistic**2 / (t_statistic**2 + dof)


def _robustness_value(
    t_statistic: float, dof: float, *, q: float = 1.0, alpha: float | None = None
) -> float:
    """Cinelli & Hazlett's robustness value RV_q, or RV_{q,alpha} when ``alpha`` is given."""
    fq = q * abs(t_statistic) / math.sqrt(dof)
    if alpha is None:
        return 0.5 * (math.sqrt(fq**4 + 4.0 * fq**2) - fq**2)
    f_crit = abs(float(stats.t.ppf(alpha / 2.0, dof - 1))) / math.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if fq > 1.0 / f_crit:
        # The bound on the treatment's partial R² binds (Cinelli & Hazlett 2020, appendix).
        return (fq**2 - f_crit**2) / (1.0 + fq**2)
    return 0.5 * (math.sqrt(fqa**4 + 4.0 * fqa**2) - fqa**2)


def _e_value(risk_ratio: float) -> float:
    """VanderWeele & Ding's E-value of a risk ratio: RR + sqrt(RR (RR - 1)), RR taken >= 1."""
    if not math.isfinite(risk_ratio) or risk_ratio <= 0:
        return math.nan
    rr = max(risk_ratio, 1.0 / risk_ratio)
    return rr + math.sqrt(rr * (rr - 1.0))


def _risk_ratio(effect: float, y: np.ndarray, t: np.ndarray, treatment_kind: str) -> float:
    """The risk ratio matching a risk difference ``effect`` (see docs/refutation.md)."""
    if treatment_kind == "binary" and np.any(t == 0):
        baseline = float(y[t == 0].mean())
        treated = baseline + effect
    else:  # one unit of a continuous treatment, centred at the mean risk
        mean = float(y.mean())
        baseline, treated = mean - effect / 2.0, mean + effect / 2.0
    eps = 1e-6
    baseline = min(max(baseline, eps), 1.0 - eps)
    treated = min(max(treated, eps), 1.0 - eps)
    return treated / baseline


def _sensitivity(effect: FeatureEffect, checked: CheckedData, alpha: float) -> Sensitivity | None:
    estimate = effect.estimate
    if estimate is None:
        return None
    identification = effect.identification
    n = estimate.n_rows or checked.n_rows
    regressors = (
        1
        + len(identification.adjustment_set)
        + len(identification.instruments)
        + len(identification.mediators)
    )
    dof = max(int(n) - regressors - 1, 2)
    if not (math.isfinite(estimate.stderr) and estimate.stderr > 0):
        t_stat = math.inf if estimate.estimate != 0 else 0.0
    else:
        t_stat = estimate.estimate / estimate.stderr
    if math.isinf(t_stat):
        r2, rv, rva = 1.0, 1.0, 1.0
    else:
        r2 = _partial_r2(t_stat, dof)
        rv = _robustness_value(t_stat, dof)
        rva = _robustness_value(t_stat, dof, alpha=alpha)
    outcome = checked.outcome
    e_value = None
    if checked.kinds.get(outcome) == "binary":
        rr = _risk_ratio(
            estimate.estimate,
            checked.frame[outcome].to_numpy(dtype=float),
            checked.frame[effect.feature].to_numpy(dtype=float),
            checked.kinds.get(effect.feature, "continuous"),
        )
        e_value = _e_value(rr)
    level = f"{100 * alpha:g}%"
    if rva > 0:
        insignificant = f"{_percent(rva)} to make it insignificant at {level}"
    else:
        insignificant = f"it is already not significant at {level}"
    sentence = (
        f"A hidden confounder would need to explain at least {_percent(rv)} of the residual "
        f"variance of both {effect.feature} and {outcome} to erase this effect "
        f"({insignificant})."
    )
    if e_value is not None and math.isfinite(e_value):
        sentence += (
            f" On the risk-ratio scale it would need a risk ratio of at least {e_value:.3g} "
            f"with both (E-value)."
        )
    return Sensitivity(
        feature=effect.feature,
        partial_r2=float(r2),
        robustness_value=float(rv),
        robustness_value_alpha=float(rva),
        e_value=e_value,
        sentence=sentence,
        t_statistic=float(t_stat),
        dof=dof,
    )


def _percent(share: float) -> str:
    value = 100.0 * share
    return f"{value:.2g}%" if value < 1 else f"{value:.1f}%"


# ------------------------------------------------------------------------------ the stage


@dataclass(frozen=True)
class _Plan:
    feature: str
    effect: FeatureEffect
    frame: pd.DataFrame
    seeds: tuple[np.random.SeedSequence, ...]  # one per refuter, in REFUTERS order
    controls: tuple[str, ...] = field(default=())


def refute_effects(
    checked: CheckedData,
    effects: Effects,
    *,
    depth: str = "standard",
    seed: int | np.random.SeedSequence = 0,
    n_jobs: int | None = None,
    alpha: float = 0.05,
    backend: str | None = None,
    nuisance: _econml.Nuisance = "auto",
    n_folds: int = 3,
    progress: bool = False,
    refit: bool = False,
) -> Refutations:
    """Challenge every estimated effect with five refuters and a sensitivity analysis.

    Categorical controls, mediators and instruments enter every re-estimation as one 0/1
    column per non-reference level, as they entered the estimation. A categorical
    treatment's per-level effects are not refuted (each refuter challenges one effect per
    feature): its row gets no refutations.

    Parameters
    ----------
    checked : CheckedData
        The data the effects were estimated from.
    effects : Effects
        The estimated effects; only features with status ``"estimated"`` are refuted.
    depth : {"none", "quick", "standard", "thorough"}, default "standard"
        Simulations per refuter, see :data:`DEPTHS`. ``"none"`` runs no refuter (the
        sensitivity analysis, which needs no simulation, is still reported).
    seed : int or numpy.random.SeedSequence, default 0
        Root of every simulation's seed; results do not depend on ``n_jobs`` or ``backend``.
    n_jobs : int, optional
        Parallel jobs (joblib semantics; None means joblib's default).
    alpha : float, default 0.05
        Report-wide false discovery rate: a refuter passes when its Benjamini-Hochberg adjusted
        p-value is at least ``alpha``. Also the level of the robustness value RV_alpha.
    backend : str, optional
        joblib backend (e.g. ``"loky"``, ``"threading"``, ``"dask"``).
    nuisance : str, default "auto"
        Nuisance learners of the estimation adapter; must match how ``effects`` were estimated.
    n_folds : int, default 3
        Cross-fitting folds of the estimation adapter; must match ``effects`` too.
    progress : bool, default False
        Show a progress bar over the simulations.
    refit : bool, default False
        Re-fit every nuisance model in every simulation, also for back-door effects. By
        default those reuse the cross-fitted nuisances of the original fit
        (``effects.nuisances``: LinearDML's residuals for a continuous treatment, the doubly
        robust scores' parts for a binary one) and compute each simulation's final stage
        directly; ``docs/performance.md`` says what each refuter keeps on that path and what
        it cannot see (the nuisance estimates' own noise).

    Returns
    -------
    Refutations
        Per feature, one :class:`RefutationResult` per refuter (in :data:`REFUTERS` order) and
        a :class:`Sensitivity`.

    Raises
    ------
    OptionError
        Unknown ``depth`` or ``alpha`` outside (0, 1).
    DataError
        A feature of ``effects`` is missing from ``checked``.
    """
    if not isinstance(depth, str) or depth not in DEPTHS:
        raise OptionError(
            f"depth: unknown value {depth!r}; use one of {', '.join(map(repr, DEPTHS))}"
        )
    if not isinstance(refit, bool | np.bool_):
        raise OptionError(f"refit: expected True or False, got {refit!r}")
    if not (isinstance(alpha, int | float) and 0.0 < float(alpha) < 1.0):
        raise OptionError(f"alpha: {alpha!r} is not a level in (0, 1); pass e.g. alpha=0.05")
    alpha = float(alpha)
    root = seed_sequence(seed)
    simulations = DEPTHS[depth]
    checked, effects = _expand_categoricals(checked, effects)

    order = [f for f in checked.features if f in effects.by_feature]
    order += [f for f in effects.by_feature if f not in order]
    feature_seeds = dict(zip(order, root.spawn(len(order)), strict=True))

    plans: list[_Plan] = []
    sensitivity: dict[str, Sensitivity] = {}
    for feature in order:
        effect = effects.by_feature[feature]
        if effect.status != "estimated" or effect.estimate is None:
            continue
        columns = _used_columns(effect, checked.outcome)
        missing = [c for c in columns if c not in checked.frame.columns]
        if missing:
            raise DataError(
                f"effects: column {missing[0]!r} of feature {feature!r} is not in the checked "
                f"data; pass the CheckedData the effects were estimated from"
            )
        result = _sensitivity(effect, checked, alpha)
        if result is not None:
            sensitivity[feature] = result
        plans.append(
            _Plan(
                feature=feature,
                effect=effect,
                frame=checked.frame[columns].reset_index(drop=True),
                seeds=tuple(feature_seeds[feature].spawn(len(REFUTERS))),
                controls=tuple(effect.identification.adjustment_set),
            )
        )

    if simulations == 0 or not plans:
        return Refutations(
            by_feature={p.feature: () for p in plans},
            sensitivity=sensitivity,
            depth=depth,
            alpha=alpha,
            simulations=simulations,
            refit=bool(refit),
        )

    kinds = dict(checked.kinds)

    # Stage 1: the dummy outcome's systematic part, E[y - effect * t | controls], per feature.
    dummy_index = REFUTERS.index("dummy_outcome")
    base = {
        p.feature: _dummy_base(p.frame, checked.outcome, p.feature, p.effect.estimate.estimate)
        for p in plans
    }
    fitted_list = _map(
        _fit_outcome_task,
        [
            (
                base[p.feature],
                _columns(p.frame, p.controls),
                int(p.seeds[dummy_index].generate_state(1)[0] >> 1),
            )
            for p in plans
        ],
        n_jobs=n_jobs,
        backend=backend,
    )
    binary_outcome = kinds[checked.outcome] == "binary"
    fitted = {
        p.feature: np.clip(f, 0.0, 1.0) if binary_outcome else f
        for p, f in zip(plans, fitted_list, strict=True)
    }

    # Back-door effects: reuse the original fit's nuisances (residuals or scores).
    eligible = [p for p in plans if not refit and _fast_eligible(p.effect, kinds, p.frame)]
    fast = _fast_plans(
        eligible,
        checked=checked,
        effects=effects,
        kinds=kinds,
        fitted=fitted,
        base=base,
        simulations=simulations,
        nuisance=nuisance,
        n_folds=n_folds,
        n_jobs=n_jobs,
        backend=backend,
    )

    # Stage 2: every simulation of every refuter of every feature, seeds fixed in that order.
    tasks: list[_Task] = []
    for plan in plans:
        if plan.feature in fast.simulations:
            continue
        for refuter, refuter_seed in zip(REFUTERS, plan.seeds, strict=True):
            dummy = refuter == "dummy_outcome"
            for sim_seed in refuter_seed.spawn(simulations):
                tasks.append(
                    _Task(
                        feature=plan.feature,
                        refuter=refuter,
                        frame=plan.frame,
                        kinds=kinds,
                        outcome=checked.outcome,
                        identification=plan.effect.identification,
                        seed=sim_seed,
                        n_folds=n_folds,
                        nuisance=nuisance,
                        fitted_outcome=fitted[plan.feature] if dummy else None,
                        dummy_residuals=(
                            base[plan.feature] - fitted[plan.feature] if dummy else None
                        ),
                    )
                )
    # One noise-free dummy outcome per feature, E[y | controls] alone: its standard error is
    # the sampling noise that all dummy simulations share (see _test).
    slow_plans = [p for p in plans if p.feature not in fast.simulations]
    for plan in slow_plans:
        dummy_seed = plan.seeds[dummy_index]
        tasks.append(
            _Task(
                feature=plan.feature,
                refuter="dummy_outcome",
                frame=plan.frame,
                kinds=kinds,
                outcome=checked.outcome,
                identification=plan.effect.identification,
                seed=np.random.SeedSequence(int(dummy_seed.generate_state(4)[3])),
                n_folds=n_folds,
                nuisance=nuisance,
                fitted_outcome=fitted[plan.feature],
                reference=True,
            )
        )
    results = _map(_run_task, tasks, n_jobs=n_jobs, backend=backend, progress=progress)
    references = dict(fast.references)
    if slow_plans:
        references.update(
            zip((p.feature for p in slow_plans), results[-len(slow_plans) :], strict=True)
        )
        results = results[: -len(slow_plans)]

    # Statistics per refuter, then one Benjamini-Hochberg step over the whole report.
    raw: list[tuple[str, str, np.ndarray, _Test | None, str]] = []
    position = 0
    for plan in plans:
        estimate = plan.effect.estimate
        assert estimate is not None
        if plan.feature in fast.simulations:
            block = fast.simulations[plan.feature]
        else:
            block = results[position : position + simulations * len(REFUTERS)]
            position += simulations * len(REFUTERS)
        by_refuter = {
            refuter: block[i * simulations : (i + 1) * simulations]
            for i, refuter in enumerate(REFUTERS)
        }
        rcc = np.array([v for v, _, _ in by_refuter["random_common_cause"]], dtype=float)
        rcc = rcc[np.isfinite(rcc)]
        noise = _spread(rcc)
        for refuter in REFUTERS:
            values = np.array([v for v, _, _ in by_refuter[refuter]], dtype=float)
            stderrs = np.array([se for _, se, _ in by_refuter[refuter]], dtype=float)
            usable = values[np.isfinite(values)]
            errors = [e for _, _, e in by_refuter[refuter] if e]
            if len(usable) < max(2, math.ceil(_MIN_USABLE * simulations)):
                reason = errors[0] if errors else "too few finite estimates"
                note = (
                    f"could not be run: {len(values) - len(usable)} of {len(values)} "
                    f"re-estimations failed ({reason})"
                )
                raw.append((plan.feature, refuter, values, None, note))
                continue
            test = _test(
                refuter,
                usable,
                stderrs[np.isfinite(values)],
                estimate.estimate,
                estimate.stderr,
                noise,
                len(rcc),
                shared=references[plan.feature][1],
                refitted=plan.feature not in fast.simulations,
                placebo_sd=fast.placebo_sd.get(plan.feature, math.nan),
            )
            note = ""
            if errors:
                note = f"; {len(errors)} of {len(values)} re-estimations failed ({errors[0]})"
            raw.append((plan.feature, refuter, values, test, note))

    p_values = np.array([t.p_value if t is not None else math.nan for *_, t, _ in raw])
    adjusted = np.full(len(raw), math.nan)
    finite = np.isfinite(p_values)
    if finite.any():
        from statsmodels.stats.multitest import multipletests

        adjusted[finite] = multipletests(p_values[finite], alpha=alpha, method="fdr_bh")[1]

    by_feature: dict[str, list[RefutationResult]] = {p.feature: [] for p in plans}
    originals = {p.feature: p.effect.estimate.estimate for p in plans}  # type: ignore[union-attr]
    for (feature, refuter, values, test, note), p, p_adj in zip(
        raw, p_values, adjusted, strict=True
    ):
        original = float(originals[feature])
        by_feature[feature].append(
            RefutationResult(
                name=refuter,
                feature=feature,
                original=original,
                distribution=values,
                p_value=float(p),
                p_adjusted=float(p_adj),
                passed=bool(np.isfinite(p_adj) and p_adj >= alpha),
                detail=(test.detail if test is not None else "") + note,
                expected=(
                    test.expected
                    if test is not None
                    else (0.0 if refuter in ("placebo_treatment", "dummy_outcome") else original)
                ),
            )
        )
    return Refutations(
        by_feature={k: tuple(v) for k, v in by_feature.items()},
        sensitivity=sensitivity,
        depth=depth,
        alpha=alpha,
        simulations=simulations,
        refit=bool(refit),
    )


def _expand_categoricals(checked: CheckedData, effects: Effects) -> tuple[CheckedData, Effects]:
    """The refutation stage's inputs, with categorical columns as the estimates used them.

    Categorical controls, mediators and instruments become one 0/1 column per non-reference
    level (as in the estimation). A categorical treatment's per-level estimates are not
    refuted (the refuters challenge one effect per feature): it is handed over as not
    estimated, and its report row has no refutations.
    """
    categorical = [n for n in checked.observed if checked.kinds.get(n) == "categorical"]
    if not categorical:
        return checked, effects
    frame = checked.frame.copy()
    kinds = dict(checked.kinds)
    dummies: dict[str, tuple[str, ...]] = {}
    for name in categorical:
        labels, reference = checked.level_codes(name)
        names = []
        for code, label in enumerate(labels):
            if code == reference:
                continue
            column = f"{name}={label}"
            while column in frame.columns:
                column += "_"
            frame[column] = (checked.frame[name] == code).astype("float64")
            kinds[column] = "binary"
            names.append(column)
        dummies[name] = tuple(names)

    def expand(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(column for name in names for column in dummies.get(name, (name,)))

    by_feature = {}
    for feature, effect in effects.by_feature.items():
        ident = effect.identification
        ident = replace(
            ident,
            adjustment_set=expand(ident.adjustment_set),
            mediators=expand(ident.mediators),
            instruments=expand(ident.instruments),
        )
        status = effect.status
        if status == "estimated" and checked.kinds.get(feature) == "categorical":
            status = "not_refuted"
        by_feature[feature] = replace(effect, identification=ident, status=status)
    return (
        replace(checked, frame=frame, kinds=kinds),
        replace(effects, by_feature=by_feature),
    )


def _map(
    function, items: Sequence, *, n_jobs: int | None, backend: str | None, progress: bool = False
) -> list:
    """``function`` over ``items`` with joblib, results in the order of ``items``."""
    return run_parallel(
        function,
        items,
        n_jobs=n_jobs,
        backend=backend,
        progress=progress,
        desc="refutations",
        unit="fit",
    )


def _used_columns(effect: FeatureEffect, outcome: str) -> list[str]:
    ident = effect.identification
    columns = [outcome, effect.feature, *ident.adjustment_set, *ident.instruments, *ident.mediators]
    return list(dict.fromkeys(columns))
