"""The statistical tests the refuters share (formulas in ``docs/refutation.md``).

Each refuter (:mod:`causalinterp.refute.refuters`) picks one of these for its simulated
estimates; what they all need to know is bundled in :class:`Evidence`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Spreads below this share of the standard error count as zero (deterministic estimators).
SPREAD_FLOOR = 0.01
#: When every simulation re-fits the nuisances, the original estimate is taken to carry at
#: least this share of its standard error as re-estimation (cross-fitting) noise.
ORIGINAL_NOISE_FLOOR = 0.25


@dataclass(frozen=True)
class Evidence:
    """One refuter's simulated estimates and what they are judged against.

    ``noise`` is the spread of the random-common-cause re-estimates (``noise_sims`` of them),
    the reference for the original estimate's own re-estimation noise; ``refitted`` says the
    simulations re-fitted the nuisances (so that noise is at least a floor, see
    docs/refutation.md). ``shared`` is the standard error of the noise-free dummy outcome fit.
    ``placebo_sd``, when finite, is the exact spread of one placebo simulation (fast path).
    """

    values: np.ndarray
    stderrs: np.ndarray
    original: float
    stderr: float
    noise: float
    noise_sims: int
    shared: float = math.nan
    refitted: bool = True
    placebo_sd: float = math.nan
    #: The learners the re-fits used, when ``nuisance="auto"`` chose them (one line).
    learners: str = ""

    @property
    def se(self) -> float:
        """The original's standard error, NaN when it is not a positive number."""
        stderr = self.stderr
        return stderr if math.isfinite(stderr) and stderr > 0 else math.nan

    @property
    def se0(self) -> float:
        """:attr:`se`, 0 when unknown."""
        return self.se if math.isfinite(self.se) else 0.0

    @property
    def original_noise(self) -> float:
        """The original's re-estimation noise, floored when the simulations re-fitted.

        Cross-fitting noise in re-fitted estimates is occasionally heavy-tailed; the original
        is one draw of it, so below a floor its spread is not trusted.
        """
        if self.refitted:
            return max(self.noise, ORIGINAL_NOISE_FLOOR * self.se0)
        return self.noise


@dataclass(frozen=True)
class Outcome:
    """A test's p-value for the null "the claim survives", and the sentence behind it."""

    p_value: float
    detail: str


def spread(values: np.ndarray) -> float:
    """Sample standard deviation, 0 for fewer than two values."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def t_p(statistic: float, dof: float) -> float:
    """Two-sided p-value of a t statistic (0 for an infinite one)."""
    if not math.isfinite(statistic):
        return 0.0 if math.isinf(statistic) else math.nan
    return float(2.0 * stats.t.sf(abs(statistic), max(dof, 1.0)))


def centred_at_zero(
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
    sd = known_sd if known else max(spread(values), SPREAD_FLOOR * stderr)
    sem = math.sqrt(sd**2 / b + fixed_variance)
    statistic = mean / sem if sem > 0 else (0.0 if mean == 0 else math.inf)
    return t_p(statistic, math.inf if known else b - 1), mean, sem


def shift_test(
    values: np.ndarray, original: float, stderr: float, noise: float, noise_sims: int
) -> tuple[float, float]:
    """Welch-type test of mean(values) = original when the original has re-estimation noise.

    ``noise`` is the standard deviation of a re-estimate of the original on the same data
    (from the random-common-cause refits), estimated from ``noise_sims`` simulations.
    Returns (p-value, t-statistic).
    """
    b = len(values)
    s = max(spread(values), SPREAD_FLOOR * stderr)
    a, c = s**2 / b, noise**2
    total = a + c
    if total <= 0:
        return (1.0 if values.mean() == original else 0.0), math.nan
    statistic = (float(values.mean()) - original) / math.sqrt(total)
    denominator = a**2 / max(b - 1, 1) + (c**2 / (noise_sims - 1) if noise_sims > 1 else 0.0)
    dof = total**2 / denominator if denominator > 0 else math.inf
    return t_p(statistic, dof), statistic


def spread_test(values: np.ndarray, reference: float) -> float:
    """One-sided chi-square p-value of "the spread of ``values`` is at most ``reference``"."""
    b = len(values)
    if b > 1 and math.isfinite(reference) and reference > 0:
        return float(stats.chi2.sf((b - 1) * spread(values) ** 2 / reference**2, b - 1))
    return math.nan


def shift_in_se(mean: float, evidence: Evidence) -> str:
    """How far ``mean`` lies from the original, in standard errors, for a detail sentence."""
    se = evidence.se
    return f"{(mean - evidence.original) / se:+.2f} standard errors" if math.isfinite(se) else "n/a"
