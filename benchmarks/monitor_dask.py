"""A window larger than memory on Dask: a Parquet dataset summarised partition by partition.

``python benchmarks/monitor_dask.py --rows 10000000 [--files 20] [--row-group 500000]
[--workers 2] [--dir /tmp/monitor-dask] [--check-local]``

Writes a window of ``--rows`` rows of a six-node linear model (node ``m``'s mechanism shifted by
0.5 SD) as a Parquet dataset, file by file, never holding it whole;
summarises a 20,000-row reference; then compares the dataset with it on a
``dask.distributed.LocalCluster`` of ``--workers`` single-threaded worker processes. Reports the
wall time, rows per second, the peak memory of the client and of each worker, and the alerts.
``--check-local`` also reads the window whole and compares it locally (only for sizes that fit),
to check that the alerts are the same.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.linear_model import LinearRegression

from causalinterp.monitoring import monitor, summarize_reference
from causalinterp.monitoring.partitioned import parquet_window

GRAPH = "a -> m; a -> c; b -> c; m -> y; c -> y; d -> y; a -> y"
FEATURES = ["m", "c", "d", "b"]


def draw(n: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    """Rows of the model; ``shift`` moves m's mechanism (its noise) by that many SD."""
    a, b, d = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    m = 0.8 * a + rng.normal(shift, 1.0, n)
    c = 0.5 * a - 0.6 * b + rng.normal(size=n)
    y = 1.0 * m + 0.5 * c - 0.4 * d + 0.3 * a + rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "m": m, "c": c, "d": d, "y": y})


def _peak_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timings(tasks) -> str:
    """Seconds of worker time per kind of task (partition summaries, merges)."""
    spent: dict[str, float] = {}
    for task in tasks:
        name = str(task["key"]).split("-")[0]
        spent[name] = spent.get(name, 0.0) + sum(s["stop"] - s["start"] for s in task["startstops"]
                                                 if s["action"] == "compute")  # fmt: skip
    return ", ".join(f"{k} {v:.1f} s" for k, v in sorted(spent.items()))


def write_dataset(folder: Path, rows: int, files: int, row_group: int, seed: int) -> None:
    """``rows`` rows of the shifted window in ``files`` files, one file in memory at a time."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    per_file = -(-rows // files)
    for i in range(files):
        n = min(per_file, rows - i * per_file)
        if n <= 0:
            break
        frame = draw(n, np.random.default_rng([seed, i]), shift=0.5)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, folder / f"part-{i:04d}.parquet", row_group_size=row_group)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--row-group", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/monitor-dask"))
    parser.add_argument("--check-local", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the dataset afterwards")
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster, get_task_stream

    started = time.perf_counter()
    write_dataset(args.dir, args.rows, args.files, args.row_group, seed=1)
    size = sum(p.stat().st_size for p in args.dir.iterdir()) / 2**20
    print(f"dataset: {args.rows:,} rows, {args.files} files, {size:,.0f} MB, "
          f"written in {time.perf_counter() - started:.0f} s")  # fmt: skip
    reference = draw(20_000, np.random.default_rng(0))
    model = LinearRegression().fit(reference[FEATURES], reference["y"])
    summary = summarize_reference(reference, GRAPH, "y", model=model, seed=0)
    window = parquet_window(args.dir)
    print(f"{len(window.partitions)} partitions (row groups)")
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=None,
        ) as cluster,  # fmt: skip
        Client(cluster) as client,
    ):
        client.run(lambda: None)  # workers up before the clock starts
        started = time.perf_counter()
        with get_task_stream(client) as stream:
            result = monitor(summary, {"big": window}, seed=0, progress=False)
        seconds = time.perf_counter() - started
        workers = client.run(_peak_mb)  # run in each worker process
        stages = _timings(stream.data)
    alerts = sorted((a.kind, a.subject) for _, a in result.alerts)
    print(
        f"dask: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s; peak memory client "
        f"{_peak_mb():,.0f} MB, workers " + ", ".join(f"{v:,.0f} MB" for v in workers.values())
    )
    print(f"worker time: {stages}")
    print(f"alerts: {alerts}")
    if args.check_local:
        frame = window.read()
        started = time.perf_counter()
        local = monitor(summary, {"big": frame}, seed=0, progress=False)
        print(
            f"local (read whole): {time.perf_counter() - started:.1f} s; same alerts: "
            f"{sorted((a.kind, a.subject) for _, a in local.alerts) == alerts}"
        )
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
