"""Stage: does each attribution have causal support, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureVerdict:
    """The verdict on one feature's attribution."""

    feature: str
    causal_support: bool | None
    verdict: str
    reasons: tuple[str, ...]
    flagged: bool
