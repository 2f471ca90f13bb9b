"""``causalinterp explain``: per-row explanations with causal levers from a finished analysis.

``--analysis`` is the folder written by ``causalinterp analyze`` or ``run``, or its
``report.json`` (as for ``monitor``); the report holds everything the explanation needs from
the analysis (outcome, features, the DAG's nodes and edges, verdicts, adjustment sets, seed).
The data file must be the one the analysis ran on. The model is ``--model FILE``; without it
the analysis' default model is refitted with its seed (refused when the analysis explained a
user's model). The flags of the options (``--explainer``, ``--cate``, ``--fixed`` ...) come
from the options table, as ``analyze``'s do.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from causalinterp import options
from causalinterp._command import check_out, command, write_out
from causalinterp.errors import OptionError

__all__ = ["OPTIONS", "add_parser", "run"]

#: The options table's rows this subcommand offers as flags.
OPTIONS = ("seed", "n_jobs", "backend", "n_folds", "fixed", *options.names(["explain"]))


def _rows(text: str) -> list[str]:
    rows = [r.strip() for r in text.split(",") if r.strip()]
    if not rows:
        raise argparse.ArgumentTypeError("expected comma-separated row indices or ids")
    return rows


def add_parser(commands) -> argparse.ArgumentParser:
    """Add the ``explain`` subcommand to ``commands`` (argparse subparsers).

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> explain = add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["explain", "--analysis", "a", "--data", "d.csv",
    ...     "--rows", "3,7", "--out", "o"])
    >>> args.rows, args.explainer
    (['3', '7'], None)
    """
    from causalinterp.models import add_model_arguments

    parser = commands.add_parser(
        "explain",
        help="explain rows: SHAP (and LIME) beside each row's causal effects and levers",
        description="Explain rows of the data an analysis ran on: every feature's SHAP "
        "contribution (and LIME's with --explainer lime) marked with its verdict, the row's "
        "conditional effect of each identified feature, and the levers ranked by the change "
        "they would make to this row's outcome. Writes explain.json, explain.md, explain.html.",
    )
    parser.add_argument(
        "--analysis",
        required=True,
        type=Path,
        help="folder written by 'causalinterp analyze' or 'run', or its report.json",
    )
    parser.add_argument(
        "--data", required=True, type=Path, help="the data the analysis ran on (.csv or .parquet)"
    )
    parser.add_argument(
        "--rows",
        required=True,
        type=_rows,
        help="rows to explain, comma-separated: index positions of the file, "
        "or ids with --id-column",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder for explain.json, explain.md and explain.html (created)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="a TOML file setting any of the options below by name (explainer = 'lime'); "
        "flags given here win",
    )
    options.add_arguments(parser, OPTIONS, defaults_from="the config file")
    add_model_arguments(parser)
    return parser


@command
def run(args: argparse.Namespace) -> int:
    """Run ``causalinterp explain``; 0 on success, 2 with one line on bad input."""
    out = check_out(args.out)
    explanations = _explain(args)
    write_out(explanations.write, out)
    if not args.quiet:
        print(f"wrote {out / 'explain.html'}, explain.json and explain.md")
        for row in explanations.rows:
            print(f"  row {row.row}: levers {', '.join(row.levers) or 'none'}")
    return 0


def _explain(args: argparse.Namespace):
    from causalinterp.explain.core import explain_rows
    from causalinterp.inputs import read_config, read_report, read_table
    from causalinterp.models import model_from_args

    values = read_config(args.config, OPTIONS) if args.config is not None else {}
    values.update(options.given(args, OPTIONS))
    report = read_report(args.analysis)
    data = read_table(args.data)
    rows: list = list(args.rows)
    if args.id_column is None:
        # Row numbers of the file: its index is 0, 1, ... as read.
        try:
            rows = [int(r) for r in rows]
        except ValueError:
            raise OptionError(
                f"rows: {args.rows!r} are not row numbers; pass numbers, or ids with --id-column"
            ) from None
    return explain_rows(
        report,
        data,
        rows,
        model=model_from_args(args),
        progress=False if args.quiet else None,
        **values,
    )
