"""Former single-module home of the refutation stage, kept so existing imports still work.

Import from :mod:`causalinterp.refute` instead; this module only re-exports its names.
"""

from causalinterp.refute import (
    DEPTHS,
    REFUTERS,
    RefutationResult,
    Refutations,
    RefutationStatus,
    RefuterName,
    Sensitivity,
    refute_effects,
)
from causalinterp.refute.refuters import SUBSET_FRACTION

__all__ = [
    "DEPTHS",
    "REFUTERS",
    "SUBSET_FRACTION",
    "RefutationResult",
    "RefutationStatus",
    "Refutations",
    "RefuterName",
    "Sensitivity",
    "refute_effects",
]
