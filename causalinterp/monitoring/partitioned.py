"""Windows larger than one machine: a Parquet dataset summarised partition by partition.

A window given as a Parquet dataset (a folder or a glob; :func:`parquet_window`) is never read
whole. Each partition (a row group of a file) is summarised where it is read, on a Dask worker
when a ``dask.distributed`` client is active, and the summaries are merged pairwise:

* **counts, exact over every row**: rows, labelled rows, rows outside each feature's reference
  range or at an unseen level, rows beyond the novelty cut-off (the support check), and the
  most novel rows;
* **a uniform sample of rows** for the tests (drift, mechanisms, attributions, performance):
  every row gets a pseudo-random key from its position in the dataset and the window's seed
  (a hash, so the key does not depend on how the rows are partitioned), each partition keeps
  its ``reference_rows`` smallest keys, and a merge keeps the smallest of both: the sample is
  the same whatever the partitioning, the number of workers or the order of the merges.

The sample is then compared with the reference like any window. A window with at most
``reference_rows`` rows is its own sample, in its own row order, so its figures and alerts are
exactly those of the same rows read whole (``tests/test_monitor_dask.py``).
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.errors import DataError, first_line
from causalinterp.monitoring.drift import check_window
from causalinterp.monitoring.support import N_EXAMPLES, RangeCheck, SupportCheck, check_support

_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class Partition:
    """One row group of one file, and the position of its first row in the window."""

    file: str
    row_group: int
    offset: int
    rows: int


@dataclass(frozen=True)
class ParquetWindow:
    """A window left on disk: a Parquet dataset's files and their row groups.

    Attributes
    ----------
    source : str
        The folder or glob it was given as.
    partitions : tuple of Partition
        Row groups in file order (files sorted by path).
    columns : tuple of str
        The columns (every file has the same).
    """

    source: str
    partitions: tuple[Partition, ...]
    columns: tuple[str, ...]

    @property
    def n_rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    def read(self) -> pd.DataFrame:
        """Every row, in order, as one DataFrame (a window that fits in memory)."""
        import pyarrow.parquet as pq

        frames = [pq.ParquetFile(f).read().to_pandas() for f in _files(self.partitions)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _files(partitions: Sequence[Partition]) -> list[str]:
    return list(dict.fromkeys(p.file for p in partitions))


def parquet_window(source: str | Path, where: str = "current") -> ParquetWindow:
    """The Parquet dataset at ``source``: a folder (read recursively) or a glob pattern.

    Only the files' footers are read (columns, row groups and their sizes).

    Raises
    ------
    DataError
        One line naming the input and the fix: no Parquet file, an unreadable one, or files
        with different columns.
    """
    import pyarrow.parquet as pq

    text = str(source)
    if Path(text).is_dir():
        files = sorted(p for p in Path(text).rglob("*") if p.is_file() and _is_parquet(p))
    else:
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if _is_parquet(Path(p)))
    if not files:
        raise DataError(
            f"{where}: no .parquet files {'in' if Path(text).is_dir() else 'match'} {text!r}; "
            "pass a folder of Parquet files or a glob such as 'exports/day=*/*.parquet'"
        )
    partitions, columns, offset = [], None, 0
    for path in files:
        try:
            meta = pq.ParquetFile(path).metadata
            names = tuple(pq.read_schema(path).names)
        except (OSError, ValueError) as error:
            raise DataError(
                f"{where}: {str(path)!r} is not a readable Parquet file ({first_line(error)}); "
                "remove it or rewrite it"
            ) from None
        names = tuple(n for n in names if not n.startswith("__index_level_"))
        if columns is None:
            columns = names
        elif set(names) != set(columns):
            raise DataError(
                f"{where}: {str(path)!r} has columns {', '.join(names)}, unlike "
                f"{str(files[0])!r}; write every partition with the same columns"
            )
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            if rows:
                partitions.append(Partition(str(path), group, offset, rows))
                offset += rows
    return ParquetWindow(text, tuple(partitions), tuple(columns or ()))


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq") and not path.name.startswith((".", "_"))


# --------------------------------------------------------------------------- sketches
@dataclass(frozen=True)
class Sketch:
    """The mergeable summary of some partitions of a window."""

    rows: int
    labelled: int
    outside: tuple[int, ...]
    unseen: tuple[tuple[str, ...], ...]
    novel: int
    examples: tuple[dict, ...]
    keys: np.ndarray
    sample: pd.DataFrame


def row_keys(positions: np.ndarray, seed: int) -> np.ndarray:
    """A pseudo-random 64-bit key per row position (SplitMix64 of position and seed): the
    same row gets the same key however the dataset is partitioned.

    Examples
    --------
    >>> a = row_keys(np.arange(6), 7)
    >>> bool((row_keys(np.arange(3, 6), 7) == a[3:]).all())
    True
    """
    with np.errstate(over="ignore"):
        z = positions.astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _smallest(keys: np.ndarray, positions: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest keys (ties, which a 64-bit hash all but never has, by
    position), in row order."""
    if len(keys) <= k:
        return np.argsort(positions, kind="stable")
    # Linear time: the k-th smallest key, then every key up to it; sort only at a tie.
    kth = np.partition(keys, k - 1)[k - 1]
    chosen = np.flatnonzero(keys <= kth)
    if len(chosen) > k:
        chosen = chosen[np.lexsort((positions[chosen], keys[chosen]))[:k]]
    return chosen[np.argsort(positions[chosen], kind="stable")]


def summarize_partition(part: Partition, context: dict[str, Any]) -> Sketch:
    """Read one partition and summarise it (runs on a worker)."""
    import pyarrow.parquet as pq

    summary = context["summary"]
    frame = pq.ParquetFile(part.file).read_row_group(part.row_group).to_pandas()
    frame.index = pd.RangeIndex(part.offset, part.offset + len(frame))
    # The same checks as a window read whole, naming the file at fault.
    check_window(frame, summary, f"{context['name']} ({Path(part.file).name})")
    outcome = summary.outcome
    labelled = int(frame[outcome].notna().sum()) if outcome in frame.columns else 0
    support = check_support(frame, summary.features, summary.columns, summary.novelty)
    n = len(frame)
    positions = frame.index.to_numpy(dtype=np.int64)
    keys = row_keys(positions, context["seed"])
    keep = _smallest(keys, positions, context["sample_rows"])
    novel = support.novelty_share
    return Sketch(
        rows=n,
        labelled=labelled,
        outside=tuple(round(r.share_outside * n) for r in support.ranges),
        unseen=tuple(r.unseen_levels for r in support.ranges),
        novel=round(novel * n) if novel == novel else -1,
        examples=support.examples,
        keys=keys[keep],
        sample=frame.iloc[keep],
    )


def merge(a: Sketch, b: Sketch, sample_rows: int) -> Sketch:
    """One sketch of the rows of both (associative and commutative)."""
    keys = np.concatenate([a.keys, b.keys])
    sample = pd.concat([a.sample, b.sample])
    keep = _smallest(keys, sample.index.to_numpy(dtype=np.int64), sample_rows)
    examples = sorted([*a.examples, *b.examples], key=lambda e: (-e["score"], e["row"]))
    return Sketch(
        rows=a.rows + b.rows,
        labelled=a.labelled + b.labelled,
        outside=tuple(x + y for x, y in zip(a.outside, b.outside, strict=True)),
        unseen=tuple(
            tuple(sorted(set(x) | set(y))[:10]) for x, y in zip(a.unseen, b.unseen, strict=True)
        ),
        novel=-1 if a.novel < 0 or b.novel < 0 else a.novel + b.novel,
        examples=tuple(examples[:N_EXAMPLES]),
        keys=keys[keep],
        sample=sample.iloc[keep],
    )


def sketch_window(window: ParquetWindow, summary: Any, name: str, seed: int) -> Sketch:
    """Summarise every partition of ``window`` and merge the summaries pairwise: on the active
    ``dask.distributed`` client's workers when there is one, else here, one partition at a
    time (memory bounded by a partition and the sample)."""
    k = int(summary.settings["reference_rows"])
    context = {"summary": summary, "name": name, "seed": seed,
               "sample_rows": k}  # fmt: skip
    if not window.partitions:
        raise DataError(
            f"current window {name!r}: {window.source!r} has no rows; pass a dataset with data"
        )
    client = _client()
    if client is None:
        sketch = None
        for part in window.partitions:
            one = summarize_partition(part, context)
            sketch = one if sketch is None else merge(sketch, one, k)
        return sketch
    # In a list: a dict given to scatter() is read as {key: data}. hash=False: a key of its
    # own, never one an earlier window's release could take away.
    (shared,) = client.scatter([context], broadcast=True, hash=False)
    level = [client.submit(summarize_partition, p, shared, pure=False) for p in window.partitions]
    while len(level) > 1:  # a tree of merges: no worker ever holds more than two samples
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = [
            client.submit(merge, *pair, k, pure=False) if len(pair) == 2 else pair[0]
            for pair in pairs
        ]
    return level[0].result()


def _client() -> Any:
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def compare_dataset(
    name: str,
    window: ParquetWindow,
    summary: Any,
    settings: Any,
    support: Any,
    seq: np.random.SeedSequence,
    *,
    compare: Callable[..., Any],
) -> Any:
    """One window's :class:`~causalinterp.monitoring.core.WindowResult` from its sketch: the
    tests on the sample, the counts and the support check over every row."""
    # generate_state leaves seq's children untouched: compare() spawns the same ones as for
    # a window read whole.
    seed = int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    sketch = sketch_window(window, summary, name, seed)
    exact = _support(sketch, summary)
    result = compare(name, sketch.sample, summary, settings, support, seq, exact_support=exact)
    return replace(result, n_rows=sketch.rows, labelled=sketch.labelled)


def _support(sketch: Sketch, summary: Any) -> SupportCheck:
    n = sketch.rows
    ranges = []
    for name, outside, unseen in zip(summary.features, sketch.outside, sketch.unseen, strict=True):
        ref = summary.columns[name]
        continuous = ref.kind == "continuous"
        ranges.append(
            RangeCheck(
                name,
                ref.low if continuous else None,
                ref.high if continuous else None,
                float(np.float64(outside) / n),
                () if continuous else unseen,
            )
        )
    if summary.novelty is None or sketch.novel < 0:
        return SupportCheck(float("nan"), float("nan"), tuple(ranges), ())
    return SupportCheck(
        float(np.float64(sketch.novel) / n), summary.novelty.cutoff, tuple(ranges),
        sketch.examples,
    )  # fmt: skip


__all__ = ["ParquetWindow", "Partition", "compare_dataset", "parquet_window", "row_keys"]
