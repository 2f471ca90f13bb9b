"""What every subcommand's command line shares: one error wrapper and the output folder.

:func:`command` wraps a subcommand's ``run(args)``: a :class:`CausalInterpError` prints its
one line and exits 2; Ctrl-C exits 130 with nothing written, every time, also when a library
swallowed the :class:`KeyboardInterrupt` (the interrupt is remembered, and :func:`write_out`
refuses to write after one). :func:`check_out` refuses an output folder that is a file before
any work; :func:`write_out` turns an unwritable folder into one line.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from causalinterp.errors import CausalInterpError, OptionError

__all__ = ["check_out", "command", "write_out"]

T = TypeVar("T")
#: Set by the SIGINT handler of :func:`command`; cleared when a command starts.
_interrupted = threading.Event()


def command(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a subcommand's ``run(args) -> exit code`` with the command line's contract.

    Exit 2 with ``causalinterp: error: <one line>`` on standard error for bad input; exit 130
    with nothing written on Ctrl-C. Libraries' warnings are silenced: the written reports
    say what matters.
    """

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        try:
            with _interrupts(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = run(args)
                if _interrupted.is_set():  # swallowed somewhere below: still an interrupt
                    raise KeyboardInterrupt
                return code
        except CausalInterpError as error:
            print(f"causalinterp: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("causalinterp: interrupted; nothing was written", file=sys.stderr)
            return 130

    return guarded


@contextmanager
def _interrupts() -> Iterator[None]:
    """Remember a Ctrl-C (and raise KeyboardInterrupt as Python does) for the block."""
    _interrupted.clear()
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(signum: int, frame: Any) -> None:
        _interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def check_out(out: str | Path) -> Path:
    """``out`` as a Path; raise :class:`OptionError` if it exists and is not a folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OptionError(
            f"out: {str(out)!r} is a file, not a folder; pass a folder for the reports"
        )
    return out


def write_out(write: Callable[[Path], T], out: str | Path) -> T:
    """``write(out)``, unless the run was interrupted; an unwritable folder is one line.

    ``write`` is a result's ``write(dir)`` (atomic per file set), so a failure leaves any old
    files whole.
    """
    if _interrupted.is_set():
        raise KeyboardInterrupt
    try:
        return write(Path(out))
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OptionError(
            f"out: cannot write the reports to {str(out)!r} ({reason}); pass a writable folder"
        ) from None
