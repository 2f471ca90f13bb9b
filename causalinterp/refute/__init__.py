"""Stage: try to break every estimated effect."""

from causalinterp.refute.refutation import (
    RefutationResult,
    Refutations,
    Sensitivity,
    refute_effects,
)

__all__ = ["RefutationResult", "Refutations", "Sensitivity", "refute_effects"]
