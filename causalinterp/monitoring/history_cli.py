"""``causalinterp history``: the stored monitoring runs as history.json and history.html.

``add_parser(commands)`` adds the subcommand; ``run(args)`` returns the exit code: 0 written,
2 bad input (one line on standard error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from causalinterp import options as _options
from causalinterp.errors import CausalInterpError, OptionError


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``history`` subcommand to ``commands`` (an argparse subparsers object)."""
    parser = commands.add_parser(
        "history",
        help="the monitoring runs stored with monitor --history, as a timeline: "
        "history.json and history.html",
        description="Read every run that causalinterp monitor --history stored and write "
        "history.json (runs, their windows and alerts) and history.html (each figure over "
        "time with its threshold, alerts marked).",
    )
    _options.add_arguments(parser, ["history"])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for history.json and history.html"
    )
    parser.add_argument(
        "--last", type=int, default=None, metavar="N", help="only the N most recent runs"
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``causalinterp history``; 0 when written, 2 on bad input."""
    try:
        if args.history is None:
            raise OptionError("history: not given; pass --history with the file or URL that "
                              "causalinterp monitor --history wrote")  # fmt: skip
        if args.last is not None and args.last < 1:
            raise OptionError(f"last: expected a positive integer, got {args.last}; pass e.g. 30")
        if args.out.exists() and not args.out.is_dir():
            raise OptionError(f"out: {str(args.out)!r} is a file, not a folder; pass a folder")
        from causalinterp.monitoring.history import read_history

        history = read_history(args.history, last=args.last)
        try:
            history.write(args.out)
        except OSError as error:
            raise OptionError(
                f"out: cannot write to {str(args.out)!r} ({error.strerror}); pass a writable "
                "folder"
            ) from None
    except CausalInterpError as error:
        print(f"causalinterp: error: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        alerts = sum(len(r.alerts) for r in history.runs)
        print(f"{len(history.runs)} run(s), {alerts} alert(s); history.json and history.html "
              f"in {args.out}")  # fmt: skip
    return 0


__all__ = ["add_parser", "run"]
