"""The five refuters, one class each, and the registry that fixes their order.

A refuter owns everything that makes it that refuter:

- :meth:`Refuter.perturb`: the perturbation of the data before a full re-estimation (the
  re-fitting path, :mod:`causalinterp.refute.simulation`);
- :meth:`Refuter.fast`: the same perturbation applied to the final stage of a back-door fit
  whose cross-fitted nuisances are reused (the fast path, :mod:`causalinterp.refute.fast`);
- :meth:`Refuter.test`: the p-value and detail sentence of its simulated estimates;
- :meth:`Refuter.expected`: the value those estimates centre on when the effect is sound.

Adding a refuter: subclass :class:`Refuter`, add its name to
:class:`~causalinterp.refute.results.RefuterName` and an instance to :data:`REGISTRY`. Appending
keeps every existing seed; inserting shifts the seeds of the refuters after it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from causalinterp.refute.names import RefuterName
from causalinterp.refute.tests import (
    Evidence,
    Outcome,
    centred_at_zero,
    shift_in_se,
    shift_test,
    spread,
    spread_test,
)

if TYPE_CHECKING:
    from causalinterp.estimate._dowhy import Identification
    from causalinterp.refute.fast import FastInputs
    from causalinterp.refute.simulation import Task

#: Share of the rows kept by each ``data_subset`` simulation.
SUBSET_FRACTION = 0.8

Perturbed = tuple[pd.DataFrame, Mapping[str, str], "Identification"]


class Refuter:
    """One way of challenging an estimated effect.

    ``null_is_zero`` says what a sound effect gives under the challenge: True when the
    challenge removes the effect (placebo treatment, dummy outcome; expected 0), False when it
    leaves it in place (expected: the original estimate).
    """

    name: ClassVar[RefuterName]
    null_is_zero: ClassVar[bool] = False

    def expected(self, original: float) -> float:
        """The value the simulated estimates centre on when the effect is sound."""
        return 0.0 if self.null_is_zero else float(original)

    def perturb(self, task: Task, rng: np.random.Generator) -> Perturbed:
        """The data, kinds and identification one re-fitting simulation estimates from."""
        raise NotImplementedError

    def fast(self, inputs: FastInputs, rng: np.random.Generator) -> tuple[float, float]:
        """One simulation on the reused nuisances' final stage: (estimate, standard error).

        The caller adds the kept fit's shift to the original when :attr:`null_is_zero` is
        False (see :func:`causalinterp.refute.fast.simulate`).
        """
        raise NotImplementedError

    def test(self, evidence: Evidence) -> Outcome:
        """The p-value for "the claim survives this challenge" and its detail sentence."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ------------------------------------------------------------------ effect removed: expect 0


class _ZeroNull(Refuter):
    """Challenges that remove the effect: the simulated estimates should centre on 0."""

    null_is_zero = True
    #: How the detail sentence names the simulated effect.
    what: ClassVar[str]

    def _fixed_variance(self, evidence: Evidence) -> float:
        return 0.0

    def _known_sd(self, evidence: Evidence) -> float:
        return math.nan

    def test(self, evidence: Evidence) -> Outcome:
        se = evidence.se
        p, mean, sem = centred_at_zero(
            evidence.values,
            self._fixed_variance(evidence),
            se if math.isfinite(se) else 0.0,
            self._known_sd(evidence),
        )
        detail = (
            f"mean {self.what} effect {mean:.4g} (s.e. {sem:.3g}, {len(evidence.values)} "
            f"simulations) against the original {evidence.original:.4g}; expected 0"
        )
        return Outcome(p, detail)


class PlaceboTreatment(_ZeroNull):
    """The treatment permuted across rows: no effect can remain."""

    name = RefuterName.PLACEBO_TREATMENT
    what = "placebo treatment"

    def perturb(self, task: Task, rng: np.random.Generator) -> Perturbed:
        frame = task.frame.copy()
        # Instruments move with the treatment: permuting the treatment alone would remove the
        # first stage and leave an IV ratio without a finite mean.
        block = [task.feature, *task.identification.instruments]
        frame[block] = frame[block].to_numpy()[rng.permutation(len(frame))]
        return frame, task.kinds, task.identification

    def fast(self, inputs: FastInputs, rng: np.random.Generator) -> tuple[float, float]:
        return inputs.stage.placebo(rng.permutation(inputs.t))

    def _known_sd(self, evidence: Evidence) -> float:
        return evidence.placebo_sd


class DummyOutcome(_ZeroNull):
    """The outcome replaced by its dependence on the controls plus noise: true effect 0."""

    name = RefuterName.DUMMY_OUTCOME
    what = "dummy outcome"

    @staticmethod
    def draw(
        fitted: np.ndarray, residuals: np.ndarray | None, rng: np.random.Generator
    ) -> np.ndarray:
        """One dummy outcome around its systematic part ``fitted``.

        A binary outcome (``residuals`` None) is a fresh Bernoulli(fitted) draw; a continuous
        one is ``fitted`` plus the residuals permuted, so that its noise keeps their
        distribution and is independent of the rows.
        """
        if residuals is None:
            return (rng.random(len(fitted)) < fitted).astype(float)
        return fitted + rng.permutation(residuals)

    def perturb(self, task: Task, rng: np.random.Generator) -> Perturbed:
        kinds = task.kinds
        fitted = task.fitted_outcome
        assert fitted is not None
        if task.reference:
            # The systematic part alone, on the probability scale for a binary outcome.
            dummy = fitted
            kinds = {**kinds, task.outcome: "continuous"}
        else:
            binary = kinds[task.outcome] == "binary"
            assert binary or task.dummy_residuals is not None
            dummy = self.draw(fitted, None if binary else task.dummy_residuals, rng)
        return task.frame.assign(**{task.outcome: dummy}), kinds, task.identification

    def fast(self, inputs: FastInputs, rng: np.random.Generator) -> tuple[float, float]:
        noise = self.draw(inputs.fitted, inputs.residuals, rng) - inputs.fitted
        return inputs.stage.dummy(inputs.fitted_res + noise - noise.mean())

    def _fixed_variance(self, evidence: Evidence) -> float:
        # Every dummy outcome shares E[y | controls]; its contribution to the dummy estimate is
        # one draw of sampling noise that averaging over simulations cannot remove. Its
        # variance is that of the noise-free fit; failing that, what the fits' own standard
        # errors hold beyond the simulation spread.
        if math.isfinite(evidence.shared):
            return evidence.shared**2
        finite = evidence.stderrs[np.isfinite(evidence.stderrs)]
        if len(finite):
            return max(0.0, float(np.mean(finite**2)) - spread(evidence.values) ** 2)
        return 0.0


# ------------------------------------------------------- effect kept: expect the original


class RandomCommonCause(Refuter):
    """An independent random column added to the controls: the estimate should not move."""

    name = RefuterName.RANDOM_COMMON_CAUSE

    def perturb(self, task: Task, rng: np.random.Generator) -> Perturbed:
        frame, identification = task.frame, task.identification
        name = _fresh_name(frame.columns)
        frame = frame.assign(**{name: rng.standard_normal(len(frame))})
        identification = replace(
            identification, adjustment_set=(*identification.adjustment_set, name)
        )
        return frame, {**task.kinds, name: "continuous"}, identification

    def fast(self, inputs: FastInputs, rng: np.random.Generator) -> tuple[float, float]:
        return inputs.stage.common_cause(rng.standard_normal(len(inputs.t)))

    def test(self, evidence: Evidence) -> Outcome:
        values, original = evidence.values, evidence.original
        mean = float(values.mean())
        # The original is one more draw of the re-estimates: its noise is their spread.
        p, _ = shift_test(values, original, evidence.se0, evidence.original_noise, len(values))
        detail = (
            f"mean estimate with a random common cause {mean:.4g} against the original "
            f"{original:.4g} (shift {shift_in_se(mean, evidence)}; re-estimation spread "
            f"{spread(values):.3g}); expected unchanged"
        )
        return Outcome(p, detail)


class DataSubset(Refuter):
    """The effect re-estimated on random subsets of the rows: it should not move."""

    name = RefuterName.DATA_SUBSET

    def perturb(self, task: Task, rng: np.random.Generator) -> Perturbed:
        keep = _subset(len(task.frame), rng)
        return task.frame.iloc[keep].reset_index(drop=True), task.kinds, task.identification

    def fast(self, inputs: FastInputs, rng: np.random.Generator) -> tuple[float, float]:
        return inputs.stage.estimate(_subset(len(inputs.t), rng))

    def test(self, evidence: Evidence) -> Outcome:
        values, original, se = evidence.values, evidence.original, evidence.se
        p, _ = shift_test(
            values, original, evidence.se0, evidence.original_noise, evidence.noise_sims
        )
        mean, s = float(values.mean()), spread(values)
        expected_spread = se * math.sqrt((1.0 - SUBSET_FRACTION) / SUBSET_FRACTION)
        detail = (
            f"mean estimate on {SUBSET_FRACTION:.0%} subsets {mean:.4g} against the original "
            f"{original:.4g} (shift {shift_in_se(mean, evidence)}); subset spread {s:.3g} "
            f"against {expected_spread:.3g} expected from the standard error "
            f"(ratio {s / expected_spread:.2f}); expected unchanged"
        )
        return Outcome(p, detail)


class Bootstrap(Refuter):
    """Resampled rows: centred on the original, no wider than its standard error allows."""

    name = RefuterName.BOOTSTRAP

    def perturb(self, task: Task, rng: np.random.Generator) -> Perturbed:
        # Half-samples without replacement rather than resamples with it: cross-fitting would
        # put copies of a row on both sides of a fold split, and flexible nuisances fitting
        # those rows' noise move both the centre and the spread of the re-fits (measured).
        # A half-sample's estimate differs from the full-data one by the full-data standard
        # error (Var = SE^2 (n/m - 1) = SE^2 at m = n/2), the bootstrap's own yardstick.
        n = len(task.frame)
        keep = np.sort(rng.choice(n, size=max(2, n // 2), replace=False))
        return task.frame.iloc[keep].reset_index(drop=True), task.kinds, task.identification

    def fast(self, inputs: FastInputs, rng: np.random.Generator) -> tuple[float, float]:
        # The nuisances are fixed, so a resample with replacement is the double ML bootstrap
        # of the orthogonal scores.
        n = len(inputs.t)
        return inputs.stage.estimate(rng.integers(0, n, size=n))

    def test(self, evidence: Evidence) -> Outcome:
        values, original, se = evidence.values, evidence.original, evidence.se
        noise = evidence.original_noise
        p_centre, _ = shift_test(values, original, evidence.se0, noise, evidence.noise_sims)
        # Re-fitted simulations are half-samples (see perturb): their fits carry twice the
        # re-estimation variance of a full-data fit.
        scale = 2.0 if evidence.refitted else 1.0
        reference = math.sqrt(se**2 + scale * noise**2) if evidence.se0 else math.nan
        p_spread = spread_test(values, reference)
        p = min(1.0, 2.0 * min(p_centre, p_spread)) if math.isfinite(p_spread) else p_centre
        mean, s = float(values.mean()), spread(values)
        what = "half-sample" if evidence.refitted else "bootstrap"
        detail = (
            f"mean {what} estimate {mean:.4g} against the original {original:.4g} "
            f"(shift {shift_in_se(mean, evidence)}, p = {p_centre:.3g}); {what} standard "
            f"error {s:.3g} against the analytic {se:.3g} (ratio {s / se:.2f}, "
            f"p = {p_spread:.3g}); expected unchanged"
        )
        if evidence.refitted and evidence.learners:
            # Which learners the spread is that of: a pass says they refit stably.
            detail += f"; re-fitted with the learners chosen for the data ({evidence.learners})"
        return Outcome(p, detail)


def _subset(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``SUBSET_FRACTION`` of the rows ``0..n-1``, in increasing order."""
    # The rows marked and read back in order: the set numpy draws (shuffle=False draws the
    # same set without shuffling it), sorted without a sort.
    size = max(2, round(SUBSET_FRACTION * n))
    keep = np.zeros(n, dtype=bool)
    keep[rng.choice(n, size=size, replace=False, shuffle=False)] = True
    return np.flatnonzero(keep)


def _fresh_name(columns: pd.Index) -> str:
    name = "random common cause"
    while name in columns:
        name += "_"
    return name


#: Every refuter by name, in :class:`RefuterName` order (which fixes their random seeds).
REGISTRY: Mapping[RefuterName, Refuter] = {
    refuter.name: refuter
    for refuter in (
        PlaceboTreatment(),
        RandomCommonCause(),
        DataSubset(),
        Bootstrap(),
        DummyOutcome(),
    )
}
assert tuple(REGISTRY) == tuple(RefuterName), "REGISTRY must follow RefuterName's order"

#: Refuter names, in the fixed order that also fixes their random seeds.
REFUTERS: tuple[RefuterName, ...] = tuple(REGISTRY)
