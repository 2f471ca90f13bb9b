"""Progress bars: shown on a terminal, silent with --quiet and when standard error is not one."""

from __future__ import annotations

import io
import sys

import numpy as np
import pandas as pd
import pytest

from causalinterp import _progress, analyze
from causalinterp.cli import main

GRAPH = "w -> t; w -> y; t -> y"


class _Terminal(io.StringIO):
    """A standard error that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _data(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    w = rng.normal(size=n)
    t = w + rng.normal(size=n)
    return pd.DataFrame({"w": w, "t": t, "y": t + w + rng.normal(size=n)})


def _square(x: int) -> int:
    return x * x


OPTIONS = {"features": ["t"], "refute": "none", "nuisance": "linear", "test_graph": False}


def test_auto_progress_follows_whether_stderr_is_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert _progress.resolve_progress(None) is False
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert _progress.resolve_progress(None) is True
    assert _progress.resolve_progress(False) is False


def test_run_parallel_draws_a_bar_only_when_asked(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert _progress.run_parallel(_square, [1, 2, 3], n_jobs=1, progress=True, desc="sq") == [
        1,
        4,
        9,
    ]
    assert "sq:" in terminal.getvalue() and "/3" in terminal.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert _progress.run_parallel(_square, [1, 2], n_jobs=1, progress=False) == [1, 4]
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("terminal", [True, False])
def test_analyze_shows_progress_only_on_a_terminal(monkeypatch, terminal):
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    analyze(_data(), GRAPH, "y", n_jobs=1, **OPTIONS)
    text = stream.getvalue()
    if terminal:
        assert "effects:" in text
    else:
        assert text == ""


def test_analyze_progress_false_is_silent_on_a_terminal(monkeypatch):
    stream = _Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    analyze(_data(), GRAPH, "y", n_jobs=1, progress=False, **OPTIONS)
    assert stream.getvalue() == ""


def test_cli_quiet_prints_nothing_even_on_a_terminal(monkeypatch, tmp_path):
    path = tmp_path / "data.csv"
    _data().to_csv(path, index=False)
    argv = ["analyze", "--data", str(path), "--graph", GRAPH, "--outcome", "y"]
    argv += ["--features", "t", "--refute", "none", "--no-graph-test", "--n-jobs", "1"]
    stream = _Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    assert main([*argv, "--out", str(tmp_path / "quiet"), "--quiet"]) == 0
    assert stream.getvalue() == ""


def test_lazy_tasks_are_built_as_the_workers_take_them():
    """A ``Lazy`` task is built when joblib draws it: the first runs before the last is built
    (so building overlaps the work, and not every task's arrays are held at once)."""
    log: list[tuple[str, int]] = []

    def build(spec: int) -> int:
        log.append(("build", spec))
        return spec * 10

    def work(task: int) -> int:
        log.append(("run", task // 10))
        return task + 1

    tasks = _progress.Lazy(range(12), build)
    assert len(tasks) == 12 and not log  # nothing built yet
    assert _progress.run_parallel(work, tasks, n_jobs=2, backend="threading") == [
        10 * i + 1 for i in range(12)
    ]
    assert log.index(("run", 0)) < log.index(("build", 11))
    log.clear()
    _progress.run_parallel(work, tasks, n_jobs=1)
    assert log[:4] == [("build", 0), ("run", 0), ("build", 1), ("run", 1)]
