"""Stage: the model's SHAP attributions on the outcome's scale.

:func:`attribute_model` is the stage's verb; :class:`Attributions` its result, convertible to a
``shap.Explanation`` (:meth:`Attributions.to_explanation`) for ``shap.plots``. The explainers
are private (``_shap``).
"""

from causalinterp.attribute.attributions import (
    Attributions,
    FeatureAttribution,
    attribute_model,
    compute_attributions,
    default_model,
)

__all__ = [
    "Attributions",
    "FeatureAttribution",
    "attribute_model",
    "compute_attributions",
    "default_model",
]
