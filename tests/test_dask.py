"""Scale-out: the same analysis on a dask.distributed cluster through joblib's dask backend.

A real ``LocalCluster`` (two worker processes) runs every per-feature and per-simulation task;
the report must be identical to the local run's (everything but the ``run`` block).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalinterp import analyze
from causalinterp._progress import dask_client
from causalinterp.cli import main, read_table
from causalinterp.errors import OptionError

distributed = pytest.importorskip("dask.distributed")

GRAPH = "w1 -> x1; w1 -> x2; w2 -> x2; w2 -> x3; x1 -> x3; x1 -> y; x2 -> y; x3 -> y; w1 -> y"


def _data(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w1, w2 = rng.normal(size=n), rng.normal(size=n)
    x1 = 0.7 * w1 + rng.normal(size=n)
    x2 = (rng.random(n) < 1 / (1 + np.exp(-(w1 - w2)))).astype(float)  # binary: re-fit path
    x3 = 0.5 * w2 + 0.4 * x1 + rng.normal(size=n)
    y = 0.5 * x1 + 0.8 * x2 - 0.3 * x3 + w1 + rng.normal(size=n)
    return pd.DataFrame({"w1": w1, "w2": w2, "x1": x1, "x2": x2, "x3": x3, "y": y})


OPTIONS = {
    "features": ["x1", "x2"],
    "seed": 3,
    "refute": "quick",
    "nuisance": "linear",
    "test_graph": False,
    "progress": False,
}


def _without_run(text: str) -> dict:
    report = json.loads(text)
    report.pop("run")
    return report


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local_cluster:
        yield local_cluster


def test_dask_backend_gives_the_local_report(cluster):
    data = _data()
    local = analyze(data, GRAPH, "y", n_jobs=1, **OPTIONS)
    with distributed.Client(cluster) as client:
        remote = analyze(data, GRAPH, "y", n_jobs=-1, backend="dask", **OPTIONS)
        # The tasks really ran on the cluster's workers.
        assert sum(client.run(lambda: 1).values()) == 2
    assert _without_run(remote.to_json()) == _without_run(local.to_json())
    kinds = {f["name"]: f["effect"]["method"] for f in json.loads(local.to_json())["features"]}
    assert kinds == {"x1": "LinearDML", "x2": "LinearDRLearner"}


def test_cli_scheduler_option_runs_on_the_cluster(cluster, tmp_path, capsys):
    path = tmp_path / "data.csv"
    _data(300, seed=1).to_csv(path, index=False)
    argv = ["analyze", "--data", str(path), "--graph", GRAPH, "--outcome", "y"]
    argv += ["--features", "x1,x3", "--refute", "quick", "--no-graph-test", "--quiet"]
    argv += ["--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
    local = analyze(
        read_table(path),
        GRAPH,
        "y",
        features=["x1", "x3"],
        refute="quick",
        test_graph=False,
        progress=False,
    )
    remote = (tmp_path / "dask" / "report.json").read_text()
    assert _without_run(remote) == _without_run(local.to_json())


def test_dask_backend_without_a_client_is_a_one_line_error():
    with pytest.raises(OptionError, match=r"^backend: 'dask' needs a running dask.distributed"):
        analyze(_data(200), GRAPH, "y", backend="dask", **OPTIONS)


def test_unreachable_scheduler_is_a_one_line_error():
    expected = r"^scheduler: cannot connect to 'tcp://127.0.0.1:1'"
    with pytest.raises(OptionError, match=expected), dask_client("tcp://127.0.0.1:1", timeout="2s"):
        pass  # pragma: no cover
