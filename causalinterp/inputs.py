"""Reading input files: the user's tables (.csv, .parquet) and an analysis' report.json.

One reader each for every command and subsystem; a bad file is a one-line
:class:`~causalinterp.errors.DataError` naming it. This module sits below the command lines, so
that a subcommand's CLI needs nothing from the main one.
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from causalinterp.errors import DataError, OptionError, first_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REPORT_FILE", "read_config", "read_report", "read_table"]

#: The file name of an analysis' report data, in the folder ``analyze``/``run`` write.
REPORT_FILE = "report.json"


def read_table(path: str | Path, what: str = "data") -> pd.DataFrame:
    """Read a .csv or .parquet file, or raise a one-line :class:`DataError` naming ``what``.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    what : str, default "data"
        The input's name in the error message (``"reference"``, ``"current 'w1.csv'"`` ...).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        The file is missing, empty, unreadable, of another type, or repeats a column name.

    Examples
    --------
    >>> read_table("no-such-file.csv")
    Traceback (most recent call last):
    ...
    causalinterp.errors.DataError: data: file 'no-such-file.csv' does not exist; check the path
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what}: file {str(path)!r} does not exist; check the path")
    # Here, after the cheap checks: ``--help`` and a wrong path stay instant.
    import pandas as pd
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            _check_header(path, what)
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{what}: {str(path)!r} is empty; export it with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        raise DataError(
            f"{what}: cannot read {str(path)!r} ({first_line(error)}); check the file"
        ) from None
    raise DataError(f"{what}: unsupported file type {suffix!r}; use a .csv or .parquet file")


def _check_header(path: Path, what: str) -> None:
    """pandas renames a repeated column name ("x", "x.1"): refuse it instead, naming it."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader(handle), [])
    except csv.Error:
        return  # pandas reports an unreadable file in its own words
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        shown = ", ".join(repr(name) for name in repeated[:3])
        raise DataError(
            f"{what}: duplicated column name(s) {shown} in {str(path)!r}; give every column a "
            "unique name"
        )


def read_report(path: str | Path, what: str = "analysis") -> dict[str, Any]:
    """The data of an analysis' ``report.json``.

    Parameters
    ----------
    path : str or pathlib.Path
        The folder ``causalinterp analyze``/``run`` wrote, or its ``report.json`` itself:
        every subcommand's ``--analysis`` takes either.
    what : str, default "analysis"
        The input's name in the error message.

    Returns
    -------
    dict
        The parsed report (``outcome``, ``features``, ``settings`` ...).

    Raises
    ------
    DataError
        The file is missing, unreadable, not JSON, or not a causalinterp report (no
        ``outcome`` or ``features`` list).

    Examples
    --------
    >>> try:
    ...     read_report("no-such-folder")
    ... except DataError as error:
    ...     print(str(error)[:41])
    analysis: 'no-such-folder' does not exist
    """
    path = Path(path)
    file = path / REPORT_FILE if path.is_dir() else path
    if not file.is_file():
        raise DataError(
            f"{what}: {str(file)!r} does not exist; pass the folder written by "
            "'causalinterp analyze' or 'run', or its report.json"
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(
            f"{what}: {str(file)!r} is not valid JSON ({first_line(error)}); re-run the analysis"
        ) from None
    except OSError as error:
        raise DataError(
            f"{what}: cannot read {str(file)!r} ({first_line(error)}); check the file"
        ) from None
    if (
        not isinstance(data, dict)
        or "outcome" not in data
        or not isinstance(data.get("features"), list)
    ):
        raise DataError(
            f"{what}: {str(file)!r} is not a report.json of causalinterp (no outcome and "
            "features list); pass the report.json of 'causalinterp analyze'"
        )
    return data


def read_config(
    path: str | Path, option_names: Iterable[str], what: str = "config"
) -> dict[str, Any]:
    """The options a TOML file sets among ``option_names``, checked against the options table.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file (keys are option names, as in ``case.toml``).
    option_names : iterable of str
        The options the command offers; any other key is an error with a did-you-mean hint.
    what : str, default "config"
        The input's name in error messages.

    Returns
    -------
    dict
        Option name to validated value.

    Raises
    ------
    OptionError
        A missing or invalid file, an unknown key, or a bad value (one line each).
    """
    from causalinterp import options

    path = Path(path)
    if not path.is_file():
        raise OptionError(f"{what}: {str(path)!r} does not exist; check the path")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise OptionError(
            f"{what}: {path} is not valid TOML ({first_line(error)}); fix the file"
        ) from None
    keys = options.case_keys(option_names)
    options.check_known(config, keys, f"{what} {path}")
    return options.from_case(config, keys, f"{what} {path}")
