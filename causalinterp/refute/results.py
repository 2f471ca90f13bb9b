"""What the refutation stage returns: one result per (feature, refuter).

The names are :class:`~enum.StrEnum` members, so they compare equal to (and serialise as) the
plain strings the report has always used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from causalinterp.refute.roles import role

#: Simulations per simulation-based refuter at each depth ("none" skips the refuters).
DEPTHS: Mapping[str, int] = {"none": 0, "quick": 10, "standard": 20, "thorough": 100}


class RefutationStatus(StrEnum):
    """How one refuter's challenge ended."""

    #: The adjusted p-value is at least ``alpha``: the effect survived the challenge.
    PASSED = "passed"
    #: The adjusted p-value is below ``alpha``.
    FAILED = "failed"
    #: Too few re-estimations succeeded to test anything; counts as not passed.
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class RefutationResult:
    """One refuter applied to one feature's effect.

    ``distribution`` holds every simulated estimate (kept raw, for plots and audits);
    ``p_adjusted`` and ``passed`` are filled after the report-wide Benjamini-Hochberg step.
    ``expected`` is the value the simulated estimates centre on when the effect is sound
    (0 for the placebo treatment and the dummy outcome, the original estimate for the
    others); the refutation stage always sets it, None means "not known".
    """

    name: str
    feature: str
    original: float
    distribution: np.ndarray
    p_value: float
    p_adjusted: float
    passed: bool
    detail: str = ""
    expected: float | None = None
    #: Re-fitting path: why this refuter ran fewer simulations than planned (decided at the
    #: interim look, or cut short by ``time_budget``; see ``refute/sequential.py``), or None.
    stop: Any = None

    @property
    def simulations(self) -> int:
        return len(self.distribution)

    @property
    def status(self) -> RefutationStatus:
        """Passed, failed, or not run (no finite p-value: too many re-estimations failed)."""
        if not math.isfinite(self.p_value):
            return RefutationStatus.NOT_RUN
        return RefutationStatus.PASSED if self.passed else RefutationStatus.FAILED


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
    #: Features refuted on the fast path (nuisances held fixed; see ``refute/roles.py``).
    fast: frozenset[str] = frozenset()
    #: ``refit`` was decided by the automatic rule (``refute/auto.py``), not given.
    refit_auto: bool = False
    #: Why the refuters did or did not re-fit (one sentence).
    refit_reason: str = ""
    #: The automatic rule's probe: half-sample spread over analytic SE, per feature.
    refit_ratios: Mapping[str, float] = field(default_factory=dict)
    #: The ``time_budget`` option (seconds; None: none).
    time_budget: float | None = None
    #: Before re-fitting: the estimated seconds of the re-fitting path at its full length.
    refit_cost: float = field(default=0.0, compare=False)

    def failed(self, feature: str) -> tuple[str, ...]:
        """Names of the refuters whose challenge ``feature``'s effect did not survive."""
        return tuple(r.name for r in self.by_feature.get(feature, ()) if not r.passed)

    def failed_evidence(self, feature: str) -> tuple[str, ...]:
        """Of :meth:`failed`, the refuters that are evidence against the estimate: on the
        fast path the calibration checks of ``refute/roles.py`` fail only by chance or
        through a numerical fault of the final stage, so they are left out."""
        fast = feature in self.fast
        # Plain strings: reasons quote them, and a StrEnum's repr would show its class.
        return tuple(str(n) for n in self.failed(feature) if role(n, fast=fast) == "evidence")

    def result(self, feature: str, refuter: str) -> RefutationResult | None:
        """``feature``'s result for ``refuter``, or None when it was not refuted."""
        return next((r for r in self.by_feature.get(feature, ()) if r.name == refuter), None)
