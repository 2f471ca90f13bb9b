"""Estimation adapter: the only module that imports EconML."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EffectEstimate:
    """An average per-unit effect on the outcome's scale with its 95% interval."""

    estimate: float
    stderr: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    n_rows: int
