"""Stage: identify each feature's effect on the outcome from the DAG and estimate it.

:func:`estimate_effects` is the stage's verb; :class:`Effects` its result (with the settings
the estimates were made with). The adapters are private: ``_dowhy`` (identification, the only
module importing DoWhy), ``_econml`` (estimators, the only one importing EconML) and
``_learners`` (the scikit-learn nuisance learners).
"""

from causalinterp.estimate._econml import EffectEstimate
from causalinterp.estimate.effects import Effects, FeatureEffect, LevelEffect, estimate_effects
from causalinterp.estimate.enums import EffectStatus, Strategy

__all__ = [
    "EffectEstimate",
    "EffectStatus",
    "Effects",
    "FeatureEffect",
    "LevelEffect",
    "Strategy",
    "estimate_effects",
]
