"""A monitoring job around :func:`~causalinterp.monitoring.monitor`: the options of stage
``monitor_job`` (``history``, ``alert_webhook``, ``webhook_timeout``, ``webhook_retries``,
``scheduler``) and what ``causalinterp monitor`` does with them.

Before the work the database is opened (and created or migrated) and the webhook's URL read, so
a bad one fails in seconds with one line; the scheduler is reached when the windows are compared.
After the run: the run is stored in the history database, then its alerts are posted. A failed
delivery is printed and written to ``delivery.json``; it never changes the exit status.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from causalinterp import options as _options
from causalinterp.errors import OptionError

#: The options table's rows of a monitoring job.
JOB_OPTIONS = _options.names(["monitor_job"])
_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class Job:
    """The job's options, checked (see the options table, stage ``monitor_job``)."""

    history: str | None = None
    alert_webhook: str | None = None
    webhook_timeout: float = 10.0
    webhook_retries: int = 3
    scheduler: str | None = None
    backend: str | None = None

    @property
    def on_dask(self) -> bool:
        return self.backend == "dask"


def take_job(values: dict[str, Any]) -> Job:
    """Remove the job's options (and ``backend``) from ``values``; check each target now."""
    given = {name: values.pop(name) for name in (*JOB_OPTIONS, "backend") if name in values}
    _options.validate(given)
    settings = {name: _options.default(name) for name in JOB_OPTIONS} | given
    backend = settings.get("backend")
    if settings["scheduler"] is not None and backend is None:
        backend = "dask"
    if backend == "dask" and settings["scheduler"] is None:
        raise OptionError(
            "backend: 'dask' needs a cluster; pass --scheduler ADDRESS (start one with "
            "'dask scheduler' and 'dask worker ADDRESS')"
        )
    if backend is not None and backend != "dask":
        raise OptionError(
            f"backend: monitor runs on 'dask' (with --scheduler) or locally, not {backend!r}; "
            "drop --backend or pass --backend dask"
        )
    job = Job(**{**settings, "backend": backend})
    if job.history is not None:
        from causalinterp.monitoring.history import check_history

        check_history(job.history)
    if job.alert_webhook is not None:
        from causalinterp.monitoring.delivery import check_webhook

        check_webhook(job.alert_webhook)
    return job


@contextlib.contextmanager
def cluster(job: Job) -> Iterator[Any]:
    """The Dask client of ``job.scheduler`` for the block (nothing without one)."""
    from causalinterp._progress import dask_client

    with dask_client(job.scheduler) as client:
        yield client


def is_dataset(path: str | Path) -> bool:
    """A Parquet dataset: a folder, or a glob pattern."""
    return Path(path).is_dir() or bool(_GLOB & set(str(path)))


def read_windows(paths: Sequence[str | Path], job: Job) -> dict[str, Any]:
    """The windows named by ``paths``: each a table file, or a Parquet dataset (a folder or a
    glob). On Dask a dataset stays on disk (a
    :class:`~causalinterp.monitoring.partitioned.ParquetWindow`, summarised partition by
    partition on the cluster); locally it is read whole."""
    from causalinterp.inputs import read_table
    from causalinterp.monitoring.partitioned import parquet_window

    def one(path: str | Path) -> Any:
        if is_dataset(path):
            window = parquet_window(path, f"current {str(path)!r}")
            return window if job.on_dask else window.read()
        return read_table(path, f"current {str(path)!r}")

    names = [Path(p).name or str(p) for p in paths]
    if len(set(names)) != len(names):
        names = [str(p) for p in paths]
    return {name: one(path) for name, path in zip(names, paths, strict=True)}


def finish(result: Any, out: Path, job: Job, *, quiet: bool) -> dict[str, Any]:
    """Store the run, then post its alerts; print what happened. Returns what was done
    (``history``: the stored run, ``delivery``: the webhook's outcome) for callers."""
    done: dict[str, Any] = {}
    key = uuid.uuid4().hex
    if job.history is not None:
        from causalinterp.monitoring.history import record_run

        recorded = record_run(result, job.history, key=key)
        done["history"] = recorded
        if not quiet:
            print(f"run #{recorded.id} stored in {recorded.database}")
    if job.alert_webhook is not None:
        from causalinterp.monitoring.delivery import deliver

        delivery = deliver(
            result,
            job.alert_webhook,
            timeout=job.webhook_timeout,
            retries=job.webhook_retries,
            run=key if job.history is not None else None,
        )
        if delivery is not None:
            done["delivery"] = delivery
            delivery.write(out)
            if not delivery.delivered:
                print(f"causalinterp: warning: {delivery.line()}", file=sys.stderr)
            elif not quiet:
                print(delivery.line())
    return done


__all__ = ["JOB_OPTIONS", "Job", "finish", "read_windows", "take_job"]
