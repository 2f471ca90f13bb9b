"""Stage: the model's SHAP attributions on the outcome's scale."""

from causalinterp.attribute.attributions import Attributions, FeatureAttribution, attribute_model

__all__ = ["Attributions", "FeatureAttribution", "attribute_model"]
