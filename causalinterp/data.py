"""Stage: check and prepare the user's data.

Every problem found here is reported as one :class:`~causalinterp.errors.DataError` line that
names the column and the fix. Nothing is repaired silently: missing values are an error unless
the caller asks for ``missing="drop"``, and then the number of dropped rows is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, GraphError, OptionError
from .graph import CausalGraph

#: Fewer rows than this cannot support cross-fitted estimation with any precision.
MIN_ROWS = 50
#: Magnitudes beyond this overflow squared sums in the estimators' final stages.
MAX_MAGNITUDE = 1e12
#: Shown values of a column in error messages.
_SHOWN = 3


@dataclass(frozen=True)
class CheckedData:
    """The used columns, checked and numeric, with each column's kind.

    Attributes
    ----------
    frame : pandas.DataFrame
        The observed graph columns, float64, no missing values. Binary columns are coded
        0/1 (the larger value, or the later level in sorted order, is 1).
    kinds : Mapping[str, str]
        Column to ``"binary"`` or ``"continuous"``.
    outcome : str
        The outcome column.
    features : tuple of str
        The model's features, in the model's order.
    observed : tuple of str
        Graph nodes present in the data (sorted).
    latent : tuple of str
        Graph nodes absent from the data (sorted): treated as unobserved.
    n_rows : int
        Rows used.
    dropped_rows : int
        Rows dropped for missing values (only with ``missing="drop"``).
    rows : pandas.Index
        The labels, in the user's data, of the rows used (to explain the same rows).
    """

    frame: pd.DataFrame
    kinds: Mapping[str, str]
    outcome: str
    features: tuple[str, ...]
    observed: tuple[str, ...]
    latent: tuple[str, ...]
    n_rows: int
    dropped_rows: int = 0
    rows: pd.Index | None = None

    @property
    def outcome_kind(self) -> str:
        return self.kinds[self.outcome]


def check_data(
    data: pd.DataFrame,
    graph: CausalGraph,
    outcome: str,
    *,
    features: Iterable[str] | None = None,
    missing: str = "error",
    min_rows: int = MIN_ROWS,
) -> CheckedData:
    """Check ``data`` against ``graph`` and return the numeric columns the analysis uses.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit, one column per variable. Columns not in the graph are ignored.
    graph : CausalGraph
        The causal DAG. Its nodes missing from ``data`` are latent.
    outcome : str
        The outcome column.
    features : iterable of str, optional
        The model's features. Default: every observed graph node except the outcome.
    missing : {"error", "drop"}, default "error"
        What to do with missing values in used columns: refuse, or drop those rows.
    min_rows : int, default 50
        Fewest rows accepted after dropping.

    Returns
    -------
    CheckedData

    Raises
    ------
    DataError
        Missing, duplicated, non-numeric, infinite, huge or constant columns; missing values;
        too few rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from causalinterp.graph import CausalGraph
    >>> g = CausalGraph.from_edges([("x", "y")])
    >>> df = pd.DataFrame({"x": range(60), "y": [i % 2 for i in range(60)]})
    >>> check_data(df, g, "y").kinds["y"]
    'binary'
    """
    if missing not in ("error", "drop"):
        raise OptionError(f"missing: unknown value {missing!r}; use 'error' or 'drop'")
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"data: expected a pandas DataFrame, got {type(data).__name__}; "
            "load it with pandas.read_csv or pandas.read_parquet"
        )
    duplicated = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
    if duplicated:
        raise DataError(
            f"data: duplicated column name(s) {_names(duplicated)}; give every column a unique name"
        )
    if not isinstance(outcome, str) or not outcome:
        raise OptionError("outcome: expected a column name; pass the outcome's column name")
    features = _features(data, graph, outcome, features)
    graph.validate_request(outcome, features)
    columns = {str(c): c for c in data.columns}
    if outcome not in columns:
        raise DataError(
            f"data: outcome column {outcome!r} is not in the data; "
            f"the columns are {_names(list(columns))}"
        )
    absent = [f for f in features if f not in columns]
    if absent:
        raise DataError(
            f"data: feature column(s) {_names(absent)} are not in the data; "
            "add them or leave them out of the features"
        )

    observed = tuple(sorted(n for n in graph.nodes if n in columns))
    latent = tuple(sorted(n for n in graph.nodes if n not in columns))
    frame = pd.DataFrame({name: _numeric(data[columns[name]], name) for name in observed})

    incomplete = frame.isna().any(axis=1)
    dropped = int(incomplete.sum())
    if dropped and missing == "error":
        worst = frame.isna().sum().sort_values(ascending=False)
        worst = worst[worst > 0]
        listed = ", ".join(f"{name!r} ({count})" for name, count in worst.items())
        raise DataError(
            f"data: missing values in {listed}; impute them, or pass missing='drop' "
            "(--missing drop) to drop the incomplete rows"
        )
    rows = data.index[~incomplete.to_numpy()]
    frame = frame.loc[~incomplete].reset_index(drop=True)

    if len(frame) < min_rows:
        raise DataError(
            f"data: {len(frame)} usable rows; at least {min_rows} are needed to estimate effects"
        )
    kinds = {name: _kind(frame[name], name) for name in observed}
    for name in observed:
        if kinds[name] == "binary":
            frame[name] = (frame[name] == frame[name].max()).astype("float64")
    return CheckedData(
        frame=frame,
        kinds=kinds,
        outcome=outcome,
        features=features,
        observed=observed,
        latent=latent,
        n_rows=len(frame),
        dropped_rows=dropped,
        rows=rows,
    )


def _features(
    data: pd.DataFrame, graph: CausalGraph, outcome: str, features: Iterable[str] | None
) -> tuple[str, ...]:
    if features is None:
        present = {str(c) for c in data.columns}
        return tuple(n for n in graph.nodes if n in present and n != outcome)
    if isinstance(features, str):
        features = [features]
    chosen = tuple(str(f) for f in features)
    if not chosen:
        raise OptionError("features: the list is empty; name at least one feature or omit it")
    if outcome in chosen:
        raise OptionError(
            f"features: the outcome {outcome!r} is listed as a feature; remove it from the features"
        )
    repeated = sorted({f for f in chosen if chosen.count(f) > 1})
    if repeated:
        raise OptionError(f"features: {_names(repeated)} listed twice; list each feature once")
    unknown = [f for f in chosen if f not in graph.nodes]
    if unknown:
        # The graph module words this error (with close matches); call it for the message.
        graph.validate_request(outcome, chosen)
        raise GraphError(f"graph: feature(s) {_names(unknown)} are not in the graph; add them")
    return chosen


def _numeric(column: pd.Series, name: str) -> pd.Series:
    """``column`` as float64, or a DataError naming the first value that is not a number."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype("float64")
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype("float64")
    else:
        text = column.astype("string")
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        bad = text.notna() & values.isna() & (text.str.strip() != "")
        if bad.any():
            levels = text[text.notna()].unique()
            if len(levels) == 2 and not values.notna().any():
                # Two text levels ("yes"/"no"): a binary variable, coded by sorted level.
                return (text == sorted(levels)[1]).astype("float64").where(text.notna())
            first = bad.idxmax()
            raise DataError(
                f"data: column {name!r} has non-numeric values (e.g. {text[first]!r} in row "
                f"{first}); convert it to numbers, or code a categorical variable as 0/1 columns"
            )
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        raise DataError(
            f"data: column {name!r} has {int(infinite.sum())} infinite value(s); "
            "replace them with finite numbers or drop those rows"
        )
    if (values.abs() > MAX_MAGNITUDE).any():
        raise DataError(
            f"data: column {name!r} has values beyond ±{MAX_MAGNITUDE:g} (max |x| = "
            f"{values.abs().max():.3g}); rescale it (e.g. to thousands or a log scale)"
        )
    return values


def _kind(column: pd.Series, name: str) -> str:
    levels = column.unique()
    if len(levels) < 2:
        raise DataError(
            f"data: column {name!r} is constant ({levels[0]:g} in every row); a constant carries "
            "no information about effects, remove it from the data and graph or fix the export"
        )
    return "binary" if len(levels) == 2 else "continuous"


def _names(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
