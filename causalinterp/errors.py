"""Errors raised for bad input.

Every error a user can trigger carries one line that names the input at fault and
how to fix it. The CLI prints that line and exits with status 2; nothing else.
"""

from __future__ import annotations


class CausalInterpError(ValueError):
    """Base class: a problem with what the user passed in.

    The message is always a single line of the form ``<input>: <problem>; <fix>``.
    """

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line message would break the CLI's contract.
        super().__init__(" ".join(str(message).split()))


class GraphError(CausalInterpError):
    """The causal graph cannot be parsed or is not a valid DAG for the request."""


class DataError(CausalInterpError):
    """The data cannot be analysed as given (missing columns, bad values, ...)."""


class ModelError(CausalInterpError):
    """The model cannot be explained (unfitted, wrong columns, no predict_proba, ...)."""


class OptionError(CausalInterpError):
    """An option has an invalid value."""


def first_line(error: BaseException, limit: int = 200, *, typed: bool = False) -> str:
    r"""The first line of ``error``'s message (at most ``limit`` characters, without a final
    period), or its type's name when the message is empty: a library's error quoted inside
    one of ours. The one way the package turns an exception into one line.

    With ``typed=True``: ``Type: message`` (for an error that is not the user's input's,
    where the type says what failed).

    Examples
    --------
    >>> first_line(ValueError("bad value.\nTraceback details"))
    'bad value'
    >>> first_line(KeyError())
    'KeyError'
    >>> first_line(ZeroDivisionError("division  by zero"), typed=True)
    'ZeroDivisionError: division by zero'
    """
    text = str(error).strip()
    line = " ".join(text.splitlines()[0].split()) if text else ""
    if typed:
        line = f"{type(error).__name__}: {line}" if line else type(error).__name__
        return line if len(line) <= limit else line[: limit - 1] + "…"
    return (line[:limit] if line else type(error).__name__).rstrip(".")


class EstimationError(RuntimeError):
    """Estimation of one feature's effect failed; the report keeps the row as ``error``."""
