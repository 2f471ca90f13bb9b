"""Parallel maps with an optional progress bar, and the Dask scale-out context.

Every parallel stage goes through :func:`run_parallel`: ``joblib.Parallel`` over picklable
tasks, results in task order (so seeds, not scheduling, decide the numbers), any joblib
backend. Parallelism is configured the joblib way: ``with joblib.parallel_config(backend=...,
n_jobs=...)`` around a call applies to every stage; the ``n_jobs``/``backend`` arguments, when
given, override it. The progress bar (tqdm, on standard error) is shown only when asked for; the
pipeline asks for it when standard error is a terminal and the run is not quiet.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from joblib import Parallel, delayed, parallel_config

from causalinterp.errors import OptionError, first_line


def resolve_progress(progress: bool | None) -> bool:
    """``None`` means: show progress when standard error is an interactive terminal."""
    if progress is None:
        stream = sys.stderr
        return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
    return bool(progress)


def status(progress: bool | None, label: str) -> Callable[[str], None]:
    """A function printing ``<label>: <message>`` on standard error when progress is on.

    For the steps of a verb that are not a parallel map (fitting, scoring): one line each,
    shown under the same rule as the progress bars (:func:`resolve_progress`).

    Examples
    --------
    >>> say = status(False, "constrain")
    >>> say("fitting")  # prints nothing: progress is off
    """
    if not resolve_progress(progress):
        return lambda message: None

    def say(message: str) -> None:
        print(f"{label}: {message}", file=sys.stderr, flush=True)

    return say


class Lazy(Sequence):
    """Tasks built only when the workers take them: ``build(spec)`` for each of ``specs``.

    joblib draws tasks from its iterable a few at a time (``pre_dispatch``), so a task whose
    arrays are large (a feature's design matrix is 40 MB at a million rows) is built while
    the workers fit the ones before it, instead of all of them first with the workers idle
    and every matrix held at once.
    """

    def __init__(self, specs: Sequence[Any], build: Callable[[Any], Any]) -> None:
        self._specs, self._build = list(specs), build

    def __len__(self) -> int:
        return len(self._specs)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._build(spec) for spec in self._specs[index]]
        return self._build(self._specs[index])


def run_parallel(
    function: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = False,
    desc: str = "",
    unit: str = "task",
) -> list[Any]:
    """``function`` over ``items`` through ``joblib.Parallel``; results in the order of items.

    Parameters
    ----------
    function : callable
        Applied to each item; must be picklable (module-level) for process backends.
    items : sequence
        The tasks (a :class:`Lazy` sequence builds each when a worker takes it).
    n_jobs : int, optional
        joblib's ``n_jobs``; None keeps the active ``joblib.parallel_config`` (1 outside one).
    backend : str, optional
        A joblib backend (``"loky"``, ``"threading"``, ``"dask"`` inside a
        ``dask.distributed.Client`` context); None keeps the active ``joblib.parallel_config``.
    progress : bool or None, default False
        Show a tqdm bar on standard error (None: when it is a terminal, as every verb's
        ``progress=None`` means).
    desc, unit : str
        The bar's label and unit.

    Returns
    -------
    list
        ``[function(item) for item in items]``.
    """
    if not items:
        return []
    # Only what was given explicitly: anything else comes from the caller's
    # ``joblib.parallel_config`` (joblib's defaults outside one).
    config: dict[str, Any] = {}
    if backend is not None:
        config["backend"] = backend
    if n_jobs is not None:
        config["n_jobs"] = n_jobs
    context = parallel_config(**config) if config else contextlib.nullcontext()
    with context:
        outputs = Parallel(return_as="generator")(delayed(function)(item) for item in items)
        if resolve_progress(progress):
            from tqdm.auto import tqdm

            outputs = tqdm(
                outputs, total=len(items), desc=desc, unit=unit, file=sys.stderr, leave=False
            )
        return list(outputs)


@contextlib.contextmanager
def dask_client(scheduler: str | None, *, timeout: str = "30s") -> Iterator[Any]:
    """A ``dask.distributed.Client`` connected to ``scheduler`` for the duration of the block.

    With ``scheduler=None`` nothing is connected (use this inside your own ``Client``).
    """
    if scheduler is None:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover - dask is a dependency of the scale-out only
        raise OptionError(
            "backend: dask.distributed is not installed; pip install 'dask[distributed]'"
        ) from None
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as error:
        raise OptionError(
            f"scheduler: cannot connect to {scheduler!r} ({first_line(error, 160)}); start a "
            "scheduler (dask scheduler) or check the address"
        ) from None
    try:
        yield client
    finally:
        client.close()


def check_backend(backend: str | None) -> None:
    """Raise :class:`OptionError` for a backend that cannot run here (before any work)."""
    if backend is None:
        return
    if not isinstance(backend, str):
        raise OptionError(f"backend: {backend!r} is not a joblib backend name; pass e.g. 'loky'")
    if backend == "dask":
        try:
            from distributed import get_client

            get_client()
        except (ImportError, ValueError):
            raise OptionError(
                "backend: 'dask' needs a running dask.distributed Client; create one "
                "(with Client(address): ...) or pass --scheduler ADDRESS on the command line"
            ) from None
        return
    from joblib.parallel import BACKENDS

    if backend not in BACKENDS:
        raise OptionError(
            f"backend: unknown joblib backend {backend!r}; use one of {', '.join(sorted(BACKENDS))}"
        )
