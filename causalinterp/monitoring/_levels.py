"""Text and ``category`` features: explained as level codes, as ``analyze`` explains them.

SHAP explains numbers, so monitoring keeps the model's text features as codes: a feature's
reference levels (as text, sorted) are codes 0, 1, ...; a level the reference never had gets a
code after them (the window's new levels, sorted). Two models take those codes:

* **your model**, fitted on your own values: wrapped in the attribution stage's level decoder,
  which turns each code back into its value (with the type the model was fitted on, e.g. the
  pandas categories a LightGBM model stored) before calling it; the fast explainers see
  through the wrapper (LightGBM's own TreeSHAP, a Pipeline's encoder traced column by column);
* **the default model**: fitted on the codes behind a one-hot encoder (one 0/1 column per
  reference level; a new level is all zeros), explained on the codes and summed back per
  feature, as ``analyze``'s default model is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def is_text(values: pd.Series) -> bool:
    """Text, ``category`` and other non-numeric columns (booleans count as numbers)."""
    return not pd.api.types.is_numeric_dtype(values) or isinstance(
        values.dtype, pd.CategoricalDtype
    )


def text_levels(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each text feature's levels in ``frame``, as text, sorted.

    Examples
    --------
    >>> text_levels(pd.DataFrame({"a": [1.0, 2.0], "r": ["s", "n"]}), ["a", "r"])
    {'r': ('n', 's')}
    """
    return {
        f: tuple(sorted(frame[f].dropna().astype(str).unique())) for f in features
        if is_text(frame[f])
    }  # fmt: skip


def to_codes(
    frame: pd.DataFrame, features: Sequence[str], levels: Mapping[str, tuple[str, ...]]
) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """``frame``'s features as numbers, text features as codes; and the new levels.

    Examples
    --------
    >>> codes, new = to_codes(pd.DataFrame({"r": ["s", "w", "n"]}), ["r"], {"r": ("n", "s")})
    >>> codes["r"].tolist(), new
    ([1.0, 2.0, 0.0], {'r': ('w',)})
    """
    out = {}
    new: dict[str, tuple[str, ...]] = {}
    for f in features:
        if f not in levels:
            out[f] = frame[f].to_numpy(dtype=float)
            continue
        text = frame[f].astype(str)
        unseen = tuple(sorted(set(text.unique()) - set(levels[f])))
        position = {v: float(i) for i, v in enumerate((*levels[f], *unseen))}
        out[f] = text.map(position).to_numpy(dtype=float)
        if unseen:
            new[f] = unseen
    return pd.DataFrame(out, index=frame.index), new


def model_on_codes(
    model: Any,
    features: Sequence[str],
    levels: Mapping[str, tuple[str, ...]],
    new: Mapping[str, tuple[str, ...]] | None = None,
) -> Any:
    """Your model as a model of the codes (itself when it has no text features).

    ``new`` are a window's levels the reference never had (codes after the reference's);
    a model fitted on pandas categories gets them as missing, as pandas does with a value
    outside a column's categories.
    """
    wanted = {f: v for f, v in levels.items() if f in features}
    if not wanted:
        return model
    from causalinterp.attribute._columns import conform_to_model
    from causalinterp.attribute._shap import check_model
    from causalinterp.attribute.attributions import _LevelDecoder

    new = new or {}
    longest = max(len(v) for v in wanted.values())
    # The reference's levels in the types the model was fitted on (a LightGBM model's stored
    # categories, else text): the decoder builds every frame with these types.
    probe = pd.DataFrame(
        {f: np.resize(np.array(wanted[f], dtype=object), longest) if f in wanted
         else np.zeros(longest) for f in features}
    )  # fmt: skip
    conformed = conform_to_model(model, probe)
    decode = {}
    for f, known in wanted.items():
        dtype = conformed[f].dtype
        categorical = isinstance(dtype, pd.CategoricalDtype)
        # Outside the model's categories a new level is missing (pandas' own rule for values
        # outside a column's categories), written as such rather than left to pandas.
        unseen = [np.nan] * len(new.get(f, ())) if categorical else list(new.get(f, ()))
        values = np.array([*known, *unseen], dtype=object)
        decode[f] = (values, dtype if categorical else object)
    order = list(check_model(model, list(features)).columns)
    return _LevelDecoder(model, order, decode)


def one_hot_default(estimator: Any, features: Sequence[str], levels: Mapping[str, Any]) -> Any:
    """``estimator`` behind a one-hot encoder of the text features' codes (one 0/1 column per
    reference level; new levels all zero), or ``estimator`` itself without text features."""
    coded = [j for j, f in enumerate(features) if f in levels]
    if not coded:
        return estimator
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encoder = OneHotEncoder(
        categories=[np.arange(len(levels[features[j]]), dtype=float) for j in coded],
        handle_unknown="ignore",
        sparse_output=False,
    )
    columns = ColumnTransformer(
        [("levels", encoder, coded)], remainder="passthrough", verbose_feature_names_out=False
    )
    return Pipeline([("one_hot_levels", columns), ("model", estimator)])
