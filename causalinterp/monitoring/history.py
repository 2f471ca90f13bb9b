"""The history of monitoring runs in a database: the only module that imports SQLAlchemy.

:func:`record_run` appends one run of :func:`causalinterp.monitor` (the run, its windows, every
figure and every alert) in **one transaction**, so a reader sees the whole run or nothing of it;
:func:`read_history` reads them back as a :class:`History` (``history.json``, ``history.html``).

A plain path, or ``sqlite:///FILE``, is an embedded SQLite file; any SQLAlchemy URL works, e.g.
``postgresql+psycopg://user@host/db`` (``postgresql://`` uses psycopg 3 when psycopg2 is absent).
The schema is documented in docs/monitoring.md ("History database"). Migrations are a list of
functions, one per schema version; opening a database applies the missing ones, in order, in one
transaction, under a lock (PostgreSQL: an advisory lock; SQLite: ``BEGIN IMMEDIATE``), so
concurrent first runs do not race.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from causalinterp.errors import OptionError, first_line

#: The schema version this code writes; :data:`MIGRATIONS` brings any older database to it.
SCHEMA_VERSION = 1
#: PostgreSQL advisory-lock key taken while a schema is created or migrated ("causalin").
_LOCK_KEY = 0x63617573616C696E

_META = sa.MetaData()
RUNS = sa.Table(
    "runs",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(32), nullable=False, unique=True),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("reference_rows", sa.Integer, nullable=False),
    sa.Column("n_windows", sa.Integer, nullable=False),
    sa.Column("n_alerts", sa.Integer, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("monitor_json", sa.Text, nullable=False),
)
WINDOWS = sa.Table(
    "windows",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("labelled", sa.Integer, nullable=False),
    sa.Column("n_alerts", sa.Integer, nullable=False),
)
FIGURES = sa.Table(
    "figures",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("window_id", sa.Integer, sa.ForeignKey("windows.id"), nullable=False),
    sa.Column("figure", sa.String(32), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("p_value", sa.Float, nullable=True),
    sa.Column("threshold", sa.Float, nullable=True),
    sa.Column("alert_below", sa.Boolean, nullable=False),
)
ALERTS = sa.Table(
    "alerts",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("window_id", sa.Integer, sa.ForeignKey("windows.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("threshold", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=False),
)
_VERSIONS = sa.Table(
    "schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(32), nullable=False),
)


def _create_v1(conn: sa.Connection) -> None:
    _META.create_all(conn, tables=[RUNS, WINDOWS, FIGURES, ALERTS])


#: One function per schema version (index 0 makes version 1); append to migrate.
MIGRATIONS: tuple[Callable[[sa.Connection], None], ...] = (_create_v1,)

#: The figures stored per window: (figure, where in monitor.json, subject key, value key,
#: p-value key, threshold option, alert below the threshold).
_FIGURES = (
    ("drift", "drift", "name", "distance", "p_adjusted", "drift_threshold", False),
    ("mechanism", "causal_drift", "node", "score", "p_adjusted", "mechanism_threshold", False),
    ("range", "support.ranges", "name", "share_outside", None, "range_share", False),
    ("share", "attribution.shares", "feature", "change", None, "share_change", False),
)
_SCALARS = (
    ("novelty", "support.novelty_share", "rows", "support_share", False),
    ("ndcg", "attribution.ndcg", "ranking", "ndcg_threshold", True),
    ("risk", "risk.change", "unsupported", "risk_increase", False),
    ("performance", "performance.relative_change", "error", "performance_drop", False),
)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FigureRecord:
    """One figure of one window: ``figure`` (drift, mechanism, range, share, novelty, ndcg,
    risk, performance), its ``subject`` (column, node or ``"rows"`` ...), ``value``,
    ``p_value`` (drift and mechanism), ``threshold`` and whether it alerts below it."""

    figure: str
    subject: str
    value: float | None
    p_value: float | None
    threshold: float | None
    alert_below: bool


@dataclass(frozen=True)
class AlertRecord:
    """One alert as stored: its window's name and the fields of :class:`~.alerts.Alert`."""

    window: str
    kind: str
    subject: str
    value: float | None
    threshold: float | None
    message: str


@dataclass(frozen=True)
class WindowRecord:
    """One window of a stored run, with its figures."""

    name: str
    n_rows: int
    labelled: int
    figures: tuple[FigureRecord, ...]


@dataclass(frozen=True)
class RunRecord:
    """One stored run: ``id`` (the database's), ``key`` (a unique hex string, also in the
    alert webhook's body), ``recorded_at`` (UTC, ISO 8601) and what was monitored."""

    id: int
    key: str
    recorded_at: str
    outcome: str
    model: str
    reference_rows: int
    exit_code: int
    settings: Mapping[str, Any]
    windows: tuple[WindowRecord, ...]
    alerts: tuple[AlertRecord, ...]


@dataclass(frozen=True)
class History:
    """Every stored run, oldest first (:func:`read_history`).

    ``to_dict()`` is ``history.json``; ``write(dir)`` writes history.json and history.html.
    """

    database: str
    runs: tuple[RunRecord, ...]
    schema_version: int = SCHEMA_VERSION
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The history.json data (see docs/monitoring.md, "Timeline")."""
        from causalinterp.monitoring.history_render import to_dict

        return to_dict(self)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write history.json and history.html into ``out_dir`` (created).

        Returns ``{"json": path, "html": path}``.
        """
        from causalinterp.monitoring.history_render import write

        return write(self, out_dir)


@dataclass(frozen=True)
class Recorded:
    """Where :func:`record_run` put a run: its ``id`` and ``key`` in ``database``."""

    database: str
    id: int
    key: str
    recorded_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "id": self.id, "key": self.key,
                "recorded_at": self.recorded_at}  # fmt: skip


# --------------------------------------------------------------------------- connecting
def database_url(target: str | Path) -> sa.URL:
    """The SQLAlchemy URL of ``target``: a URL as it is, a plain path as a SQLite file.

    Raises
    ------
    OptionError
        One line naming the input and the fix, for text that is neither.

    Examples
    --------
    >>> database_url("runs.db").drivername
    'sqlite'
    >>> database_url("postgresql://me@db.example/monitoring").database
    'monitoring'
    """
    text = str(target).strip()
    if not text:
        raise OptionError("history: empty; pass a file path or a database URL")
    if "://" not in text:
        path = Path(text).expanduser()
        if path.is_dir():
            raise OptionError(
                f"history: {text!r} is a folder; pass a file such as {text.rstrip('/')}/history.db"
            )
        return sa.URL.create("sqlite", database=str(path.resolve()))
    try:
        url = sa.make_url(text)
    except sa_exc.ArgumentError:
        raise OptionError(
            f"history: {text!r} is not a database URL; pass a file path or e.g. "
            "sqlite:///history.db or postgresql+psycopg://user@host/db"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername=f"postgresql+{_pg_driver()}")
    return url


def _pg_driver() -> str:
    import importlib.util

    # SQLAlchemy's default PostgreSQL driver is psycopg2; psycopg 3 is the one we install.
    return "psycopg2" if importlib.util.find_spec("psycopg2") else "psycopg"


def _shown(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def _engine(target: str | Path) -> sa.Engine:
    url = database_url(target)
    try:
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                folder = Path(url.database).parent
                if not folder.is_dir():
                    raise OptionError(
                        f"history: folder {str(folder)!r} does not exist; create it or pass a "
                        "path in an existing folder"
                    )
            engine = sa.create_engine(url, connect_args={"timeout": 60})
            _sqlite_immediate(engine)
            return engine
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa_exc.NoSuchModuleError, ModuleNotFoundError) as error:
        raise OptionError(
            f"history: no driver for {url.drivername!r} ({first_line(error)}); install it, "
            "e.g. pip install 'causalinterp[postgres]'"
        ) from None
    except sa_exc.ArgumentError as error:
        raise OptionError(
            f"history: {_shown(url)!r} cannot be opened ({first_line(error)}); check the URL"
        ) from None


def _sqlite_immediate(engine: sa.Engine) -> None:
    """Every SQLite transaction takes the write lock at BEGIN: two runs appending at once wait
    for each other (up to the 60 s timeout) instead of failing half-way on a lock upgrade."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN

    @sa.event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _transaction(target: str | Path) -> Iterator[tuple[sa.Connection, sa.URL]]:
    engine = _engine(target)
    url = engine.url
    try:
        with engine.begin() as conn:
            if _version(conn) != SCHEMA_VERSION:
                if url.get_backend_name() == "postgresql":
                    # Held to the end of this transaction: a concurrent first run waits, then
                    # finds the schema made. (SQLite's BEGIN IMMEDIATE already serialises.)
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                _migrate(conn, url)
            yield conn, url
    except sa_exc.OperationalError as error:
        raise OptionError(
            f"history: cannot use {_shown(url)!r} ({first_line(error.orig or error)}); check "
            "that the database server runs and the URL, user and password are right"
        ) from None
    except sa_exc.DBAPIError as error:
        raise OptionError(
            f"history: {_shown(url)!r} refused the request ({first_line(error.orig or error)}); "
            "nothing of a run is stored half-way: check the database's permissions and space"
        ) from None
    finally:
        engine.dispose()


def _version(conn: sa.Connection) -> int:
    """The database's schema version (0: none yet)."""
    if not sa.inspect(conn).has_table(_VERSIONS.name):
        return 0
    return conn.execute(sa.select(sa.func.max(_VERSIONS.c.version))).scalar() or 0


def _migrate(conn: sa.Connection, url: sa.URL) -> None:
    _VERSIONS.create(conn, checkfirst=True)
    version = _version(conn)
    if version == 0 and sa.inspect(conn).has_table("runs"):
        raise OptionError(
            f"history: {_shown(url)!r} has a 'runs' table that is not causalinterp's; pass "
            "another database"
        )
    if version > SCHEMA_VERSION:
        raise OptionError(
            f"history: {_shown(url)!r} has schema version {version}, newer than this "
            f"causalinterp's {SCHEMA_VERSION}; upgrade causalinterp"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[number - 1](conn)
        conn.execute(sa.insert(_VERSIONS).values(version=number, applied_at=_now()))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_history(target: str | Path) -> str:
    """Open (and create or migrate) the database now, before a long run; return its URL as
    shown (password hidden). Raises :class:`OptionError` naming the fix when it cannot."""
    with _transaction(target) as (_, url):
        return _shown(url)


# --------------------------------------------------------------------------- writing
def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _at(document: Mapping[str, Any] | None, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, Mapping):
            return None
        document = document.get(part)
    return document


def figure_rows(window: Mapping[str, Any], settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every figure of one window of monitor.json, as rows of the ``figures`` table."""
    rows = []
    for figure, where, subject, value, p_value, threshold, below in _FIGURES:
        for item in _at(window, where) or ():
            rows.append(
                {
                    "figure": figure,
                    "subject": str(item[subject]),
                    "value": _number(item.get(value)),
                    "p_value": _number(item.get(p_value)) if p_value else None,
                    "threshold": _number(settings.get(threshold)),
                    "alert_below": below,
                }
            )
    for figure, where, subject, threshold, below in _SCALARS:
        value = _at(window, where)
        if value is None:
            continue
        if figure == "risk":
            subject = ", ".join(_at(window, "risk.unsupported") or ()) or "none"
        rows.append(
            {
                "figure": figure,
                "subject": subject,
                "value": _number(value),
                "p_value": None,
                "threshold": _number(settings.get(threshold)),
                "alert_below": below,
            }
        )
    return rows


def record_run(result: Any, target: str | Path, *, key: str | None = None) -> Recorded:
    """Append ``result`` (a :class:`~causalinterp.monitoring.MonitorResult`) to the database.

    The run, its windows, every figure and every alert are written in one transaction: on any
    failure nothing of the run is stored, and a concurrent reader never sees part of it.

    Parameters
    ----------
    result : MonitorResult
        What :func:`causalinterp.monitor` returned.
    target : str or path
        A file path (SQLite) or a SQLAlchemy database URL.
    key : str, optional
        The run's unique key (default: a random UUID's hex); the alert webhook's body names it.

    Returns
    -------
    Recorded
        The run's ``id`` and ``key`` in the database.

    Raises
    ------
    OptionError
        One line naming the database and the fix (unreachable server, bad URL, no driver).
    """
    document = result.to_dict()
    key = key or uuid.uuid4().hex
    recorded_at = _now()
    with _transaction(target) as (conn, url):
        run_id = _insert_run(conn, document, key, recorded_at)
        _insert_windows(conn, run_id, document)
        return Recorded(_shown(url), run_id, key, recorded_at)


def _insert_run(conn: sa.Connection, document: Mapping[str, Any], key: str, at: str) -> int:
    summary = document.get("summary", {})
    values = {
        "key": key,
        "recorded_at": at,
        "outcome": str(document.get("outcome")),
        "model": str(document.get("model")),
        "reference_rows": int(document.get("reference_rows") or 0),
        "n_windows": len(document.get("windows", ())),
        "n_alerts": int(summary.get("alerts", 0)),
        "exit_code": int(summary.get("exit_code", 0)),
        "settings": json.dumps(document.get("settings", {}), sort_keys=True, default=str),
        "monitor_json": json.dumps(document, sort_keys=True, default=str),
    }
    return int(conn.execute(sa.insert(RUNS).values(**values).returning(RUNS.c.id)).scalar_one())


def _insert_windows(conn: sa.Connection, run_id: int, document: Mapping[str, Any]) -> None:
    settings = document.get("settings", {})
    for position, window in enumerate(document.get("windows", ())):
        alerts = window.get("alerts", ())
        window_id = conn.execute(
            sa.insert(WINDOWS)
            .values(
                run_id=run_id,
                position=position,
                name=str(window["name"]),
                n_rows=int(window.get("n_rows") or 0),
                labelled=int(window.get("labelled") or 0),
                n_alerts=len(alerts),
            )
            .returning(WINDOWS.c.id)
        ).scalar_one()
        figures = figure_rows(window, settings)
        if figures:
            conn.execute(
                sa.insert(FIGURES),
                [{"run_id": run_id, "window_id": window_id, **f} for f in figures],
            )
        rows = _alert_rows(alerts)
        if rows:
            conn.execute(
                sa.insert(ALERTS), [{"run_id": run_id, "window_id": window_id, **a} for a in rows]
            )


def _alert_rows(alerts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "position": i,
            "kind": str(a["kind"]),
            "subject": str(a["subject"]),
            "value": _number(a.get("value")),
            "threshold": _number(a.get("threshold")),
            "message": str(a["message"]),
        }
        for i, a in enumerate(alerts)
    ]


# --------------------------------------------------------------------------- reading
def read_history(target: str | Path, *, last: int | None = None) -> History:
    """Every run stored in the database, oldest first (the ``last`` ones when given).

    Raises
    ------
    OptionError
        One line naming the database and the fix.
    """
    url = database_url(target)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise OptionError(
            f"history: {url.database!r} does not exist; pass the database that "
            "causalinterp monitor --history wrote"
        )
    with _transaction(target) as (conn, url):
        query = sa.select(RUNS).order_by(RUNS.c.id.desc() if last else RUNS.c.id)
        if last:
            query = query.limit(last)
        runs = list(conn.execute(query).mappings())
        if last:
            runs.reverse()
        ids = [r["id"] for r in runs]
        windows = _grouped(conn, WINDOWS, ids, WINDOWS.c.position)
        figures = _grouped(conn, FIGURES, ids, FIGURES.c.id, by="window_id")
        alerts = _grouped(conn, ALERTS, ids, ALERTS.c.id)
        shown = _shown(url)
    records = []
    for run in runs:
        names = {w["id"]: w["name"] for w in windows.get(run["id"], ())}
        stored = tuple(
            _record(
                WindowRecord,
                w,
                figures=tuple(
                    _record(FigureRecord, f, alert_below=bool(f["alert_below"]))
                    for f in figures.get(w["id"], ())
                ),
            )
            for w in windows.get(run["id"], ())
        )
        raised = tuple(
            _record(AlertRecord, a, window=names[a["window_id"]]) for a in alerts.get(run["id"], ())
        )
        settings = json.loads(run["settings"])
        records.append(_record(RunRecord, run, settings=settings, windows=stored, alerts=raised))
    return History(shown, tuple(records))


def _record(cls: type, row: Mapping[str, Any], **given: Any) -> Any:
    """A ``cls`` record from a row: its fields by name, ``given`` ones as given."""
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name not in given}, **given)


def _grouped(
    conn: sa.Connection, table: sa.Table, run_ids: list[int], order: Any, by: str = "run_id"
) -> dict[int, list[Mapping[str, Any]]]:
    grouped: dict[int, list[Mapping[str, Any]]] = {}
    if not run_ids:
        return grouped
    rows = conn.execute(sa.select(table).where(table.c.run_id.in_(run_ids)).order_by(order))
    for row in rows.mappings():
        grouped.setdefault(row[by], []).append(row)
    return grouped


__all__ = [
    "ALERTS",
    "FIGURES",
    "MIGRATIONS",
    "RUNS",
    "SCHEMA_VERSION",
    "WINDOWS",
    "AlertRecord",
    "FigureRecord",
    "History",
    "Recorded",
    "RunRecord",
    "WindowRecord",
    "check_history",
    "database_url",
    "read_history",
    "record_run",
]
