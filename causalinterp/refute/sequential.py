"""Re-fitting simulations that stop when the verdict is decided or the time budget is spent.

The re-fitting path runs each refuter's simulations in two rounds (all features and refuters
together in each round, so every worker stays busy): the first half, then an interim look at
each refuter's test, then the rest for the refuters still undecided. A refuter is decided at
the interim look when

- its p-value is above :data:`FUTILITY_P`: it passes. Stopping to accept is *non-binding
  futility stopping*: it can only turn a failure into a pass, never the reverse, so the
  report-wide false discovery rate of failures is not inflated. It costs power only when a
  p-value above 0.5 at half the simulations would have fallen below the corrected level at
  all of them, which for the shift, spread and mean tests used here needs the second half to
  contradict the first by several of its own standard errors;
- its p-value is below :data:`EARLY_FAIL_P`: it fails (the Haybittle-Peto boundary: a
  stop for failure only at p < 0.001 at the interim look, the final look at the nominal
  level; the two looks together keep the error within 0.001 of the nominal one).

Besag and Clifford's sequential Monte Carlo p-value would stop a test that counts exceedances;
the refuters' tests are parametric in their simulations (t, Welch and chi-square tests, see
``docs/refutation.md``), so the boundaries above, which work on any valid p-value, are the
ones used.

``time_budget`` bounds the refutation stage in wall-clock seconds. The re-fitting path
starts with one pilot fit per feature (the noise-free dummy outcome, which it needs anyway),
whose measured time prices a re-fit: the estimated cost of the whole path is stated then,
before any simulation runs. Before each round each undecided refuter gets as many of its
remaining simulations as fit in what is left of the budget, the same number for all, and at
least :data:`MIN_SIMULATIONS` in the first round (so the budget can be overrun by that
much; a refuter that never ran could not be judged). A refuter cut short
keeps a valid p-value (each test is exact or asymptotic in the number of simulations it
got); what it loses is power: the smallest shift it detects grows as
``sqrt(planned / run)``. Its result says how many simulations ran and that factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["EARLY_FAIL_P", "FUTILITY_P", "Stop", "affordable", "first_round", "interim"]

#: An interim p-value above this decides a pass (non-binding futility stopping).
FUTILITY_P = 0.5
#: An interim p-value below this decides a failure (Haybittle-Peto boundary).
EARLY_FAIL_P = 0.001
#: Fewer planned simulations than this are run in one round (no interim look).
MIN_FOR_INTERIM = 10
#: Every refuter gets at least this many simulations, whatever the budget: one that never
#: ran could not be judged (and would count as failed).
MIN_SIMULATIONS = 3


@dataclass(frozen=True)
class Stop:
    """Why a refuter ran fewer simulations than planned."""

    planned: int
    run: int
    reason: str  # "decided" or "time_budget"

    def sentence(self, p_value: float) -> str:
        """The clause the refuter's detail ends with."""
        if self.reason == "decided":
            rule = (
                f"p = {p_value:.3g} > {FUTILITY_P:g}, a pass"
                if p_value > FUTILITY_P
                else f"p = {p_value:.3g} < {EARLY_FAIL_P:g}, a failure"
            )
            return (
                f"; stopped after {self.run} of {self.planned} simulations, decided at the "
                f"interim look ({rule}; docs/refutation.md)"
            )
        factor = math.sqrt(self.planned / max(self.run, 1))
        return (
            f"; cut short by time_budget after {self.run} of {self.planned} simulations: the "
            f"p-value is valid at {self.run}, but only shifts {factor:.2g} times larger than "
            "the full run's are detected"
        )

    def to_dict(self) -> dict[str, object]:
        return {"planned": self.planned, "run": self.run, "reason": self.reason}


def first_round(simulations: int) -> int:
    """Simulations per refuter before the interim look (all of them below 10)."""
    return simulations if simulations < MIN_FOR_INTERIM else math.ceil(simulations / 2)


def interim(p_value: float) -> bool:
    """Whether a refuter's interim p-value decides it (module docstring's boundaries)."""
    return math.isfinite(p_value) and (p_value > FUTILITY_P or p_value < EARLY_FAIL_P)


def affordable(
    wanted: int,
    keys: int,
    seconds_per_fit: float,
    workers: int,
    seconds_left: float | None,
    *,
    floor: int = 0,
) -> int:
    """Simulations per refuter that fit in ``seconds_left`` (all ``wanted`` without a budget).

    ``keys`` refuters each want ``wanted`` more re-fits of about ``seconds_per_fit`` on
    ``workers`` parallel workers; never fewer than ``floor`` (the first round's
    :data:`MIN_SIMULATIONS`: a refuter must run to be judged at all, and an untested refuter
    would count as failed).
    """
    if seconds_left is None or wanted <= 0 or keys <= 0:
        return max(wanted, 0)
    per_round = seconds_per_fit * keys / max(workers, 1)
    fits = int(max(seconds_left, 0.0) / per_round) if per_round > 0 else wanted
    return min(wanted, max(fits, floor))
