"""Column types the model expects, checked against the data before anything is predicted.

A data frame whose column types differ from those the model was fitted on makes the model
libraries fail deep inside (LightGBM: "train and valid dataset categorical_feature do not
match"), or worse, predict silently on mis-coded values (XGBoost on integer codes of a
categorical feature, LightGBM on a level it never saw, which it treats as missing). This
module reads what each model family records about its inputs and names the first column
that does not fit: the type the model expects and the one given.

What is read, per family:

* LightGBM: its categorical features and, for pandas ``category`` columns, their levels.
* XGBoost: its feature types (``"c"`` marks a categorical feature).
* CatBoost: its categorical features' positions (their values must be text, integers or a
  pandas ``category``; CatBoost refuses real numbers there).
* scikit-learn ``Pipeline`` / ``ColumnTransformer``: the columns each transformer takes;
  ``OneHotEncoder`` / ``OrdinalEncoder`` categories (unseen levels are an error unless the
  encoder ignores them); numeric transformers (scalers, imputers ...) need numbers.
* any other scikit-learn estimator: numeric columns (a ``HistGradientBoosting`` model also
  takes the ``category`` columns it was fitted on).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.attribute import _native
from causalinterp.errors import ModelError

_NUMERIC_ONLY = {
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "Normalizer",
    "PowerTransformer",
    "QuantileTransformer",
    "KBinsDiscretizer",
    "PolynomialFeatures",
    "SplineTransformer",
}
_ENCODERS = {"OneHotEncoder", "OrdinalEncoder"}
_SHOWN_LEVELS = 6


def check_column_types(model: Any, X: pd.DataFrame, *, name: str | None = None) -> None:
    """Raise if a column of ``X`` has another type than ``model`` was fitted on.

    Parameters
    ----------
    model : estimator
        The user's fitted model: a LightGBM or XGBoost model (also loaded from a file), a
        scikit-learn estimator or Pipeline.
    X : pandas.DataFrame
        The data the model will be explained on, in the user's own types.
    name : str, optional
        The model's name in the message (default: its class name).

    Raises
    ------
    ModelError
        One line: ``model <name>: column '<c>' ...: the model expects <type>, got <type>;
        <fix>``.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np, pandas as pd
    >>> X = pd.DataFrame({"a": np.arange(100.0), "c": pd.Categorical(["u", "v"] * 50)})
    >>> m = lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(X, X.a)
    >>> check_column_types(m, X)  # fine
    >>> check_column_types(m, X.assign(c=X.c.cat.codes))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    causalinterp.errors.ModelError: model LGBMRegressor: column 'c': the model expects a ...
    """
    label = name or type(model).__name__
    problem = first_mismatch(model, X)
    if problem is not None:
        column, expected, given, fix = problem
        raise ModelError(
            f"model {label}: column {column!r}: the model expects {expected}, got {given}; {fix}"
        )


def conform_to_model(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with text columns turned into the categories the model was fitted on.

    Data read from a CSV file has text where the model (LightGBM, XGBoost >= 3.1) was fitted
    on pandas ``category`` columns and stored their levels. A text or ``category`` column
    whose values are all among those levels gets exactly the model's categories (in its
    order, which is what the codes mean); anything else is left for
    :func:`check_column_types` to report.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np, pandas as pd
    >>> X = pd.DataFrame({"a": np.arange(100.0), "c": pd.Categorical(["u", "v"] * 50)})
    >>> m = lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(X, X.a)
    >>> list(conform_to_model(m, X.assign(c=X.c.astype(str)))["c"].cat.categories)
    ['u', 'v']
    """
    if _native.library(model) is None:
        return X
    frame = X.copy()
    names = {str(c): c for c in frame.columns}
    for feature, levels in _native.categorical_features(model).items():
        column = names.get(feature)
        if levels is None or column is None:
            continue
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype) and list(series.dtype.categories) == list(
            levels
        ):
            continue
        if _is_numeric(series):
            continue  # codes: reported by check_column_types, never guessed
        values = series.dropna()
        known = {str(v): v for v in levels}
        if all(str(v) in known for v in pd.unique(values)):
            mapped = [known[str(v)] if v == v else v for v in series.astype(object)]
            frame[column] = pd.Categorical(mapped, categories=list(levels))
    return frame


def first_mismatch(model: Any, X: pd.DataFrame) -> tuple[str, str, str, str] | None:
    """The first column whose type does not fit ``model``: (column, expected, given, fix)."""
    for problem in _mismatches(model, X, [str(c) for c in X.columns]):
        return problem
    return None


def describe_dtype(series: pd.Series) -> str:
    """A column's type in words: ``"int64"``, ``"a pandas category with levels [...]"``."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return f"a pandas category with levels {_levels(list(dtype.categories))}"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return str(dtype)
    return f"text ({dtype})"


def _levels(levels: Sequence[Any]) -> str:
    shown = ", ".join(repr(_plain(v)) for v in list(levels)[:_SHOWN_LEVELS])
    more = ", ..." if len(levels) > _SHOWN_LEVELS else ""
    return f"[{shown}{more}]"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return not isinstance(dtype, pd.CategoricalDtype) and (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    )


def _mismatches(
    model: Any, X: pd.DataFrame, columns: list[str]
) -> Iterator[tuple[str, str, str, str]]:
    frame = X.set_axis([str(c) for c in X.columns], axis=1)
    if _native.library(model) is not None:
        yield from _booster_mismatches(model, frame, columns)
        return
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        first = next(
            (s for _, s in steps if not (s is None or (isinstance(s, str) and s == "passthrough"))),
            None,
        )
        if first is not None:
            yield from _mismatches(first, frame, columns)
        return
    transformers = getattr(model, "transformers_", None)
    if isinstance(transformers, list):
        yield from _column_transformer_mismatches(model, frame, columns)
        return
    kind = type(model).__name__
    if kind in _ENCODERS:
        yield from _encoder_mismatches(model, frame, columns)
        return
    if kind == "SimpleImputer" and getattr(model, "strategy", "") in ("most_frequent", "constant"):
        return  # takes text too
    if type(model).__module__.split(".")[0] != "sklearn" and kind not in _NUMERIC_ONLY:
        return  # unknown model: it says itself what it takes
    categorical = getattr(model, "is_categorical_", None)
    for j, column in enumerate(columns):
        if column not in frame:
            continue
        series = frame[column]
        takes_category = categorical is not None and j < len(categorical) and categorical[j]
        if takes_category and isinstance(series.dtype, pd.CategoricalDtype):
            continue
        if not _is_numeric(series):
            yield (
                column,
                "numbers" + (" or a pandas category" if takes_category else ""),
                describe_dtype(series),
                "encode the column as numbers as at fitting time, or put an encoder "
                "(e.g. OneHotEncoder in a ColumnTransformer) in the model's Pipeline",
            )


def _booster_mismatches(
    model: Any, frame: pd.DataFrame, columns: list[str]
) -> Iterator[tuple[str, str, str, str]]:
    categorical = _native.categorical_features(model)
    by_clean = {"".join("_" if ch.isspace() else ch for ch in c): c for c in columns}
    for feature, levels in categorical.items():
        column = feature if feature in frame else by_clean.get(feature)
        if column is None or column not in frame:
            continue
        series = frame[column]
        if levels is None:
            if _native.library(model) == "catboost":
                if pd.api.types.is_float_dtype(series.dtype):
                    yield (
                        column,
                        "text, integers or a pandas category (the model's categorical "
                        "feature)",
                        describe_dtype(series),
                        "pass the column's levels as at fitting time, not real numbers",
                    )
                continue
            if not isinstance(series.dtype, pd.CategoricalDtype) and (
                _native.library(model) == "xgboost"
            ):
                yield (
                    column,
                    "a pandas category (the model splits on it as categorical)",
                    describe_dtype(series),
                    f"convert it with X[{column!r}].astype('category') using the fitting "
                    "data's categories",
                )
            continue
        expected = f"a pandas category with levels {_levels(levels)}"
        if not isinstance(series.dtype, pd.CategoricalDtype):
            yield (
                column,
                expected,
                describe_dtype(series),
                f"convert it with X[{column!r}].astype(pd.CategoricalDtype({list(levels)!r}))",
            )
            continue
        unseen = [v for v in pd.unique(series.dropna()) if v not in set(levels)]
        if unseen:
            yield (
                column,
                expected,
                f"unseen level(s) {_levels(unseen)}",
                "the model treats them as missing; map them to known levels or refit the model",
            )
    categorical_columns = {f if f in frame else by_clean.get(f) for f in categorical}
    for column in columns:
        if column in categorical_columns or column not in frame:
            continue
        if not _is_numeric(frame[column]):
            yield (
                column,
                "numbers (the model treats it as numeric)",
                describe_dtype(frame[column]),
                "pass the column as numbers, as at fitting time",
            )


def _column_transformer_mismatches(
    model: Any, frame: pd.DataFrame, columns: list[str]
) -> Iterator[tuple[str, str, str, str]]:
    names_in = [str(c) for c in getattr(model, "feature_names_in_", columns)]
    for _, transformer, selected in model.transformers_:
        if isinstance(transformer, str):
            continue  # "drop" or "passthrough": no type requirement of its own
        chosen = _selected_columns(selected, names_in)
        if not chosen or any(c not in frame for c in chosen):
            continue
        yield from _mismatches(transformer, frame[chosen], chosen)


def _selected_columns(selected: Any, names: list[str]) -> list[str]:
    if isinstance(selected, str):
        return [selected]
    if callable(selected):
        return []
    items = list(np.atleast_1d(selected))
    if items and isinstance(items[0], np.bool_ | bool):
        return [n for n, keep in zip(names, items, strict=False) if keep]
    if items and isinstance(items[0], int | np.integer):
        return [names[int(i)] for i in items]
    return [str(i) for i in items]


def _encoder_mismatches(
    encoder: Any, frame: pd.DataFrame, columns: list[str]
) -> Iterator[tuple[str, str, str, str]]:
    categories = getattr(encoder, "categories_", None)
    if categories is None:
        return
    ignores = getattr(encoder, "handle_unknown", "error") != "error"
    for column, levels in zip(columns, categories, strict=False):
        series = frame[column]
        levels = list(levels)
        known_numeric = all(
            isinstance(v, int | float | np.integer | np.floating) for v in levels if v == v
        )
        given_numeric = _is_numeric(series) or (
            isinstance(series.dtype, pd.CategoricalDtype)
            and pd.api.types.is_numeric_dtype(series.dtype.categories.dtype)
        )
        expected = f"levels {_levels(levels)}"
        if known_numeric != given_numeric:
            yield (
                column,
                ("numeric " if known_numeric else "text ") + expected,
                describe_dtype(series),
                "pass the column with the values it had at fitting time",
            )
            continue
        if ignores:
            continue
        known = set(levels)
        unseen = [v for v in pd.unique(series.dropna()) if v not in known]
        if unseen:
            yield (
                column,
                expected,
                f"unseen level(s) {_levels(unseen)}",
                "map them to known levels, refit the encoder, or give it handle_unknown='ignore'",
            )
