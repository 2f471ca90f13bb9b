"""The history database: runs appended whole (one transaction), read back, on SQLite and on a
real PostgreSQL server started for these tests; concurrent runs; the CLI's --history and
``causalinterp history``."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import _postgres
import pytest
import sqlalchemy as sa
from _monitor_worlds import GRAPH
from _monitor_worlds import draw as _draw
from sklearn.linear_model import LinearRegression

from causalinterp.cli import main
from causalinterp.errors import OptionError
from causalinterp.monitoring import history, monitor


@pytest.fixture(scope="module")
def result():
    reference = _draw(800, 0)
    model = LinearRegression().fit(reference[["x"]], reference["y"])
    windows = {"stable": _draw(400, 1), "shifted": _draw(400, 2, 1.0)}
    return monitor(
        reference, windows, GRAPH, "y", model=model, max_shap_rows=100, n_bootstrap=50,
        progress=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def postgres_server():
    bindir = _postgres.binaries()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql (scripts/test does)")
    with _postgres.server(bindir) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(
        history.database_url(server), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def _counts(database: str) -> dict[str, int]:
    engine = sa.create_engine(history.database_url(database), poolclass=sa.NullPool)
    with engine.connect() as conn:
        counts = {
            t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("runs", "windows", "figures", "alerts")
        }
    engine.dispose()
    return counts


def test_a_run_is_stored_whole_and_read_back(result, database):
    recorded = history.record_run(result, database)
    stored = history.read_history(database)
    assert [r.id for r in stored.runs] == [recorded.id] and stored.runs[0].key == recorded.key
    run = stored.runs[0]
    assert (run.outcome, run.exit_code) == ("y", 1)
    assert [(w.name, w.n_rows, w.labelled) for w in run.windows] == [
        ("stable", 400, 400),
        ("shifted", 400, 400),
    ]
    expected = [(name, a.kind, a.subject, a.message) for name, a in result.alerts]
    assert [(a.window, a.kind, a.subject, a.message) for a in run.alerts] == expected
    # The shift of z shows in the stored figures: drift of z above its threshold when shifted.
    document = result.to_dict()
    for window, stored_window in zip(document["windows"], run.windows, strict=True):
        drift = {f.subject: f for f in stored_window.figures if f.figure == "drift"}
        assert {d["name"]: d["distance"] for d in window["drift"]} == pytest.approx(
            {name: f.value for name, f in drift.items()}
        )
        mechanism = {f.subject for f in stored_window.figures if f.figure == "mechanism"}
        assert mechanism == {m["node"] for m in window["causal_drift"]}
    shifted = {f.subject: f for f in run.windows[1].figures if f.figure == "drift"}
    assert shifted["z"].value > shifted["z"].threshold == 0.1
    stable = {f.subject: f for f in run.windows[0].figures if f.figure == "drift"}
    assert all(f.value < f.threshold for f in stable.values())
    assert json.loads(json.dumps(stored.to_dict()))["runs"][0]["windows"][1]["name"] == "shifted"


def test_concurrent_runs_all_land_whole(result, database):
    history.check_history(database)  # the schema exists; the appends below race each other
    errors: list[BaseException] = []

    def append() -> None:
        try:
            for _ in range(3):
                history.record_run(result, database)
        except BaseException as error:  # pragma: no cover - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=append) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    runs = history.read_history(database).runs
    assert len(runs) == 6 and len({r.key for r in runs}) == 6
    assert all(len(r.windows) == 2 and len(r.alerts) == len(result.alerts) for r in runs)


def test_a_run_failing_mid_write_leaves_nothing(result, database, monkeypatch):
    history.record_run(result, database)
    before = _counts(database)

    def fail(alerts):
        raise RuntimeError("disk full")  # after the run, its first window and its figures

    monkeypatch.setattr(history, "_alert_rows", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        history.record_run(result, database)
    assert _counts(database) == before
    assert len(history.read_history(database).runs) == 1


def test_concurrent_first_runs_create_the_schema_once(result, database):
    threads = [
        threading.Thread(target=history.record_run, args=(result, database)) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(history.read_history(database).runs) == 3
    engine = sa.create_engine(history.database_url(database), poolclass=sa.NullPool)
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version")).scalars().all()
    engine.dispose()
    assert versions == [history.SCHEMA_VERSION]


def test_an_empty_history_renders(tmp_path):
    history.check_history(tmp_path / "empty.db")
    stored = history.read_history(tmp_path / "empty.db")
    stored.write(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "history.json").read_text())["runs"] == []
    assert "No runs stored yet" in (tmp_path / "out" / "history.html").read_text()


def test_bad_targets_are_one_line_errors(tmp_path):
    with pytest.raises(OptionError, match=r"^history: .* is a folder; pass a file such as"):
        history.check_history(tmp_path)
    with pytest.raises(OptionError, match=r"^history: no driver for 'nosuch'"):
        history.check_history("nosuch://host/db")
    with pytest.raises(OptionError, match=r"^history: folder .* does not exist; create it"):
        history.check_history(tmp_path / "missing" / "h.db")
    with pytest.raises(OptionError, match=r"^history: .*absent.db' does not exist; pass the"):
        history.read_history(tmp_path / "absent.db")
    # A server that is not there: the URL without its password, and what to check.
    with pytest.raises(OptionError) as caught:
        history.check_history("postgresql://me:secret@127.0.0.1:1/db")
    assert str(caught.value).startswith("history: cannot use 'postgresql+psycopg")
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)
    # A newer schema is refused rather than written to.
    newer = tmp_path / "newer.db"
    history.check_history(newer)
    engine = sa.create_engine(f"sqlite:///{newer}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_version VALUES (99, 'later')"))
    engine.dispose()
    with pytest.raises(OptionError, match=r"schema version 99, newer .*; upgrade causalinterp"):
        history.check_history(newer)


def test_monitor_appends_and_history_draws_the_timeline(tmp_path, capsys):
    files = {
        "reference.csv": _draw(800, 0),
        "stable.csv": _draw(400, 1),
        "shifted.csv": _draw(400, 2, 1.0),
    }
    for name, frame in files.items():
        frame.to_csv(tmp_path / name, index=False)
    database = tmp_path / "history.db"
    argv = ["monitor", "--reference", str(tmp_path / "reference.csv"), "--graph", GRAPH]
    argv += ["--outcome", "y", "--current", str(tmp_path / "stable.csv")]
    argv += ["--current", str(tmp_path / "shifted.csv")]
    argv += ["--max-shap-rows", "100", "--n-bootstrap", "50"]
    assert (
        main([*argv, "--out", str(tmp_path / "day1"), "--quiet", "--history", str(database)]) == 1
    )
    # In a config file, a path is relative to the file: the same database.
    (tmp_path / "monitor.toml").write_text('history = "history.db"\n')
    assert (
        main([*argv, "--out", str(tmp_path / "day2"), "--config", str(tmp_path / "monitor.toml")])
        == 1
    )
    assert "run #2 stored in sqlite:///" in capsys.readouterr().out
    url = f"sqlite:///{database}"
    assert main(["history", "--history", url, "--out", str(tmp_path / "h")]) == 0
    data = json.loads((tmp_path / "h" / "history.json").read_text())
    assert [r["id"] for r in data["runs"]] == [1, 2]
    day1 = json.loads((tmp_path / "day1" / "monitor.json").read_text())
    for run in data["runs"]:
        assert [w["name"] for w in run["windows"]] == ["stable.csv", "shifted.csv"]
        assert [(a["window"], a["kind"], a["subject"]) for a in run["alerts"]] == [
            ("shifted.csv", a["kind"], a["subject"]) for a in day1["windows"][1]["alerts"]
        ]
    html = (tmp_path / "h" / "history.html").read_text()
    assert 'id="timeline-drift"' in html and 'id="timeline-mechanism"' in html
    assert "Content-Security-Policy" in html and "<script" not in html
    # A database that cannot be opened fails before the work, exit status 2, one line.
    argv_bad = [*argv, "--out", str(tmp_path / "day3"), "--history", "nosuch://x/y"]
    assert main(argv_bad) == 2
    err = capsys.readouterr().err
    assert err.startswith("causalinterp: error: history: no driver") and err.count("\n") == 1
    assert not (tmp_path / "day3").exists()
    assert main(["history", "--out", str(tmp_path / "h2")]) == 2
    assert "history: not given" in capsys.readouterr().err


def test_schema_is_documented_table_by_table():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "monitoring.md").read_text("utf-8")
    section = docs.split("## History database", 1)[1].split("\n## ", 1)[0]
    for table in (history.RUNS, history.WINDOWS, history.FIGURES, history.ALERTS):
        assert f"`{table.name}`" in section, table.name
        for column in table.columns:
            assert f"`{column.name}`" in section, (table.name, column.name)
    assert "`schema_version`" in section
