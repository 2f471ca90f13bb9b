"""Faults: a failing or hanging feature is isolated, reports are written atomically, and an
interrupted or failed run leaves no half-written report (and any earlier report whole)."""

from __future__ import annotations

import contextlib
import errno
import inspect
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalinterp import _io, analyze, options
from causalinterp.cli import build_parser, main
from causalinterp.estimate import effects

GRAPH = "z -> x; z -> y; x -> y; w -> y"
REPORTS = {"report.json", "report.md", "report.html"}
# Far above a normal estimate here (a fraction of a second, a few on a loaded machine).
LIMIT = 3
TIME_LIMIT_MESSAGE = (
    f"estimation exceeded the time limit of {LIMIT} s; raise --time-limit or simplify the graph"
)


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = 0.8 * z + rng.normal(size=n)
    w = rng.normal(size=n)
    return pd.DataFrame({"z": z, "x": x, "w": w, "y": 1.5 * x + z - w + rng.normal(size=n)})


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False)
    return path


def run_cli(*argv) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as stop:
        return int(stop.code)


def cli_args(data_file, out, *extra):
    return (
        "analyze", "--data", data_file, "--graph", GRAPH, "--outcome", "y", "--out", out,
        "--refute", "none", "--no-graph-test", "--quiet", "--n-jobs", "1", *extra,
    )  # fmt: skip


def break_feature(monkeypatch, feature: str, fault) -> None:
    """Make ``feature``'s estimation run ``fault()`` instead (in this process: n_jobs=1 or
    threads)."""
    original = effects._estimate_task

    def estimate(task):
        if task.feature == feature:
            return fault()
        return original(task)

    monkeypatch.setattr(effects, "_estimate_task", estimate)


def singular():
    raise np.linalg.LinAlgError("Singular matrix")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------------- fault isolation


def test_a_failing_feature_keeps_its_row_and_the_others_complete(monkeypatch):
    break_feature(monkeypatch, "x", singular)
    report = analyze(frame(), GRAPH, "y", refute="quick", test_graph=False, n_jobs=1)
    rows = report.table.set_index("feature")
    assert list(report.table["feature"]) == ["w", "x", "z"]
    assert rows.loc["x", "verdict"] == "error" and rows.loc["x", "causal_support"] is None
    assert "LinAlgError: Singular matrix" in rows.loc["x", "reasons"]
    assert np.isnan(rows.loc["x", "effect"]) and np.isfinite(rows.loc["x", "mean_abs_shap"])
    for other, truth in (("w", -1.0), ("z", 1.0 + 0.8 * 1.5)):
        assert rows.loc[other, "verdict"] != "error"
        assert rows.loc[other, "ci_low"] < truth < rows.loc[other, "ci_high"]
    data = report.to_dict()
    x = next(f for f in data["features"] if f["name"] == "x")
    assert x["error"] == "LinAlgError: Singular matrix" and x["effect"] is None
    assert x["refutations"] == [] and x["verdict"] == "error"
    assert all(f["refutations"] for f in data["features"] if f["name"] != "x")
    assert data["summary"]["verdict_counts"]["error"] == 1


def test_strict_makes_a_run_with_a_failed_feature_exit_non_zero(
    monkeypatch, data_file, tmp_path, capsys
):
    break_feature(monkeypatch, "w", singular)
    assert run_cli(*cli_args(data_file, tmp_path / "lenient")) == 0
    assert run_cli(*cli_args(data_file, tmp_path / "strict", "--strict")) == 1
    for out in ("lenient", "strict"):  # the report is written either way, error row included
        saved = json.loads((tmp_path / out / "report.json").read_text())
        w = next(f for f in saved["features"] if f["name"] == "w")
        assert w["verdict"] == "error" and "Singular matrix" in w["error"]
    assert capsys.readouterr().err == ""


def test_strict_exits_zero_when_nothing_failed(data_file, tmp_path):
    assert run_cli(*cli_args(data_file, tmp_path / "out", "--strict")) == 0


# ---------------------------------------------------------------------- time limit


def test_time_limit_has_a_documented_default():
    default = inspect.signature(analyze).parameters["time_limit"].default
    assert default == options.default("time_limit") == 600
    assert inspect.signature(effects.estimate_effects).parameters["time_limit"].default == 600
    help_text = build_parser()._subparsers._group_actions[0].choices["analyze"].format_help()
    assert "--time-limit" in help_text and "default: 600" in " ".join(help_text.split())
    docs = (Path(__file__).resolve().parents[1] / "docs" / "reliability.md").read_text()
    assert "600" in docs and "--time-limit" in docs


def hang():
    # Short sleeps: interruptible whichever mechanism is free (pytest-timeout, when used,
    # holds SIGALRM and the limit then falls back to the timer thread).
    while True:
        time.sleep(0.05)


def test_a_hanging_feature_is_stopped_at_the_time_limit(monkeypatch):
    break_feature(monkeypatch, "x", hang)
    start = time.perf_counter()
    report = analyze(
        frame(), GRAPH, "y", refute="none", test_graph=False, n_jobs=1, time_limit=LIMIT
    )
    assert time.perf_counter() - start < 30
    x = report.effects.by_feature["x"]
    assert x.status == "error" and x.message == TIME_LIMIT_MESSAGE
    assert report.verdicts["x"].verdict == "error"
    assert TIME_LIMIT_MESSAGE in report.verdicts["x"].reasons[0]
    assert report.effects.by_feature["w"].status == "estimated"
    assert report.effects.by_feature["z"].status == "estimated"


def test_time_limit_in_worker_threads(monkeypatch):
    # Threads cannot use the alarm: a timer thread interrupts the busy feature instead,
    # even when the code swallows ordinary exceptions.
    def spin():
        while True:
            with contextlib.suppress(Exception):
                time.sleep(0.01)

    break_feature(monkeypatch, "w", spin)
    result = effects.estimate_effects(
        analyze_checked(), parse(GRAPH), n_jobs=2, backend="threading", time_limit=LIMIT
    )
    assert result.by_feature["w"].message == TIME_LIMIT_MESSAGE
    assert result.by_feature["x"].status == result.by_feature["z"].status == "estimated"


def analyze_checked():
    from causalinterp.data import check_data

    return check_data(frame(), parse(GRAPH), "y")


def parse(text):
    from causalinterp.graph import CausalGraph

    return CausalGraph.parse(text)


def test_time_limit_through_the_cli(monkeypatch, data_file, tmp_path):
    break_feature(monkeypatch, "z", hang)
    out = tmp_path / "out"
    assert run_cli(*cli_args(data_file, out, "--time-limit", str(LIMIT), "--strict")) == 1
    saved = json.loads((out / "report.json").read_text())
    z = next(f for f in saved["features"] if f["name"] == "z")
    assert z["verdict"] == "error" and z["error"] == TIME_LIMIT_MESSAGE
    assert all(f["verdict"] != "error" for f in saved["features"] if f["name"] != "z")


def test_a_fast_estimate_is_untouched_by_the_limit():
    checked = analyze_checked()
    limited = effects.estimate_effects(checked, parse(GRAPH), seed=3, time_limit=120)
    unlimited = effects.estimate_effects(checked, parse(GRAPH), seed=3, time_limit=None)
    assert limited.by_feature == unlimited.by_feature


# ---------------------------------------------------------------------- atomic writes


def old_report(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in REPORTS:
        (folder / name).write_bytes(f"an earlier {name}\n".encode())
    return {name: (folder / name).read_bytes() for name in REPORTS}


def test_a_failure_while_writing_leaves_the_earlier_report_whole(monkeypatch, tmp_path):
    report = analyze(frame(), GRAPH, "y", refute="none", test_graph=False)
    out = tmp_path / "out"
    before = old_report(out)
    calls = []
    real_fsync = os.fsync

    def full_disk(fd):
        calls.append(fd)
        if len(calls) == 3:  # the third file: the first two are already complete
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(_io.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        report.write(out)
    assert {name: (out / name).read_bytes() for name in REPORTS} == before
    assert leftovers(out) == []

    monkeypatch.setattr(_io.os, "fsync", real_fsync)
    report.write(out)
    assert json.loads((out / "report.json").read_text())["outcome"] == "y"
    assert leftovers(out) == []


def test_the_cli_reports_a_write_failure_in_one_line(monkeypatch, data_file, tmp_path, capsys):
    out = tmp_path / "out"
    before = old_report(out)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_io.os, "fsync", full_disk)
    assert run_cli(*cli_args(data_file, out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("causalinterp: error: out: cannot write the reports to ")
    assert "(No space left on device); pass a writable folder" in err and err.count("\n") == 1
    assert {name: (out / name).read_bytes() for name in REPORTS} == before
    assert leftovers(out) == []


def test_an_interrupted_analysis_writes_nothing(monkeypatch, data_file, tmp_path, capsys):
    def interrupt():
        raise KeyboardInterrupt

    break_feature(monkeypatch, "x", interrupt)
    fresh, existing = tmp_path / "fresh", tmp_path / "existing"
    before = old_report(existing)
    assert run_cli(*cli_args(data_file, fresh)) == 130
    assert run_cli(*cli_args(data_file, existing)) == 130
    assert "interrupted; nothing was written" in capsys.readouterr().err
    assert not fresh.exists() or list(fresh.iterdir()) == []
    assert {p.name for p in existing.iterdir()} == REPORTS
    assert {name: (existing / name).read_bytes() for name in REPORTS} == before


def test_rerunning_into_an_existing_folder_replaces_the_report_only(data_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    assert run_cli(*cli_args(data_file, out, "--seed", "1")) == 0
    first = json.loads((out / "report.json").read_text())
    os.chmod(out / "report.md", 0o640)
    assert run_cli(*cli_args(data_file, out, "--seed", "2")) == 0
    second = json.loads((out / "report.json").read_text())
    assert (first["settings"]["seed"], second["settings"]["seed"]) == (1, 2)
    assert {p.name for p in out.iterdir()} == REPORTS | {"notes.txt"}
    assert (out / "notes.txt").read_text() == "mine\n"
    assert (out / "report.md").stat().st_mode & 0o777 == 0o640


def test_the_alarm_interrupts_a_blocking_call_and_is_restored():
    import signal

    from causalinterp._timeout import TimeLimitExceeded, call_with_time_limit

    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers on this platform")
    if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
        pytest.skip("SIGALRM is in use (pytest-timeout?)")
    start = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match=r"exceeded the time limit of 0\.2 s"):
        call_with_time_limit(lambda: time.sleep(30), 0.2)
    assert time.perf_counter() - start < 5
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert call_with_time_limit(lambda: 42, 0.2) == 42
