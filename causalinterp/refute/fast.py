"""The fast path: refuting a back-door effect on the original fit's cross-fitted nuisances.

A back-door effect is the final stage of a cross-fitted estimator whose nuisance fits each
refuter changes only in part; the fits it does not change are reused (docs/performance.md
argues each case). Two final stages:

- continuous treatment, LinearDML: the least-squares slope of y~ = y - E[y|w] on
  t~ = t - E[t|w] (:class:`PartiallyLinearStage`);
- binary treatment, LinearDRLearner: the mean of the doubly robust scores
  psi = y1 - y0 + t (y - y1)/p - (1 - t)(y - y0)/(1 - p) (:class:`DoublyRobustStage`).

Per refuter (each class's :meth:`~causalinterp.refute.refuters.Refuter.fast`):

- placebo treatment: a permuted treatment is independent of (w, y): its nuisance is the
  constant mean(t) (the share treated) and the outcome model is E[y|w];
- random common cause: an independent column u enters the nuisances with a population
  coefficient of zero; its finite-sample coefficients are one least-squares step in u
  (Frisch-Waugh-Lovell: exact for the slope) and, for a logistic propensity, one Newton step;
- data subset / bootstrap: the final stage on the subset / resample of rows, nuisances fixed
  (the double ML bootstrap of the orthogonal scores);
- dummy outcome: dummy = f(w) + noise with f = E[y - effect * t | w] from a flexible fit; the
  estimator's outcome model recovers g = its cross-fitted fit of one such dummy (one fit per
  feature, to f plus one draw of the noise, as a re-fit sees it), each simulation's noise is
  independent of w and the true effect is 0: the final stage applied to f - g + noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from causalinterp._progress import Lazy
from causalinterp.estimate import _econml
from causalinterp.estimate._subsample import capped_folds, subsample_rows, subsampled_nuisance
from causalinterp.refute.names import RefuterName
from causalinterp.refute.refuters import REFUTERS, REGISTRY, DummyOutcome
from causalinterp.refute.simulation import Plan, Simulated, columns, learners_of, parallel_map

if TYPE_CHECKING:
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects, FeatureEffect


def eligible(effect: FeatureEffect, kinds: Mapping[str, str], frame: pd.DataFrame) -> bool:
    """Whether ``effect`` can be refuted on its final stage (back-door, 20 rows or more)."""
    return (
        effect.identification.strategy == "backdoor"
        and kinds.get(effect.feature) in ("continuous", "binary")
        and len(frame) >= 20
    )


def final_stage(y_res: np.ndarray, t_res: np.ndarray) -> tuple[float, float]:
    """LinearDML's final stage: slope through the origin and its HC1 standard error."""
    d = float(t_res @ t_res)
    n = len(y_res)
    if not (d > 0) or n < 3:
        return math.nan, math.nan
    theta = float(y_res @ t_res) / d
    e = y_res - theta * t_res
    se = math.sqrt(float((t_res * t_res) @ (e * e)) * n / (n - 1)) / d
    return theta, se


def mean_and_se(scores: np.ndarray) -> tuple[float, float]:
    """LinearDRLearner's final stage without effect modifiers: the mean score and its s.e."""
    n = len(scores)
    if n < 3 or not np.all(np.isfinite(scores)):
        return math.nan, math.nan
    return float(scores.mean()), float(scores.std(ddof=1) / math.sqrt(n))


def permutation_sd(treatment: np.ndarray, weights: np.ndarray) -> float:
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
class PartiallyLinearStage:
    """LinearDML's final stage on the original fit's residuals (continuous treatment)."""

    y_res: np.ndarray
    t_res: np.ndarray

    def estimate(self, rows: np.ndarray | None = None) -> tuple[float, float]:
        if rows is None:
            return final_stage(self.y_res, self.t_res)
        return final_stage(self.y_res[rows], self.t_res[rows])

    def placebo(self, treatment: np.ndarray) -> tuple[float, float]:
        return final_stage(self.y_res, treatment - treatment.mean())

    def placebo_sd(self, treatment: np.ndarray) -> float:
        # slope = sum(y~ * (t_perm - mean t)) / sum((t - mean t)^2), the denominator fixed.
        centred = float(((treatment - treatment.mean()) ** 2).sum())
        return permutation_sd(treatment, self.y_res / centred) if centred > 0 else math.nan

    def common_cause(self, u: np.ndarray) -> tuple[float, float]:
        u = u - u.mean()
        uu = float(u @ u)
        return final_stage(
            self.y_res - (float(self.y_res @ u) / uu) * u,
            self.t_res - (float(self.t_res @ u) / uu) * u,
        )

    def dummy(self, outcome_res: np.ndarray) -> tuple[float, float]:
        return final_stage(outcome_res, self.t_res)


@dataclass(frozen=True)
class DoublyRobustStage:
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
        return mean_and_se(self._scores if rows is None else self._scores[rows])

    def placebo(self, treatment: np.ndarray) -> tuple[float, float]:
        share = float(treatment.mean())
        if not 0.0 < share < 1.0:
            return math.nan, math.nan
        residual = self._placebo_residual
        return mean_and_se(
            treatment * residual / share - (1.0 - treatment) * residual / (1.0 - share)
        )

    def placebo_sd(self, treatment: np.ndarray) -> float:
        # mean score = sum(r * (t_perm - share)) / (n share (1 - share)), the share fixed.
        share, n = float(treatment.mean()), len(treatment)
        if not 0.0 < share < 1.0:
            return math.nan
        return permutation_sd(treatment, self._placebo_residual / (n * share * (1.0 - share)))

    def common_cause(self, u: np.ndarray) -> tuple[float, float]:
        nuisances = self.nuisances
        t, p = nuisances.t, nuisances.propensity
        u = u - u.mean()
        residual = self._observed_residual
        residual = residual - (float(u @ residual) / float(u @ u)) * u
        newton = float(u @ (t - p)) / float((p * (1.0 - p)) @ (u * u))
        bound = _econml.MIN_PROPENSITY
        shifted = np.clip(1.0 / (1.0 + np.exp(-(self._logit + newton * u))), bound, 1.0 - bound)
        return mean_and_se(
            nuisances.y1
            - nuisances.y0
            + t * residual / shifted
            - (1.0 - t) * residual / (1.0 - shifted)
        )

    def dummy(self, outcome_res: np.ndarray) -> tuple[float, float]:
        t, p = self.nuisances.t, self.nuisances.propensity
        return mean_and_se(t * outcome_res / p - (1.0 - t) * outcome_res / (1.0 - p))


FinalStage = PartiallyLinearStage | DoublyRobustStage


def nuisances_task(args: tuple) -> _econml.BackdoorNuisances | None:
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


def crossfit_task(args: tuple) -> np.ndarray:
    target, w, kind, seed, n_folds, nuisance = args
    with threadpool_limits(limits=1):
        return _econml.cross_fitted(
            target, w, kind=kind, seed=seed, n_folds=n_folds, nuisance=nuisance
        )


@dataclass(frozen=True)
class FastInputs:
    """What every fast simulation of one feature shares."""

    stage: FinalStage
    #: The treatment.
    t: np.ndarray
    #: The dummy outcome's systematic part, f = E[y - effect * t | w].
    fitted: np.ndarray
    #: What the dummy outcome's noise is drawn from: the residuals y - effect * t - f of a
    #: continuous outcome, None for a binary one (see ``DummyOutcome.draw``).
    residuals: np.ndarray | None
    #: f - g, with g the estimator's outcome model's cross-fit of one dummy outcome.
    fitted_res: np.ndarray
    #: The original estimate minus the kept fit's final stage (0 when they are the same fit).
    shift: float


@dataclass(frozen=True)
class FastResults:
    """What the fast path computed, per feature."""

    #: ``simulations`` (estimate, stderr, error) triples per (feature, refuter).
    simulations: dict[tuple[str, str], list[Simulated]] = field(default_factory=dict)
    #: The dummy outcome without its own noise (the final stage on f - g), per feature.
    references: dict[str, Simulated] = field(default_factory=dict)
    #: The exact standard deviation of one placebo simulation (its permutation distribution).
    placebo_sd: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> frozenset[str]:
        """The features the fast path refuted."""
        return frozenset(self.references)


def run_fast(
    plans: Sequence[Plan],
    *,
    checked: CheckedData,
    effects: Effects,
    kinds: Mapping[str, str],
    fitted: Mapping[str, np.ndarray],
    base: Mapping[str, np.ndarray],
    simulations: int,
    n_jobs: int | None,
    backend: str | None,
) -> FastResults:
    """Every simulation of every refuter for the plans that reuse their nuisance fits.

    Features whose nuisances cannot be had are left out (they go through the re-fitting
    path). The nuisance specification and folds are those ``effects`` were estimated with.
    """
    result = FastResults()
    if not plans:
        return result
    outcome = checked.outcome
    nuisance, n_folds = effects.nuisance, effects.n_folds
    cached = getattr(effects, "nuisances", {}) or {}
    missing = [p for p in plans if p.feature not in cached]
    # Seed streams: seeds[0] is the placebo's; its states 1 and 2 seed the two fits made here
    # (a feature's nuisances when they were not kept, and its outcome model E[y | w]).
    refitted = parallel_map(
        nuisances_task,
        [
            (
                p.frame[outcome].to_numpy(dtype=float),
                p.frame[p.feature].to_numpy(dtype=float),
                columns(p.frame, p.controls),
                kinds[p.feature],
                kinds[outcome],
                int(p.seeds[0].generate_state(2)[1] >> 1),
                n_folds,
                learners_of(p.effect, nuisance),
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

    def capped(plan: Plan, learners: _econml.Nuisance) -> tuple[int, _econml.Nuisance]:
        # The outcome model on as many rows as the effect's own (the rule counts the
        # treatment among the columns the learners see), and its folds: when those rows
        # are a cap, two folds fit the same learners as the estimate's n_folds, fewer times.
        n, columns_seen = len(plan.frame), 1 + len(plan.controls)
        rows = subsample_rows(n, columns_seen, effects.nuisance_rows)
        return capped_folds(n, rows, n_folds), subsampled_nuisance(
            learners, n, columns_seen, effects.nuisance_rows
        )

    # One batch of cross-fits: what the estimator's outcome model recovers of each dummy's
    # systematic part, and each binary treatment's E[y | w] for its placebo. The outcome
    # model is fitted to one dummy outcome, noise included, as a re-fit would fit it: fitted
    # to the systematic part alone it would learn that part more closely than any re-fit can
    # (its boosting never stops early on a noise-free target) and hide the learner's bias
    # that the refuter exists to show. Each simulation then draws its own noise.
    dummy_index = REFUTERS.index(RefuterName.DUMMY_OUTCOME)
    binary_outcome = kinds[outcome] == "binary"
    residuals = {
        p.feature: None if binary_outcome else base[p.feature] - fitted[p.feature] for p in plans
    }

    def dummy_job(plan: Plan) -> tuple:
        return (
            DummyOutcome.draw(
                fitted[plan.feature],
                residuals[plan.feature],
                np.random.default_rng(plan.seeds[dummy_index].generate_state(3)[2]),
            ),
            columns(plan.frame, plan.controls),
            kinds[outcome],
            int(plan.seeds[dummy_index].generate_state(2)[1] >> 1),
            *capped(plan, learners_of(plan.effect, nuisance)),
        )

    def outcome_job(plan: Plan) -> tuple:
        return (
            plan.frame[outcome].to_numpy(dtype=float),
            columns(plan.frame, plan.controls),
            kinds[outcome],
            int(plan.seeds[0].generate_state(3)[2] >> 1),
            *capped(plan, learners_of(plan.effect, nuisance)),
        )

    # Built as the workers take them: each holds a dummy and the controls, n rows apiece.
    jobs = [(dummy_job, p) for p in plans] + [(outcome_job, p) for p in doubly_robust]
    crossfits = parallel_map(
        crossfit_task, Lazy(jobs, lambda job: job[0](job[1])), n_jobs=n_jobs, backend=backend
    )
    recovered_by = dict(zip((p.feature for p in plans), crossfits[: len(plans)], strict=True))
    outcome_mean = dict(
        zip((p.feature for p in doubly_robust), crossfits[len(plans) :], strict=True)
    )

    jobs = []
    for plan in plans:
        kept = nuisances[plan.feature]
        stage: FinalStage
        if isinstance(kept, _econml.DoublyRobustNuisances):
            stage = DoublyRobustStage(kept, outcome_mean[plan.feature])
        else:
            stage = PartiallyLinearStage(
                np.asarray(kept.y_res, dtype=float), np.asarray(kept.t_res, dtype=float)
            )
        theta_r, _ = stage.estimate()
        original = float(plan.effect.estimate.estimate)  # type: ignore[union-attr]
        # Re-fits centre on the original estimate; the kept fit's final stage equals it
        # exactly when it is the original fit, and differs by cross-fitting noise otherwise.
        inputs = FastInputs(
            stage=stage,
            t=plan.frame[plan.feature].to_numpy(dtype=float),
            fitted=fitted[plan.feature],
            residuals=residuals[plan.feature],
            fitted_res=fitted[plan.feature] - recovered_by[plan.feature],
            shift=original - theta_r if math.isfinite(theta_r) else 0.0,
        )
        jobs.append((inputs, plan.seeds, simulations))
    # Features in parallel: on large data each simulation is a few passes over every row.
    done = parallel_map(_simulate_feature, jobs, n_jobs=n_jobs, backend=backend)
    for plan, (by_refuter, reference, placebo_sd) in zip(plans, done, strict=True):
        for refuter, values in by_refuter.items():
            result.simulations[plan.feature, refuter] = values
        result.references[plan.feature] = reference
        result.placebo_sd[plan.feature] = placebo_sd
    return result


def _simulate_feature(
    args: tuple[FastInputs, Sequence[np.random.SeedSequence], int],
) -> tuple[dict[str, list[Simulated]], Simulated, float]:
    """Every refuter's simulations of one feature, its noise-free dummy outcome and the
    placebo's exact spread (seeded per refuter and simulation: independent of ``n_jobs``)."""
    inputs, seeds, simulations = args
    with threadpool_limits(limits=1):
        by_refuter = {
            refuter: [simulate(refuter, inputs, s) for s in refuter_seed.spawn(simulations)]
            for refuter, refuter_seed in zip(REFUTERS, seeds, strict=True)
        }
        systematic = inputs.fitted_res - inputs.fitted_res.mean()
        reference = (*inputs.stage.dummy(systematic), "")
        return by_refuter, reference, inputs.stage.placebo_sd(inputs.t)


def simulate(refuter: str, inputs: FastInputs, seed: np.random.SeedSequence) -> Simulated:
    """One simulation of ``refuter`` on the final stage (see the module docstring)."""
    data_seed, _ = seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    challenge = REGISTRY[refuter]
    theta, se = challenge.fast(inputs, rng)
    if not math.isfinite(theta):
        return math.nan, math.nan, "EstimationError: the final stage has no finite estimate"
    # Refuters that keep the effect centre on the original; the kept fit may differ from it.
    shift = 0.0 if challenge.null_is_zero else inputs.shift
    return theta + shift, se, ""
