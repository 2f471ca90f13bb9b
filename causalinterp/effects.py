"""Stage: total causal effect of every model feature on the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._dowhy import Identification
from ._econml import EffectEstimate


@dataclass(frozen=True)
class FeatureEffect:
    """One feature's identification and (if identified) estimate.

    ``status`` is ``"estimated"``, ``"no_path"``, ``"not_identifiable"`` or ``"error"``.
    """

    feature: str
    identification: Identification
    estimate: EffectEstimate | None
    status: str
    message: str = ""


@dataclass(frozen=True)
class Effects:
    """Every feature's effect, keyed by feature name, plus the seed used and timings."""

    by_feature: Mapping[str, FeatureEffect]
    seed: int
    seconds: Mapping[str, float] = field(default_factory=dict)
