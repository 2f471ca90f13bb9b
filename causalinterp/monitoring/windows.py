"""Windows of current data: given one by one, or cut from one table by a time column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from causalinterp.errors import DataError, OptionError


def split_by_time(
    frame: pd.DataFrame, time_column: str, window: str, where: str
) -> dict[str, pd.DataFrame]:
    """Cut ``frame`` into windows of length ``window`` (a pandas frequency such as ``"7D"``).

    Windows are named by their start (ISO 8601); periods without rows are left out. The time
    column itself is dropped from the windows.

    Examples
    --------
    >>> frame = pd.DataFrame({"t": ["2024-01-01", "2024-01-02", "2024-01-09"], "x": [1, 2, 3]})
    >>> {k: len(v) for k, v in split_by_time(frame, "t", "7D", "current").items()}
    {'2024-01-01': 2, '2024-01-08': 1}
    """
    if not isinstance(frame, pd.DataFrame):
        raise OptionError(
            f"time_column: {where} is a Parquet dataset, which is not cut by time; write one "
            "dataset per window"
        )
    if time_column not in frame.columns:
        raise DataError(
            f"{where}: has no time column {time_column!r}; pass --time-column with one of "
            f"its columns ({', '.join(map(str, frame.columns[:8]))})"
        )
    try:
        offset = pd.tseries.frequencies.to_offset(window)
    except (ValueError, TypeError):
        raise OptionError(
            f"window: {window!r} is not a pandas frequency; pass e.g. window='7D' or '1h'"
        ) from None
    raw = frame[time_column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        times = raw
    else:
        times = pd.to_datetime(raw.astype(str).where(raw.notna()), errors="coerce", format="mixed")
    bad = times.isna() & raw.notna()
    if bad.any() or len(raw) == 0 or times.isna().all():
        example = raw[bad].iloc[0] if bad.any() else raw.iloc[0] if len(raw) else None
        raise DataError(
            f"{where}: time column {time_column!r} does not parse as dates (e.g. {example!r}); "
            "write ISO 8601 times such as 2024-01-31 or 2024-01-31T12:00"
        )
    body = frame.drop(columns=[time_column])
    # Windows start at midnight of the first day, so that "1D" windows are calendar days.
    start = times.min().floor("D")
    bins = pd.cut(times, _edges(start, times.max(), offset), right=False)
    windows: dict[str, pd.DataFrame] = {}
    for key, rows in body.groupby(bins, observed=True):
        if len(rows):
            windows[key.left.isoformat().replace("T00:00:00", "")] = rows
    return windows


def _edges(start: pd.Timestamp, end: pd.Timestamp, offset) -> pd.DatetimeIndex:
    edges = [start]
    while edges[-1] <= end:
        edges.append(edges[-1] + offset)
    return pd.DatetimeIndex(edges)


def as_windows(current: object, where: str = "current") -> dict[str, pd.DataFrame]:
    """Normalise ``current``: one DataFrame, a sequence of them, or a mapping name to frame."""
    from causalinterp.monitoring.partitioned import ParquetWindow

    if isinstance(current, pd.DataFrame | ParquetWindow):
        frames: Mapping[str, object] = {"window 1": current}
    elif isinstance(current, Mapping):
        frames = {str(k): v for k, v in current.items()}
    elif isinstance(current, Sequence) and not isinstance(current, str):
        frames = {f"window {i + 1}": v for i, v in enumerate(current)}
    else:
        raise DataError(
            f"{where}: expected a DataFrame, a list of them or a dict name -> DataFrame, got "
            f"{type(current).__name__}; pass the window's rows as a DataFrame"
        )
    if not frames:
        raise DataError(f"{where}: no windows given; pass at least one DataFrame")
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame | ParquetWindow):
            raise DataError(
                f"{where} {name!r}: expected a DataFrame, got {type(frame).__name__}; "
                "load it with pandas"
            )
    return dict(frames)  # type: ignore[arg-type]
