"""Stage: the model's SHAP attributions on the outcome's scale.

:func:`attribute_model` is the stage's verb; :class:`Attributions` its result, convertible to a
``shap.Explanation`` (:meth:`Attributions.to_explanation`) for ``shap.plots``. The explainers
are private (``_shap``). Shared with the stages that evaluate the model (the domain check,
the curves, ``explain``): :func:`outcome_predictor` (the model's prediction on the outcome
scale, :mod:`~causalinterp.attribute.inspection`, with ICE curves and partial dependence) and
:func:`user_model_and_rows` (the user's model and the rows as it takes them).
"""

from causalinterp.attribute.attributions import (
    Attributions,
    FeatureAttribution,
    attribute_model,
    compute_attributions,
    default_model,
    user_model_and_rows,
)
from causalinterp.attribute.inspection import is_classifier, outcome_predictor

__all__ = [
    "Attributions",
    "FeatureAttribution",
    "attribute_model",
    "compute_attributions",
    "default_model",
    "is_classifier",
    "outcome_predictor",
    "user_model_and_rows",
]
