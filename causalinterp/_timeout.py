"""A wall-clock limit on one call, in whatever worker runs it.

Used for the per-feature time limit of the effects stage. The call runs in the calling
thread (no extra process, so it works the same under joblib's loky, threading and dask
backends and with ``n_jobs=1``); when the limit passes, :class:`TimeLimitExceeded` is
raised inside the call:

- on a process's main thread (``n_jobs=1``, loky workers), by ``SIGALRM`` from a real-time
  interval timer, which also interrupts blocking sleeps and waits;
- elsewhere (thread backends, or when ``SIGALRM`` is already in use), by an asynchronous
  exception set on the thread by a timer thread (``PyThreadState_SetAsyncExc``).

Either way Python must get control back to raise it: a single long call into compiled code
that never returns to the interpreter finishes that call first. Fitting loops of the
estimators return to Python at every boosting iteration or fold, so in practice the limit
holds to within a fraction of a second.
"""

from __future__ import annotations

import ctypes
import math
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["TimeLimitExceeded", "call_with_time_limit"]

T = TypeVar("T")


class TimeLimitExceeded(Exception):
    """The call ran longer than its time limit (``seconds``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"exceeded the time limit of {seconds:g} s")
        self.seconds = seconds


class _Expired(BaseException):
    """Raised inside the call. A BaseException, so that the libraries' own
    ``except Exception`` blocks (fallbacks, retries) cannot swallow it."""


def call_with_time_limit(func: Callable[[], T], seconds: float | None) -> T:
    """Return ``func()``, or raise :class:`TimeLimitExceeded` once ``seconds`` have passed.

    Parameters
    ----------
    func : callable
        Called without arguments in the current thread.
    seconds : float or None
        The limit; None or infinity means no limit.

    Returns
    -------
    The value of ``func()``.

    Raises
    ------
    TimeLimitExceeded
        When the limit passed before ``func`` returned; ``func`` was interrupted.
    """
    if seconds is None or math.isinf(seconds):
        return func()
    if _alarm_usable():
        return _with_alarm(func, seconds)
    return _with_async_exception(func, seconds)


def _alarm_usable() -> bool:
    # Signal handlers can only be set on the main thread; leave SIGALRM alone when someone
    # else (the application, an outer limit) already uses it.
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
    )


def _with_alarm(func: Callable[[], T], seconds: float) -> T:
    def expire(signum, frame):
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return func()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0.0)
    except _Expired:
        # Also reached when the alarm fired just as func returned: it did take the limit.
        raise TimeLimitExceeded(seconds) from None
    finally:
        # Again here: the alarm may have interrupted the disarming above.
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
    )


def _with_async_exception(func: Callable[[], T], seconds: float) -> T:
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def expire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _set_async_exc(target, _Expired)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    try:
        try:
            timer.start()
            return func()
        finally:
            with lock:
                state["done"] = True
                if state["fired"]:
                    # Set but not yet delivered: withdraw it, so it cannot surface later
                    # in unrelated code.
                    _set_async_exc(target, None)
            timer.cancel()
    except _Expired:
        raise TimeLimitExceeded(seconds) from None
