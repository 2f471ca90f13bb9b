"""Command line: ``causalinterp analyze ...`` and ``causalinterp run CASE_DIR``.

Exit status: 0 on success; 2 on bad input or options, with one line on standard error;
1 with ``--strict`` when a feature's estimation failed (its row says ``error``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tomllib
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from causalinterp.errors import CausalInterpError, DataError, OptionError
from causalinterp.refute.refutation import DEPTHS

_CASE_FILE = "case.toml"
#: analyze()'s per-feature time limit (causalinterp.effects.DEFAULT_TIME_LIMIT; not imported,
#: so that --help stays fast).
_DEFAULT_TIME_LIMIT = 600
_CASE_KEYS = {
    "title",
    "description",
    "data",
    "graph",
    "outcome",
    "features",
    "seed",
    "refute",
    "missing",
    "nuisance",
    "max_shap_rows",
    "refit",
    "truth",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"causalinterp: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="causalinterp",
        description="Which of a model's explanations may be read as causes: per feature, the "
        "causal effect identified from your DAG beside the model's SHAP attribution, a verdict, "
        "its structural reasons and refutations.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    analyze = commands.add_parser(
        "analyze", help="analyse a data file against a causal graph and write the reports"
    )
    analyze.add_argument(
        "--data",
        required=True,
        type=Path,
        help="the data: a .csv or .parquet file, one column per variable",
    )
    analyze.add_argument(
        "--graph",
        required=True,
        help="the causal DAG: a .dot/.gml/.txt file, or text such as "
        "'A -> B; B -> Y' (nodes missing from the data are latent)",
    )
    analyze.add_argument("--outcome", required=True, help="the outcome column")
    analyze.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder for report.json, report.md and report.html (created)",
    )
    analyze.add_argument(
        "--features",
        type=_comma_list,
        default=None,
        help="the model's features, comma-separated (default: every observed "
        "graph node except the outcome)",
    )
    _add_common(analyze)

    run = commands.add_parser("run", help=f"run a case study from its {_CASE_FILE}")
    run.add_argument("case_dir", type=Path, help=f"a folder holding {_CASE_FILE}")
    run.add_argument(
        "--out", type=Path, default=None, help="folder for the reports (default: CASE_DIR/report)"
    )
    _add_common(run, from_config=True)
    return parser


def _add_common(parser: argparse.ArgumentParser, from_config: bool = False) -> None:
    default = None if from_config else 0
    parser.add_argument(
        "--seed",
        type=_non_negative_int,
        default=default,
        help="seed for every random component (default: 0"
        + (", or the case file's" if from_config else "")
        + ")",
    )
    parser.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        dest="n_jobs",
        help="parallel workers; -1 for all cores (default: 1)",
    )
    parser.add_argument(
        "--refute",
        choices=DEPTHS,
        default=None if from_config else "standard",
        help="refutation depth (default: standard); see docs/refutation.md",
    )
    parser.add_argument(
        "--missing",
        choices=("error", "drop"),
        default=None if from_config else "error",
        help="refuse missing values, or drop incomplete rows",
    )
    parser.add_argument(
        "--nuisance",
        choices=("auto", "linear"),
        default=None,
        help="nuisance learners of the effect estimators: auto (least squares plus gradient "
        "boosting on its residuals) or linear (least squares only, fast) (default: auto"
        + (", or the case file's" if from_config else "")
        + ")",
    )
    parser.add_argument(
        "--max-shap-rows",
        type=_shap_rows,
        default=None,
        dest="max_shap_rows",
        metavar="N",
        help="rows explained with SHAP, a seeded sample when there are more; the report states "
        "the sampling error (default: 2000" + (", or the case file's" if from_config else "") + ")",
    )
    parser.add_argument(
        "--refit",
        action="store_true",
        help="re-fit every nuisance model in every refuter simulation (slower; also exposes "
        "the nuisances' estimation noise, which matters in samples of a few hundred rows)",
    )
    parser.add_argument(
        "--no-graph-test",
        action="store_true",
        help="skip testing the DAG's implied independences against the data",
    )
    parser.add_argument(
        "--time-limit",
        type=_seconds,
        default=None,
        dest="time_limit",
        metavar="SECONDS",
        help="stop a feature's effect estimation after this many seconds and report it as "
        f"'error' (default: {_DEFAULT_TIME_LIMIT}; 'inf' for no limit)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 if any feature's estimation failed",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print nothing but errors (no progress bars)"
    )
    parser.add_argument(
        "--backend",
        default=None,
        help="joblib backend for the parallel tasks: loky (default), threading, or dask "
        "(with --scheduler); see docs/performance.md",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786 "
        "(implies --backend dask)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``causalinterp`` command."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # Dependencies warn about their own internals; the report says what matters.
            warnings.simplefilter("ignore")
            from causalinterp._progress import dask_client

            if args.scheduler is not None and args.backend is None:
                args.backend = "dask"
            with dask_client(args.scheduler):
                if args.command == "analyze":
                    report, out = _analyze(args), args.out
                else:
                    report, out = _run_case(args)
            _write(report, out)
    except CausalInterpError as error:
        print(f"causalinterp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("causalinterp: interrupted; no report was written", file=sys.stderr)
        return 130
    if not args.quiet:
        print(_summary(report, out))
    errors = [v.feature for v in report.verdicts.values() if v.verdict == "error"]
    return 1 if args.strict and errors else 0


def _analyze(args: argparse.Namespace):
    from causalinterp.pipeline import analyze

    _check_out(args.out)
    return analyze(
        read_table(args.data),
        args.graph,
        args.outcome,
        features=args.features,
        seed=args.seed,
        n_jobs=args.n_jobs,
        refute=args.refute,
        refit=args.refit,
        missing=args.missing,
        test_graph=not args.no_graph_test,
        backend=args.backend,
        progress=False if args.quiet else None,
        **_given(
            nuisance=args.nuisance,
            max_shap_rows=args.max_shap_rows,
            time_limit=args.time_limit,
        ),
    )


def _run_case(args: argparse.Namespace):
    from causalinterp.pipeline import analyze

    case = load_case(args.case_dir)
    _check_out(args.out or args.case_dir / "report")
    report = analyze(
        read_table(case["data"]),
        case["graph"],
        case["outcome"],
        features=case.get("features"),
        seed=args.seed if args.seed is not None else case.get("seed", 0),
        n_jobs=args.n_jobs,
        refute=args.refute or case.get("refute", "standard"),
        refit=args.refit or case.get("refit", False),
        missing=args.missing or case.get("missing", "error"),
        test_graph=not args.no_graph_test,
        backend=args.backend,
        progress=False if args.quiet else None,
        **_given(
            nuisance=args.nuisance or case.get("nuisance"),
            max_shap_rows=args.max_shap_rows or case.get("max_shap_rows"),
            time_limit=args.time_limit,
        ),
    )
    return report, args.out or args.case_dir / "report"


def _given(**options: Any) -> dict[str, Any]:
    # Only the options given: analyze() owns the defaults.
    return {name: value for name, value in options.items() if value is not None}


def _check_out(out: Path) -> None:
    """Refuse an output folder that cannot be one before spending time on the analysis."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OptionError(
            f"out: {str(out)!r} is a file, not a folder; pass a folder for the reports"
        )


def _write(report, out: Path) -> None:
    """Write the reports; each file is replaced atomically, so a failure leaves old ones whole."""
    try:
        report.write(out)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OptionError(
            f"out: cannot write the reports to {str(out)!r} ({reason}); pass a writable folder"
        ) from None


def load_case(case_dir: Path) -> dict[str, Any]:
    """Read a case study's ``case.toml`` (paths in it are relative to the case folder)."""
    path = Path(case_dir) / _CASE_FILE
    if not path.is_file():
        raise OptionError(f"case: {path} does not exist; a case folder needs a {_CASE_FILE}")
    try:
        case = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise OptionError(f"case: {path} is not valid TOML ({error}); fix the file") from None
    unknown = sorted(set(case) - _CASE_KEYS)
    if unknown:
        raise OptionError(
            f"case: unknown key(s) {', '.join(unknown)} in {path}; "
            f"valid keys are {', '.join(sorted(_CASE_KEYS))}"
        )
    for key in ("data", "graph", "outcome"):
        if key not in case:
            raise OptionError(f"case: {path} lacks the key {key!r}; add it")
    case["data"] = Path(case_dir) / case["data"]
    graph_path = Path(case_dir) / case["graph"]
    case["graph"] = graph_path if graph_path.is_file() else case["graph"]
    return case


def read_table(path: Path) -> pd.DataFrame:
    """Read a .csv or .parquet file, or raise a one-line DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data: file {str(path)!r} does not exist; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            _check_header(path)
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"data: {str(path)!r} is empty; export the data with a header row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"data: cannot read {str(path)!r} ({first}); check the file") from None
    raise DataError(f"data: unsupported file type {suffix!r}; use a .csv or .parquet file")


def _check_header(path: Path) -> None:
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
            f"data: duplicated column name(s) {shown} in {str(path)!r}; give every column a "
            "unique name"
        )


def _summary(report, out: Path) -> str:
    flagged = [v.feature for v in report.verdicts.values() if v.flagged]
    lines = [f"wrote {out / 'report.html'}, report.json and report.md"]
    for verdict in report.verdicts.values():
        mark = "FLAG" if verdict.flagged else "    "
        lines.append(f"  {mark} {verdict.feature}: {verdict.verdict}")
    if flagged:
        lines.append(f"{len(flagged)} flagged attribution(s): read them as causes at your peril")
    return "\n".join(lines)


def _comma_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return names


def _number(kind: type, expected: str, valid: Callable[[Any], bool], invalid: str):
    """An argparse type: ``kind(text)`` that satisfies ``valid``, else a one-line message."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(invalid.format(text=repr(text)))
        return value

    return parse


_non_negative_int = _number(
    int, "a non-negative integer", lambda v: v >= 0, "expected a non-negative integer, got {text}"
)
_seconds = _number(
    float,
    "a number of seconds",
    lambda v: v > 0,
    "expected a positive number of seconds, got {text}",
)
_shap_rows = _number(
    int, "a whole number of rows", lambda v: v >= 10, "expected at least 10 rows, got {text}"
)
_n_jobs = _number(
    int,
    "an integer",
    lambda v: v != 0,
    "0 workers cannot run anything; use 1, or -1 for all cores",
)


if __name__ == "__main__":
    sys.exit(main())
