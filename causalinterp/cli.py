"""Command line: ``causalinterp analyze ...`` and ``causalinterp run CASE_DIR``.

Exit status: 0 on success; 2 on bad input or options, with one line on standard error;
1 with ``--strict`` when a feature's estimation failed (its row says ``error``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from causalinterp import options
from causalinterp._command import check_out, command, write_out
from causalinterp.errors import OptionError
from causalinterp.inputs import read_table  # re-exported: callers of cli.read_table keep working
from causalinterp.models import DEFAULT_MODEL_HELP, add_model_arguments, model_from_args

_CASE_FILE = "case.toml"
#: The options of ``analyze`` and ``run``: analyze()'s rows of the options table (the table
#: says which have a flag and which a case.toml key; ``progress`` is ``--quiet``'s business).
_OPTIONS = options.names(options.ANALYZE_STAGES)
#: case.toml keys that are not options: the case's inputs and its documentation.
_CASE_INPUTS = (
    "title", "description", "data", "graph", "outcome", "features", "model", "trusted_types",
    "truth",
)
_CASE_KEYS = frozenset(_CASE_INPUTS) | options.case_keys(_OPTIONS)


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
    from causalinterp.domain.cli import add_parser as add_constrain

    add_constrain(commands)
    from causalinterp.explain.cli import add_parser as add_explain

    add_explain(commands)
    from causalinterp.monitoring import cli as monitor_cli

    monitor_cli.add_parser(commands)
    from causalinterp.vision.cli import add_parser as add_vision

    add_vision(commands)
    from causalinterp.monitoring import history_cli

    history_cli.add_parser(commands)

    analyze = commands.add_parser(
        "analyze",
        help="analyse a data file against a causal graph and write the reports",
        description="Analyse a data file against a causal graph and write the reports. The "
        "model explained is --model FILE; " + DEFAULT_MODEL_HELP + ".",
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

    run = commands.add_parser(
        "run",
        help=f"run a case study from its {_CASE_FILE}",
        description=f"Run a case study from its {_CASE_FILE}. The model explained is --model "
        f"FILE, else the case file's 'model' key; " + DEFAULT_MODEL_HELP + ".",
    )
    run.add_argument("case_dir", type=Path, help=f"a folder holding {_CASE_FILE}")
    run.add_argument(
        "--out", type=Path, default=None, help="folder for the reports (default: CASE_DIR/report)"
    )
    _add_common(run, from_config=True)
    return parser


def _add_common(parser: argparse.ArgumentParser, from_config: bool = False) -> None:
    options.add_arguments(parser, _OPTIONS, defaults_from="the case file" if from_config else "")
    add_model_arguments(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 if any feature's estimation failed",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print nothing but errors (no progress bars)"
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="after the run, print the report's findings and what to do, in one screen "
        "(also with --quiet)",
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
    if args.command == "monitor":
        from causalinterp.monitoring import cli as monitor_cli

        return monitor_cli.run(args)
    if args.command == "history":
        from causalinterp.monitoring import history_cli

        return history_cli.run(args)
    if args.command == "constrain":
        from causalinterp.domain.cli import run

        return run(args)
    if args.command == "explain":
        from causalinterp.explain.cli import run as run_explain

        return run_explain(args)
    if args.command == "vision":
        from causalinterp.vision.cli import run as run_vision

        return run_vision(args)
    return _run(args)


@command
def _run(args: argparse.Namespace) -> int:
    """``analyze`` and ``run``: the analysis, its reports, and the lines printed after."""
    if args.scheduler is not None and args.backend is None:
        args.backend = "dask"
    with _dask_client(args.scheduler):
        if args.command == "analyze":
            report, out = _analyze(args), args.out
        else:
            report, out = _run_case(args)
    write_out(report.write, out)
    if not args.quiet:
        print(_summary(report, out))
    if args.summary:
        from causalinterp.render.summary import summary_text

        print(summary_text(report))
    errors = [v.feature for v in report.verdicts.values() if v.verdict == "error"]
    return 1 if args.strict and errors else 0


def _dask_client(scheduler: str | None):
    """``_progress.dask_client``, without importing joblib when there is no scheduler."""
    if scheduler is None:
        return contextlib.nullcontext()
    from causalinterp._progress import dask_client

    return dask_client(scheduler)


def _analyze(args: argparse.Namespace):
    check_out(args.out)
    data, model, options_given = read_table(args.data), model_from_args(args), _options(args)
    # The pipeline (DoWhy, EconML, SHAP, scikit-learn) loads only once the inputs are read:
    # a wrong path or option is reported at once.
    from causalinterp.pipeline import analyze

    return analyze(
        data,
        args.graph,
        args.outcome,
        features=args.features,
        model=model,
        progress=False if args.quiet else None,
        **options_given,
    )


def _run_case(args: argparse.Namespace):
    case = load_case(args.case_dir)
    out = args.out or args.case_dir / "report"
    check_out(out)
    if args.model is None and "model" in case:
        # The case file's model path is relative to the case folder; the command line's
        # --trusted-types, when given, replaces the case file's.
        args.model = str(case["model"])
        if args.trusted_types is None:
            args.trusted_types = _case_names(case.get("trusted_types"), "trusted_types", args)
        model = model_from_args(args, base_dir=args.case_dir)
    else:
        model = model_from_args(args)
    data = read_table(case["data"])
    options_given = _options(args, case, where=str(Path(args.case_dir) / _CASE_FILE))
    from causalinterp.pipeline import analyze  # after the inputs, as in _analyze

    report = analyze(
        data,
        case["graph"],
        case["outcome"],
        features=case.get("features"),
        model=model,
        progress=False if args.quiet else None,
        **options_given,
    )
    return report, out


def _options(
    args: argparse.Namespace, case: dict[str, Any] | None = None, where: str = ""
) -> dict[str, Any]:
    """The options to pass to analyze(): the command line's, else the case file's.

    Options given nowhere are left out, so that analyze() (built from the options table)
    supplies the default.
    """
    values = options.from_case(case, options.case_keys(_OPTIONS), where) if case else {}
    values.update(options.given(args, _OPTIONS))
    return values


def load_case(case_dir: Path) -> dict[str, Any]:
    """Read a case study's ``case.toml`` (paths in it are relative to the case folder)."""
    path = Path(case_dir) / _CASE_FILE
    if not path.is_file():
        raise OptionError(f"case: {path} does not exist; a case folder needs a {_CASE_FILE}")
    from causalinterp._io import read_toml

    case = read_toml(path, "case")
    options.check_known(case, _CASE_KEYS, str(path))
    for key in ("data", "graph", "outcome"):
        if key not in case:
            raise OptionError(f"case: {path} lacks the key {key!r}; add it")
    case["data"] = Path(case_dir) / case["data"]
    case["graph"] = _graph_file_or_text(Path(case_dir), case["graph"])
    return case


def _graph_file_or_text(case_dir: Path, graph: str) -> Path | str:
    """The case's graph file, relative to its folder, or the graph text itself."""
    try:
        path = case_dir / graph
        return path if path.is_file() else graph
    except (OSError, ValueError):  # text too long or odd to be a file name: it is the graph
        return graph


def _summary(report, out: Path) -> str:
    flagged = [v.feature for v in report.verdicts.values() if v.flagged]
    lines = [f"wrote {out / 'report.html'}, report.json and report.md"]
    for verdict in report.verdicts.values():
        mark = "FLAG" if verdict.flagged else "    "
        lines.append(f"  {mark} {verdict.feature}: {verdict.verdict}")
    if flagged:
        lines.append(f"{len(flagged)} flagged attribution(s): read them as causes at your peril")
    from causalinterp.render._text import unused_columns_text

    unused = unused_columns_text(list(report.checked.unused_graph_columns))
    if unused:
        lines.append(unused)
    return "\n".join(lines)


def _case_names(value: Any, key: str, args: argparse.Namespace) -> list[str] | None:
    """A case file's list of names: a TOML array of strings or one comma-separated string."""
    if value is None:
        return None
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return list(value)
    raise OptionError(
        f"{key}: in {Path(args.case_dir) / _CASE_FILE} expected a list of type names, got "
        f"{value!r}; write e.g. {key} = ['lightgbm.sklearn.LGBMClassifier']"
    )


def _comma_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return names


if __name__ == "__main__":
    sys.exit(main())
