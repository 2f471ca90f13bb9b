"""Stage: try hard to break every estimated effect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


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

    @property
    def simulations(self) -> int:
        return int(len(self.distribution))


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


@dataclass(frozen=True)
class Refutations:
    """Every refuter result per feature, the sensitivity per feature, and the depth used."""

    by_feature: Mapping[str, tuple[RefutationResult, ...]]
    sensitivity: Mapping[str, Sensitivity]
    depth: str
