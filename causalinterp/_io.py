"""File input and output shared by every subcommand.

Atomic writes (a reader sees the old file or the new one, never half of either), and the one
reader of TOML configuration files the subcommands share (:func:`read_toml`), failing with a
one-line error that names the file and the fix. ``report.json`` is read by
:func:`causalinterp.inputs.read_report`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def _default_mode() -> int:
    # mkstemp creates 0o600 files; a report should get the permissions a plain open() would give.
    # Reading the umask means setting it; do it once, at import, before any threads exist.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_DEFAULT_MODE = _default_mode()


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically.

    The bytes go to a temporary file in the same folder, which is flushed, fsynced and then
    renamed over ``path`` with :func:`os.replace`. On any exception the temporary file is
    removed and an existing ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file. Its folder must exist.
    data : bytes
        The full new content.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    target = Path(path)
    folder = target.parent
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = _DEFAULT_MODE
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_folder(folder)
    return target


def write_texts_atomic(
    texts: Mapping[str | os.PathLike[str], str], *, encoding: str = "utf-8"
) -> list[Path]:
    """Write several files so that a failure leaves every old file whole.

    Every text is first written to its own temporary file (flushed and fsynced); only when
    all of them are complete are they renamed over their targets, one after another. If
    writing any of them fails, all temporary files are removed and no target is touched.

    Parameters
    ----------
    texts : Mapping
        Destination path to its full new content. The folders must exist.
    encoding : str, default "utf-8"
        Text encoding.

    Returns
    -------
    list of pathlib.Path
        The destination paths, in the mapping's order.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            target = Path(path)
            staged.append((_stage(target, text.encode(encoding)), target))
        for tmp_name, target in staged:
            os.replace(tmp_name, target)
    except BaseException:
        for tmp_name, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        raise
    for folder in dict.fromkeys(target.parent for _, target in staged):
        _fsync_folder(folder)
    return [target for _, target in staged]


def _stage(target: Path, data: bytes) -> str:
    """``data`` in a complete, fsynced temporary file beside ``target``; its name."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = _DEFAULT_MODE
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return tmp_name


def write_text_atomic(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`).

    The text is encoded as-is: no newline translation, so the bytes on disk are the same on
    every platform.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file. Its folder must exist.
    text : str
        The full new content.
    encoding : str, default "utf-8"
        Text encoding.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    return write_bytes_atomic(path, text.encode(encoding))


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; folders cannot be opened this way on Windows.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def read_toml(path: str | os.PathLike[str], what: str) -> dict:
    """The TOML document at ``path``; an :class:`~causalinterp.errors.OptionError` naming
    ``what`` when it is missing or not valid TOML."""
    import tomllib

    from causalinterp.errors import OptionError

    path = Path(path)
    if not path.is_file():
        raise OptionError(f"{what}: {str(path)!r} does not exist; check the path")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise OptionError(f"{what}: {path} is not valid TOML ({error}); fix the file") from None
