"""Stage: check and prepare the user's data.

Every problem found here is reported as one :class:`~causalinterp.errors.DataError` line that
names the column and the fix. Nothing is repaired silently: missing values are an error unless
the caller asks for ``missing="drop"``, and then the number of dropped rows is reported.

Text and pandas ``category`` columns are variables with levels: two levels make a binary
column (coded 0/1, the later level is 1), more make a *categorical* column, coded 0, 1, ...
in level order, with a reference level (the most frequent). See ``docs/reliability.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causalinterp import options
from causalinterp.errors import DataError, GraphError, OptionError
from causalinterp.graph.causal_graph import CausalGraph

#: Fewer rows than this cannot support cross-fitted estimation with any precision.
MIN_ROWS = 50
#: Magnitudes beyond this overflow squared sums in the estimators' final stages.
MAX_MAGNITUDE = 1e12
#: More levels than this make a text column an identifier rather than a categorical variable.
MAX_LEVELS = 50
#: Shown values of a column in error messages.
_SHOWN = 3


@dataclass(frozen=True)
class CheckedData:
    """The used columns, checked and numeric, with each column's kind.

    Attributes
    ----------
    frame : pandas.DataFrame
        The observed graph columns, float64, no missing values. Binary columns are coded
        0/1 (the larger value, or the later level, is 1); categorical columns hold level
        codes 0, 1, ... (see ``levels``).
    kinds : Mapping[str, str]
        Column to ``"binary"``, ``"continuous"`` or ``"categorical"``.
    outcome : str
        The outcome column.
    features : tuple of str
        The model's features, in the model's order.
    observed : tuple of str
        Graph nodes present in the data (sorted).
    latent : tuple of str
        Graph nodes absent from the data (sorted): treated as unobserved.
    declared_latent : tuple of str
        Those of ``latent`` declared unobserved (in the graph or with ``latent=[...]``);
        the others are latent only because no column has their name.
    n_rows : int
        Rows used.
    dropped_rows : int
        Rows dropped for missing values (only with ``missing="drop"``).
    rows : pandas.Index
        The labels, in the user's data, of the rows used (to explain the same rows).
    levels : Mapping[str, tuple of str]
        For every column given as text or as a pandas ``category``: its level labels in
        code order (code ``i`` in ``frame`` is ``levels[name][i]``). Text levels are sorted;
        a ``category`` column keeps its categories' order. Levels absent from the used rows
        are left out.
    reference : Mapping[str, str]
        For every categorical column: its reference level, the most frequent one (ties go
        to the first in level order). Effects of a categorical treatment are per level
        against it, and categorical controls are one-hot encoded without it.
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
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reference: Mapping[str, str] = field(default_factory=dict)
    declared_latent: tuple[str, ...] = ()

    @property
    def outcome_kind(self) -> str:
        return self.kinds[self.outcome]

    @property
    def unused_graph_columns(self) -> tuple[str, ...]:
        """The observed graph columns, other than the outcome, that the model does not use
        (sorted): the report names them, since the verdicts are judged without them."""
        used = {*self.features, self.outcome}
        return tuple(n for n in self.observed if n not in used)

    def level_codes(self, name: str) -> tuple[tuple[str, ...], int]:
        """A categorical column's level labels (in code order) and its reference code.

        Works also when ``levels`` or ``reference`` were not filled in (a hand-built
        ``CheckedData``): the codes present are the levels, the most frequent is the
        reference.
        """
        codes = self.frame[name].to_numpy(dtype=float)
        labels = self.levels.get(name)
        if labels is None:
            present = np.unique(codes[np.isfinite(codes)])
            if not np.array_equal(present, np.arange(len(present))):
                raise DataError(
                    f"data: categorical column {name!r} is not coded 0, 1, ...; "
                    "pass it as text or as a pandas 'category' column"
                )
            labels = tuple(f"{v:g}" for v in present)
        if name in self.reference:
            return tuple(labels), labels.index(self.reference[name])
        return tuple(labels), _most_frequent(codes, len(labels))

    def design(self, names: Iterable[str], frame: pd.DataFrame | None = None) -> np.ndarray | None:
        """The columns ``names`` of ``frame`` (default: ``self.frame``) as a float matrix, with
        every categorical column one-hot encoded (one 0/1 column per level but the reference).

        Returns None when ``names`` is empty.
        """
        frame = self.frame if frame is None else frame
        blocks = []
        for name in names:
            values = frame[name].to_numpy(dtype=float)
            if self.kinds.get(name) == "categorical":
                labels, ref = self.level_codes(name)
                blocks.extend(
                    (values == code).astype(float) for code in range(len(labels)) if code != ref
                )
            else:
                blocks.append(values)
        return np.column_stack(blocks) if blocks else None  # a new array: never a view


def check_data(
    data: pd.DataFrame,
    graph: CausalGraph,
    outcome: str,
    *,
    features: Iterable[str] | None = None,
    missing: str = options.default("missing"),
    latent: Iterable[str] = options.default("latent"),
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
    latent : iterable of str, default ()
        Graph nodes declared unobserved, beyond those the graph declares itself (DOT
        ``U [latent=true]``). A node that is not a column is an error when its name is a
        near-miss of a column's (a typo would silently turn a measured cause into a latent
        one) unless it is declared; see :func:`near_miss_nodes`.
    min_rows : int, default 50
        Fewest rows accepted after dropping.

    Returns
    -------
    CheckedData

    Raises
    ------
    DataError
        Missing, duplicated, non-numeric, infinite, huge or constant columns; missing values;
        too few rows; a graph node that is not a column but nearly matches one's name.
    GraphError
        A ``latent`` name that is not a graph node, or that is a column of the data.

    Examples
    --------
    >>> import pandas as pd
    >>> from causalinterp.graph import CausalGraph
    >>> g = CausalGraph.from_edges([("x", "y")])
    >>> df = pd.DataFrame({"x": range(60), "y": [i % 2 for i in range(60)]})
    >>> check_data(df, g, "y").kinds["y"]
    'binary'
    """
    missing = options.validate({"missing": missing})["missing"]
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
    declared = _declared_latent(graph, latent, columns)
    latent = tuple(sorted(n for n in graph.nodes if n not in columns))
    near = near_miss_nodes([n for n in latent if n not in declared], columns)
    if near:
        node, column = next(iter(near.items()))
        more = f" (and {len(near) - 1} more near-miss node(s))" if len(near) > 1 else ""
        raise DataError(
            f"graph: node {node!r} is not a column, but {column!r} is{more}; fix the name in "
            f"the graph, or declare {node!r} latent (latent=[{node!r}], --latent {node}, "
            f"or {node} [latent=true] in DOT)"
        )
    encoded = {name: _encode(data[columns[name]], name) for name in observed}
    frame = pd.DataFrame(
        {name: values.to_numpy() for name, (values, _) in encoded.items()},
        index=data.index,
        columns=list(observed),
    )

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
    frame = frame.loc[~incomplete.to_numpy()].reset_index(drop=True)

    if len(frame) < min_rows:
        raise DataError(
            f"data: {len(frame)} usable rows; at least {min_rows} are needed to estimate effects"
        )
    kinds: dict[str, str] = {}
    levels: dict[str, tuple[str, ...]] = {}
    reference: dict[str, str] = {}
    for name in observed:
        labels = encoded[name][1]
        if labels is None:
            kinds[name] = _kind(frame[name], name)
            if kinds[name] == "binary":
                frame[name] = (frame[name] == frame[name].max()).astype("float64")
            continue
        frame[name], labels = _compact(frame[name], labels)
        levels[name] = labels
        if len(labels) < 2:
            raise DataError(
                f"data: column {name!r} is constant ({labels[0]!r} in every row); a constant "
                "carries no information about effects, remove it from the data and graph or "
                "fix the export"
            )
        if len(labels) == 2:
            kinds[name] = "binary"
            continue
        if len(labels) > MAX_LEVELS:
            raise DataError(
                f"data: column {name!r} has {len(labels)} distinct text values, too many for a "
                f"categorical variable (at most {MAX_LEVELS}); if it is an identifier remove it "
                "from the graph, else group its rare levels"
            )
        kinds[name] = "categorical"
        reference[name] = labels[_most_frequent(frame[name].to_numpy(), len(labels))]
    if kinds[outcome] == "categorical":
        raise DataError(
            f"data: outcome column {outcome!r} is categorical ({len(levels[outcome])} levels: "
            f"{_names(levels[outcome])}); only binary or continuous outcomes are supported, "
            "analyse one level against the others as a 0/1 outcome"
        )
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
        levels=levels,
        reference=reference,
        declared_latent=declared,
    )


def near_miss_nodes(nodes: Iterable[str], columns: Iterable[str]) -> dict[str, str]:
    """Graph nodes whose name is a near-miss of a column's: ``{node: column}``.

    A near-miss is the same name up to case, spaces, dashes and underscores (names of two
    characters or more: ``U`` for a latent beside a column ``u`` is a convention), or a
    :func:`difflib.get_close_matches` match with similarity at least 0.85 (one or two
    letters wrong in a name of ten: ``monthly_prce`` for ``monthly_price``), among names of
    at least four characters (short names such as ``U`` are too easily close).

    Examples
    --------
    >>> near_miss_nodes(["monthly_prce", "U", "frustration"], ["monthly_price", "churned"])
    {'monthly_prce': 'monthly_price'}
    """
    columns = [str(c) for c in columns]

    def key(name: str) -> str:
        return "".join(ch for ch in name.lower() if ch not in " -_")

    by_key = {key(c): c for c in columns}
    found = {}
    for node in nodes:
        if len(node) >= 2 and key(node) in by_key:
            found[node] = by_key[key(node)]
            continue
        if len(node) < 4:
            continue
        close = difflib.get_close_matches(node, [c for c in columns if len(c) >= 4], 1, 0.85)
        if close:
            found[node] = close[0]
    return found


def _declared_latent(
    graph: CausalGraph, latent: Iterable[str], columns: Mapping[str, object]
) -> tuple[str, ...]:
    """The declared latent nodes: the graph's own and the ``latent`` option's, checked."""
    if isinstance(latent, str):
        latent = [latent]
    declared = set(graph.declared_latent)
    for name in (str(n) for n in latent):
        if name not in graph:
            close = difflib.get_close_matches(name, list(graph.nodes), 1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise GraphError(
                f"latent: {name!r} is not a node of the graph; {hint}declare only graph nodes"
            )
        declared.add(name)
    measured = sorted(n for n in declared if n in columns)
    if measured:
        raise GraphError(
            f"latent: {measured[0]!r} is declared latent but is a column of the data; drop "
            "the column or the declaration"
        )
    return tuple(sorted(declared))


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


def _encode(column: pd.Series, name: str) -> tuple[pd.Series, tuple[str, ...] | None]:
    """``column`` as float64, and the level labels its values code if it has levels.

    Numbers (and numbers written as text) stay numbers (``None`` levels). Text and pandas
    ``category`` columns become codes 0, 1, ... of their levels. A text column that mixes
    numbers and words is an error: it is a numeric column with stray text in it.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.astype("float64").where(column.notna())
        return codes, tuple(str(c) for c in column.cat.categories)
    if pd.api.types.is_bool_dtype(column):
        return pd.to_numeric(column).astype("float64"), None
    if pd.api.types.is_numeric_dtype(column):
        return _finite(column.astype("float64"), name), None
    text = column.astype("string")
    text = text.mask(text.str.strip() == "")  # blank cells are missing values
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    words = text.notna() & values.isna()
    if not words.any():
        return _finite(values, name), None
    if values.notna().any():
        first = words.idxmax()
        raise DataError(
            f"data: column {name!r} has non-numeric values among its numbers (e.g. "
            f"{text[first]!r} in row {first}); convert it to numbers, or, if it is "
            "categorical, give every level a name that is not a number (or pass it as a "
            "pandas 'category' column)"
        )
    formatted = _numbers_as_text(text[text.notna()])
    if formatted is not None:
        raise DataError(
            f"data: column {name!r} holds numbers stored as text (e.g. {formatted!r}); "
            "convert it to numbers (strip '%', currency signs and thousands separators, e.g. "
            "pandas.to_numeric(column.str.rstrip('%'))) before the analysis"
        )
    labels = tuple(sorted(text[text.notna()].unique()))
    codes = text.map({label: float(i) for i, label in enumerate(labels)}).astype("float64")
    return codes, labels


#: What numbers written for people carry besides digits: percent and currency signs,
#: thousands separators, spaces.
_NUMBER_DECORATION = r"[%$€£¥,\s\u00a0']"


def _numbers_as_text(text: pd.Series) -> str | None:
    """The first value of ``text`` if every value is a number once its decoration (percent
    and currency signs, thousands separators) is stripped: numbers stored as text, not
    category labels. None otherwise.

    Examples
    --------
    >>> _numbers_as_text(pd.Series(["5.39%", "12.0%", "7%"], dtype="string"))
    '5.39%'
    >>> _numbers_as_text(pd.Series(["$1,200", "$950"], dtype="string"))
    '$1,200'
    >>> _numbers_as_text(pd.Series(["north", "5%"], dtype="string")) is None
    True
    """
    if text.empty:
        return None
    stripped = text.str.replace(_NUMBER_DECORATION, "", regex=True)
    parsed = pd.to_numeric(stripped, errors="coerce")
    if parsed.isna().any():
        return None
    return str(text.iloc[0])


def _finite(values: pd.Series, name: str) -> pd.Series:
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


def _compact(codes: pd.Series, labels: tuple[str, ...]) -> tuple[pd.Series, tuple[str, ...]]:
    """Codes renumbered 0, 1, ... over the levels present (unused categories, or levels only
    seen in dropped rows, are left out), and those levels' labels."""
    present = np.unique(codes.to_numpy()).astype(int)
    renumber = np.full(len(labels), np.nan)
    renumber[present] = np.arange(len(present), dtype=float)
    return (
        pd.Series(renumber[codes.to_numpy().astype(int)], index=codes.index, name=codes.name),
        tuple(labels[i] for i in present),
    )


def _most_frequent(codes: np.ndarray, n_levels: int) -> int:
    """The most frequent code in ``codes`` (0 .. n_levels - 1); ties go to the lowest."""
    counts = np.bincount(np.asarray(codes, dtype=float).astype(int), minlength=n_levels)
    return int(np.argmax(counts))


def _kind(column: pd.Series, name: str) -> str:
    # Two comparisons with the extremes instead of finding every distinct value (a hash
    # table per column: seconds on a million rows of twenty columns, on one core).
    values = column.to_numpy(dtype=float)
    low, high = values.min(), values.max()
    if low == high:
        raise DataError(
            f"data: column {name!r} is constant ({low:g} in every row); a constant carries "
            "no information about effects, remove it from the data and graph or fix the export"
        )
    return "binary" if np.all((values == low) | (values == high)) else "continuous"


def _names(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
