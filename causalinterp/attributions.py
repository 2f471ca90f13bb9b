"""Stage: SHAP attributions of the user's model on the outcome's scale."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class FeatureAttribution:
    """Mean |SHAP|, rank (1 = largest) and attribution slope of one feature."""

    feature: str
    mean_abs_shap: float
    slope: float
    rank: int


@dataclass(frozen=True)
class Attributions:
    """SHAP values of the rows explained, on the outcome scale, and per-feature summaries."""

    by_feature: Mapping[str, FeatureAttribution]
    shap_values: pd.DataFrame
    feature_values: pd.DataFrame
    explainer: str
    scale: str
    rows_explained: int
    rows_total: int
