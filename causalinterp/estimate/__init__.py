"""Stage: identify each feature's effect on the outcome from the DAG and estimate it."""

from causalinterp.estimate.effects import Effects, FeatureEffect, LevelEffect, estimate_effects

__all__ = ["Effects", "FeatureEffect", "LevelEffect", "estimate_effects"]
