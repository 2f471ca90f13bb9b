"""``causalinterp explain``: per-row explanations with causal levers from a finished analysis.

``--analysis DIR`` is a folder written by ``causalinterp analyze`` or ``run``; its
``report.json`` holds everything the explanation needs from the analysis (outcome, features,
the DAG's nodes and edges, verdicts, adjustment sets, seed). The data file must be the one
the analysis ran on. The model is ``--model FILE``; without it the analysis' default model is
refitted with its seed (refused when the analysis explained a user's model).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from causalinterp.errors import CausalInterpError, OptionError

__all__ = ["add_parser", "run"]


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
    (['3', '7'], 'shap')
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
        help="folder written by 'causalinterp analyze' or 'run' (report.json)",
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
    parser.add_argument("--id-column", default=None, help="a column of unique row ids")
    parser.add_argument(
        "--explainer",
        choices=("shap", "lime"),
        default="shap",
        help="'lime' adds LIME, its stability and its agreement with SHAP",
    )
    parser.add_argument(
        "--cate",
        choices=("linear", "forest"),
        default="linear",
        help="per-row effect estimator: linear in the modifiers (default) or a causal forest",
    )
    parser.add_argument(
        "--fixed",
        default=None,
        type=_rows,
        help="features that cannot be changed (never levers), comma-separated",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the per-row effects and LIME (default: the analysis')",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder for explain.json, explain.md and explain.html (created)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_model_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``causalinterp explain``; 0 on success, 2 with one line on bad input."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            explanations = _explain(args)
            explanations.write(args.out)
    except CausalInterpError as error:
        print(f"causalinterp: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"causalinterp: error: out: cannot write to {str(args.out)!r} "
            f"({error.strerror or type(error).__name__}); pass a writable folder",
            file=sys.stderr,
        )
        return 2
    if not args.quiet:
        print(f"wrote {args.out / 'explain.html'}, explain.json and explain.md")
        for row in explanations.rows:
            print(f"  row {row.row}: levers {', '.join(row.levers) or 'none'}")
    return 0


def _explain(args: argparse.Namespace):
    from causalinterp.explain.core import explain_rows
    from causalinterp.inputs import read_table
    from causalinterp.models import model_from_args

    report_file = Path(args.analysis) / "report.json"
    if not report_file.is_file():
        raise OptionError(
            f"analysis: {str(report_file)!r} does not exist; pass a folder "
            "written by 'causalinterp analyze' or 'run'"
        )
    try:
        report = json.loads(report_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise OptionError(
            f"analysis: {str(report_file)!r} is not valid JSON ({error}); re-run the analysis"
        ) from None
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
        explainer=args.explainer,
        seed=args.seed,
        id_column=args.id_column,
        cate=args.cate,
        fixed=args.fixed or (),
        progress=not args.quiet,
    )
