"""Feature drift: a two-sample test and a distance per column, Benjamini-Hochberg across them.

A column drifts when its difference from the reference is both *significant* (the test's
Benjamini-Hochberg adjusted p-value is below ``drift_alpha``) and *material* (the distance is at
least ``drift_threshold``). Either alone misleads: with 100,000 rows a test rejects shifts nobody
cares about, and with 200 rows a distance is mostly noise.

* continuous columns (numeric, more than two distinct values in the reference): the
  Kolmogorov-Smirnov test and the Wasserstein-1 distance divided by the reference's standard
  deviation ("normed Wasserstein", so that 0.1 means a tenth of a standard deviation of
  displacement whatever the unit);
* categorical columns (text, or at most two distinct values): the chi-squared test of the
  2 x levels table and the Jensen-Shannon distance (base 2, in [0, 1]) of the level frequencies.

The reference is summarised once (:class:`ColumnReference`): a seeded sample of its values for
continuous columns, exact level counts for categorical ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from causalinterp.errors import DataError

if TYPE_CHECKING:
    from causalinterp.monitoring.reference import ReferenceSummary


@dataclass(frozen=True)
class ColumnReference:
    """What a column looked like in the reference.

    Attributes
    ----------
    name : str
        The column.
    kind : {"continuous", "categorical"}
        Which test and distance it gets.
    numeric : bool
        Whether the column is numeric (a current column must be too).
    sample : numpy.ndarray or None
        Continuous columns: a seeded sample of the reference values (sorted).
    std : float
        Continuous columns: the reference's standard deviation (the Wasserstein norm).
    low, high : float
        Continuous columns: the reference's minimum and maximum over every row.
    counts : Mapping[str, int]
        Categorical columns: rows per level over every reference row (levels as text).
    """

    name: str
    kind: str
    numeric: bool
    sample: np.ndarray | None = None
    std: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    counts: Mapping[str, int] | None = None


@dataclass(frozen=True)
class ColumnDrift:
    """One column's comparison with the reference.

    Attributes
    ----------
    name, kind : str
        The column and its kind (``"continuous"`` or ``"categorical"``).
    test : str
        ``"ks"`` (Kolmogorov-Smirnov) or ``"chi2"``.
    statistic, p_value, p_adjusted : float
        The test statistic, its p-value and the Benjamini-Hochberg adjusted p-value.
    distance : float
        Normed Wasserstein (continuous) or Jensen-Shannon distance (categorical).
    distance_name : str
        ``"wasserstein_norm"`` or ``"jensen_shannon"``.
    drifted : bool
        ``p_adjusted < drift_alpha`` and ``distance >= drift_threshold``.
    """

    name: str
    kind: str
    test: str
    statistic: float
    p_value: float
    p_adjusted: float
    distance: float
    distance_name: str
    drifted: bool


def is_categorical(values: pd.Series) -> bool:
    """Text, boolean and category columns, and numeric columns with at most two values."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return True
    return values.nunique(dropna=True) <= 2


def summarize_column(
    values: pd.Series, name: str, *, sample_rows: int, rng: np.random.Generator
) -> ColumnReference:
    """The reference summary of one column (see :class:`ColumnReference`)."""
    numeric = bool(pd.api.types.is_numeric_dtype(values)) and not pd.api.types.is_bool_dtype(values)
    if is_categorical(values):
        counts = values.astype(str).value_counts(sort=False)
        return ColumnReference(
            name=name,
            kind="categorical",
            numeric=numeric,
            counts={str(k): int(v) for k, v in counts.items()},
        )
    array = values.to_numpy(dtype=float)
    sample = array if len(array) <= sample_rows else rng.choice(array, sample_rows, replace=False)
    std = float(np.std(array))
    return ColumnReference(
        name=name,
        kind="continuous",
        numeric=True,
        sample=np.sort(sample),
        std=std,
        low=float(np.min(array)),
        high=float(np.max(array)),
    )


def check_types(
    references: Mapping[str, ColumnReference], current: pd.DataFrame, where: str
) -> None:
    """A DataError when a current column is text where the reference's is numeric, or back."""
    for name, ref in references.items():
        if name not in current.columns:
            continue
        values = current[name]
        numeric = bool(pd.api.types.is_numeric_dtype(values)) and not pd.api.types.is_bool_dtype(
            values
        )
        if numeric != ref.numeric:
            had = "numeric" if ref.numeric else "text"
            has = "numeric" if numeric else "text"
            raise DataError(
                f"{where}: column {name!r} is {has} but {had} in the reference; "
                "export both with the same column types"
            )


def check_window(frame: pd.DataFrame, summary: ReferenceSummary, name: str) -> pd.DataFrame:
    """``frame``, a current window, checked against the reference: rows, the reference's
    columns, their types, no missing values; else a one-line DataError naming ``name``."""
    where = f"current window {name!r}"
    if len(frame) == 0:
        raise DataError(f"{where}: has no rows; pass a window with data or drop it")
    graph_columns = {str(c) for c in frame.columns if str(c) in summary.graph}
    expected = set(summary.columns)
    missing = sorted(expected - graph_columns - {summary.outcome})
    extra = sorted(graph_columns - expected)
    if missing or extra:
        detail = f"lacks {', '.join(missing)}" if missing else f"has {', '.join(extra)}"
        raise DataError(
            f"{where}: {detail}, unlike the reference; export the windows with the "
            "reference's columns"
        )
    check_types(summary.columns, frame, where)
    used = [c for c in summary.columns if c in frame.columns and c != summary.outcome]
    bad = [c for c in used if frame[c].isna().any()]
    if bad:
        raise DataError(
            f"{where}: column {bad[0]!r} has missing values; drop or impute those rows first"
        )
    return frame


def compare_columns(
    references: Mapping[str, ColumnReference],
    current: pd.DataFrame | Mapping[str, pd.Series],
    names: Sequence[str],
    *,
    drift_alpha: float,
    drift_threshold: float,
) -> tuple[ColumnDrift, ...]:
    """Test every column in ``names`` against the reference; BH across them.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = {"x": summarize_column(pd.Series(rng.normal(size=2000)), "x",
    ...                              sample_rows=2000, rng=rng)}
    >>> cur = pd.DataFrame({"x": rng.normal(1.0, 1.0, size=500)})
    >>> compare_columns(ref, cur, ["x"], drift_alpha=0.05, drift_threshold=0.1)[0].drifted
    True
    """
    raw = [_compare(references[name], current[name]) for name in names]
    adjusted = benjamini_hochberg([r[2] for r in raw])
    out = []
    for name, (test, statistic, p, distance, distance_name), p_adj in zip(
        names, raw, adjusted, strict=True
    ):
        out.append(
            ColumnDrift(
                name=name,
                kind=references[name].kind,
                test=test,
                statistic=statistic,
                p_value=p,
                p_adjusted=p_adj,
                distance=distance,
                distance_name=distance_name,
                drifted=bool(p_adj < drift_alpha and distance >= drift_threshold),
            )
        )
    return tuple(out)


def _compare(ref: ColumnReference, values: pd.Series) -> tuple[str, float, float, float, str]:
    if ref.kind == "categorical":
        current = values.astype(str).value_counts(sort=False)
        levels = sorted(set(ref.counts or {}) | {str(k) for k in current.index})
        table = np.array(
            [
                [(ref.counts or {}).get(level, 0) for level in levels],
                [int(current.get(level, 0)) for level in levels],
            ],
            dtype=float,
        )
        if len(levels) < 2:
            return "chi2", 0.0, 1.0, 0.0, "jensen_shannon"
        statistic, p, _, _ = stats.chi2_contingency(table, correction=False)
        distance = float(
            jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum(), base=2)
        )
        return "chi2", float(statistic), float(p), distance, "jensen_shannon"
    current = values.to_numpy(dtype=float)
    assert ref.sample is not None
    result = stats.ks_2samp(ref.sample, current, method="asymp")
    distance = stats.wasserstein_distance(ref.sample, current) / (ref.std or 1.0)
    return "ks", float(result.statistic), float(result.pvalue), float(distance), "wasserstein_norm"


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (statsmodels' ``multipletests``, ``fdr_bh``).

    Examples
    --------
    >>> [round(p, 3) for p in benjamini_hochberg([0.01, 0.04, 0.03])]
    [0.03, 0.04, 0.04]
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    if len(p) == 0:
        return []
    return [float(v) for v in multipletests(p, method="fdr_bh")[1]]
