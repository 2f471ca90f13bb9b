"""Windows given as Parquet datasets, summarised partition by partition on a dask.distributed
LocalCluster: the same result as the rows read whole when the window fits in the sample, exact
counts and the same alerts when it does not, the same sample however the rows are
partitioned; the CLI's --scheduler."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _monitor_worlds import GRAPH
from _monitor_worlds import draw as _draw
from sklearn.linear_model import LinearRegression

from causalinterp.cli import main
from causalinterp.errors import DataError, OptionError
from causalinterp.monitoring import monitor, summarize_reference
from causalinterp.monitoring.partitioned import parquet_window, sketch_window

distributed = pytest.importorskip("dask.distributed")



def _write(frame: pd.DataFrame, folder: Path, files: int, row_group: int) -> Path:
    folder.mkdir(parents=True)
    size = -(-len(frame) // files)
    for i in range(files):
        part = frame.iloc[i * size : (i + 1) * size]
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, folder / f"part-{i:03d}.parquet", row_group_size=row_group)
    return folder


def _without_seconds(result) -> dict:
    data = result.to_dict()
    data.pop("seconds")
    return data


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(scope="module")
def reference():
    rows = _draw(2000, 0)
    return rows, LinearRegression().fit(rows[["x"]], rows["y"])


def test_a_dataset_that_fits_gives_the_local_result(client, reference, tmp_path):
    rows, model = reference
    summary = summarize_reference(rows, GRAPH, "y", model=model, max_shap_rows=100)
    window = parquet_window(_write(_draw(3000, 2, 0.5), tmp_path / "w", 4, 400))
    assert (len(window.partitions), window.n_rows) == (8, 3000)
    local = monitor(summary, {"w": window.read()}, max_shap_rows=100, n_bootstrap=50)
    with distributed.get_task_stream(client) as stream:
        remote = monitor(summary, {"w": window}, max_shap_rows=100, n_bootstrap=50)
    ran = [task["key"] for task in stream.data]
    # Every partition was summarised on the cluster, and merged there pairwise.
    assert sum("summarize_partition" in str(k) for k in ran) == 8
    assert sum("merge" in str(k) for k in ran) == 7
    assert _without_seconds(remote) == _without_seconds(local)
    kinds = {(a.kind, a.subject) for _, a in remote.alerts}
    assert ("mechanism_change", "z") in kinds and ("feature_drift", "z") in kinds


def test_a_window_larger_than_the_sample_counts_every_row(client, reference, tmp_path):
    rows, model = reference
    # Tests on a sample of 600 rows; counts over all 4,000.
    summary = summarize_reference(
        rows, GRAPH, "y", model=model, max_shap_rows=100, reference_rows=600
    )
    frame = _draw(4000, 3, 0.5)
    frame.loc[3900:, "x"] = 40.0  # 100 rows out of range, all in the last partition
    window = parquet_window(_write(frame, tmp_path / "w", 5, 300))
    local = monitor(summary, {"w": frame}, max_shap_rows=100, n_bootstrap=50)
    remote = monitor(summary, {"w": window}, max_shap_rows=100, n_bootstrap=50)
    (ours,), (theirs,) = remote.windows, local.windows
    assert (ours.n_rows, ours.labelled) == (4000, 4000)
    assert ours.support == theirs.support  # exact: ranges, novelty share, most novel rows
    x = next(r for r in ours.support.ranges if r.name == "x")
    assert x.share_outside == np.mean((frame["x"] < x.low) | (frame["x"] > x.high)) >= 0.025
    kinds = {(a.kind, a.subject) for a in ours.alerts}
    assert kinds == {(a.kind, a.subject) for a in theirs.alerts}
    assert ("out_of_range", "x") in {(a.kind, a.subject) for a in ours.alerts}
    # The sample does not depend on how the rows are partitioned, nor on the cluster.
    other = parquet_window(_write(frame, tmp_path / "other", 2, 1000))
    seed = 12345
    a = sketch_window(window, summary, "w", seed)
    b = sketch_window(other, summary, "w", seed)
    assert len(a.sample) == 600 and a.sample.index.equals(b.sample.index)
    assert a.sample.index.is_monotonic_increasing


def test_cli_scheduler_runs_the_dataset_on_the_cluster(client, tmp_path, capsys):
    _draw(800, 0).to_csv(tmp_path / "reference.csv", index=False)
    dataset = _write(_draw(600, 2, 0.5), tmp_path / "week", 3, 100)
    argv = ["monitor", "--reference", str(tmp_path / "reference.csv"), "--graph", GRAPH]
    argv += ["--outcome", "y", "--max-shap-rows", "100", "--n-bootstrap", "50", "--quiet"]
    argv += ["--current", str(dataset)]
    assert main([*argv, "--out", str(tmp_path / "local")]) == 1
    scheduler = client.scheduler.address
    assert main([*argv, "--out", str(tmp_path / "dask"), "--scheduler", scheduler]) == 1
    assert capsys.readouterr().err == ""
    local, remote = (json.loads((tmp_path / d / "monitor.json").read_text()) for d in ("local", "dask"))  # noqa: E501
    local.pop("seconds"), remote.pop("seconds")
    assert remote == local and local["windows"][0]["name"] == "week"
    # A glob names the same dataset.
    pattern = dataset / "part-*.parquet"
    assert parquet_window(pattern).partitions == parquet_window(dataset).partitions


def test_bad_datasets_and_backends_are_one_line_errors(tmp_path, reference, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"^current: no .parquet files in .*empty'; pass a folder"):
        parquet_window(tmp_path / "empty")
    mixed = _write(_draw(100, 1), tmp_path / "mixed", 1, 100)
    pq.write_table(pa.table({"z": [1.0], "q": [2.0]}), mixed / "part-999.parquet")
    with pytest.raises(DataError, match=r"part-999.parquet' has columns z, q, unlike .*same"):
        parquet_window(mixed)
    rows, model = reference
    summary = summarize_reference(rows, GRAPH, "y", model=model, max_shap_rows=100)
    holes = _draw(300, 1)
    holes.loc[250, "x"] = np.nan
    window = parquet_window(_write(holes, tmp_path / "holes", 3, 100))
    expected = r"^current window 'w \(part-002.parquet\)': column 'x' has missing values"
    with pytest.raises(DataError, match=expected):
        monitor(summary, {"w": window})
    csv = tmp_path / "r.csv"
    rows.to_csv(csv, index=False)
    argv = ["monitor", "--reference", str(csv), "--graph", GRAPH, "--outcome", "y"]
    argv += ["--current", str(tmp_path / "holes"), "--out", str(tmp_path / "o")]
    assert main([*argv, "--backend", "dask"]) == 2
    assert "backend: 'dask' needs a cluster; pass --scheduler ADDRESS" in capsys.readouterr().err
    with pytest.raises(OptionError, match=r"time_column: .* is a Parquet dataset"):
        monitor(summary, window, time_column="t", window="1D")
