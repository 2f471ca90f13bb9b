"""``causalinterp monitor``: the command line of :func:`causalinterp.monitor`.

``add_parser(commands)`` adds the subcommand to the main parser's subparsers; ``run(args)``
runs it and returns the exit code: 0 no alert, 1 at least one alert, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from causalinterp import options as _options
from causalinterp._command import command
from causalinterp.errors import CausalInterpError, OptionError
from causalinterp.models import add_model_arguments, model_from_args

#: The options table's rows this command offers as flags (and its config file as keys).
OPTION_NAMES = (
    "seed", "n_jobs", "max_shap_rows", *_options.names(["monitor"]), "backend",
    *_options.names(["monitor_job"]),
)  # fmt: skip
#: Keys of a monitoring config file besides the options.
CONFIG_KEYS = frozenset(
    {
        "title",
        "description",
        "reference",
        "current",
        "graph",
        "outcome",
        "model",
        "trusted_types",
        "analysis",
        "features",
    }
)
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
#: The options of the reference-summary cache.
CACHE = ("reference_cache", "reference_cache_dir")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``monitor`` subcommand to ``commands`` (an argparse subparsers object)."""
    parser = commands.add_parser(
        "monitor",
        help="compare windows of production data with a reference: drift, support, "
        "attribution drift, changed causal mechanisms; exit 1 on any alert",
        description="Compare each window of current data with the reference and write "
        "monitor.json, monitor.md and monitor.html. Exit status: 0 no alert, 1 at least one "
        "alert, 2 bad input.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="a monitor.toml holding any of the flags below as keys (paths "
        "relative to it); flags given here win",
    )
    parser.add_argument(
        "--reference",
        default=None,
        help="the reference rows (.csv/.parquet), or a summary saved with --save-reference",
    )
    parser.add_argument(
        "--current",
        action="append",
        default=None,
        metavar="FILE",
        help="a window of current rows (.csv/.parquet, or a Parquet dataset: a folder or a "
        "glob); repeat for several windows, or give one file with --time-column and --window",
    )
    parser.add_argument(
        "--graph",
        default=None,
        help="the causal DAG: a .dot/.gml/.txt file or text such as 'A -> Y'",
    )
    parser.add_argument("--outcome", default=None, help="the outcome column")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for monitor.json, monitor.md and monitor.html (created)",
    )
    parser.add_argument(
        "--analysis",
        type=Path,
        default=None,
        help="report.json of causalinterp analyze, for the causal risk",
    )
    parser.add_argument(
        "--features",
        default=None,
        type=lambda t: [n.strip() for n in t.split(",") if n.strip()],
        help="the model's features, comma-separated",
    )
    parser.add_argument(
        "--save-reference",
        type=Path,
        default=None,
        metavar="FILE",
        help="save the reference's summary here, to pass later as --reference",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _options.add_arguments(parser, OPTION_NAMES, defaults_from="the config file")
    scheduler = _options.option("scheduler")  # a row without a table-made flag (see options)
    parser.add_argument("--scheduler", default=None, metavar=scheduler.metavar,
                        help=scheduler.help)  # fmt: skip
    # --model FILE: the deployed model; with a saved summary, the model it was made with.
    add_model_arguments(parser)
    return parser


@command
def run(args: argparse.Namespace) -> int:
    """Run ``causalinterp monitor``; return 0 (no alert), 1 (alerts) or 2 (bad input)."""
    try:
        with warnings.catch_warnings():
            # Dependencies warn about their internals; monitor.json says what matters.
            warnings.simplefilter("ignore")
            return _run(args)
    except CausalInterpError as error:
        print(f"causalinterp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("causalinterp: interrupted; no report was written", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from causalinterp.inputs import read_table
    from causalinterp.monitoring.core import (
        SUMMARY_OPTIONS,
        ReferenceSummary,
        monitor,
        reference_summary,
    )
    from causalinterp.monitoring.job import cluster, finish, read_windows, take_job

    config, base = _config(args.config)
    values = {
        **_options.from_case(config, OPTION_NAMES, f"config {args.config}"),
        **_options.given(args, OPTION_NAMES),
    }

    def pick(name: str, path: bool = False) -> Any:
        value = getattr(args, name)
        if value is None and name in config:
            value = base / config[name] if path else config[name]
        return value

    reference = pick("reference", path=True)
    currents = args.current or [base / c for c in config.get("current", [])]
    graph = pick("graph")
    if graph is not None and args.graph is None and (base / str(graph)).is_file():
        graph = base / str(graph)
    outcome, out = pick("outcome"), args.out
    if reference is None:
        raise OptionError("reference: not given; pass --reference FILE (or set it in --config)")
    if not currents and args.save_reference is None:
        raise OptionError("current: not given; pass --current FILE (repeatable)")
    if currents and out is None:
        raise OptionError("out: not given; pass --out DIR for monitor.json, .md and .html")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise OptionError(f"out: {str(out)!r} is a file, not a folder; pass a folder")
    model = _load_model(args, config, base)
    if args.scheduler is not None:
        values["scheduler"] = args.scheduler
    in_config = config.get("history")
    if args.history is None and in_config is not None and "://" not in str(in_config):
        values["history"] = str(base / in_config)  # a path is relative to the config file
    job = take_job(values)  # history, webhook, scheduler: checked before the work
    seed = values.pop("seed", 0)
    n_jobs = values.pop("n_jobs", None)
    if Path(reference).suffix.lower() in _TABLE_SUFFIXES:
        if graph is None or outcome is None:
            raise OptionError(
                "graph/outcome: needed with a reference table; pass --graph and --outcome"
            )
        settings = {k: values.get(k, _options.default(k)) for k in (*SUMMARY_OPTIONS, *CACHE)}
        summary, cache_note = reference_summary(
            read_table(reference, "reference"), graph, outcome, model=model,
            features=pick("features"), seed=seed, settings=settings,
        )  # fmt: skip
        if cache_note and not args.quiet:
            print(cache_note)
    else:
        summary = ReferenceSummary.load(reference, model=model)
    for key in SUMMARY_OPTIONS:
        values.pop(key, None)
    if args.save_reference is not None:
        try:
            summary.save(args.save_reference)
        except OSError as error:
            raise OptionError(
                f"save-reference: cannot write {str(args.save_reference)!r} "
                f"({error.strerror}); pass a path in an existing, writable folder"
            ) from None
        if not args.quiet:
            print(f"reference summary of {summary.n_rows} rows saved to {args.save_reference}")
        if not currents:
            return 0
    windows = read_windows(currents, job)
    analysis = pick("analysis", path=True)
    with cluster(job):
        result = monitor(
            summary,
            windows,
            outcome=outcome,
            analysis=analysis,
            seed=seed,
            n_jobs=n_jobs,
            progress=False if args.quiet else None,
            **values,
        )
    try:
        result.write(out)
    except OSError as error:
        raise OptionError(
            f"out: cannot write to {str(out)!r} ({error.strerror}); pass a writable folder"
        ) from None
    if not args.quiet:
        alerted = sum(1 for w in result.windows if w.alerts)
        print(
            f"{len(result.windows)} window(s), {alerted} with alerts, "
            f"{len(result.alerts)} alert(s); reports in {out}"
        )
        for name, alert in result.alerts:
            print(f"  [{name}] {alert.kind}: {alert.message}")
    finish(result, out, job, quiet=args.quiet)  # store the run, post its alerts
    return result.exit_code


def _config(path: Path | None) -> tuple[dict[str, Any], Path]:
    if path is None:
        return {}, Path(".")
    from causalinterp._io import read_toml

    config = read_toml(path, "config")
    known = CONFIG_KEYS | _options.case_keys(OPTION_NAMES)
    _options.check_known(config, known, f"config {path}")
    return config, Path(path).parent


def _load_model(args: argparse.Namespace, config: dict[str, Any], base: Path) -> Any:
    """``--model`` through :mod:`causalinterp.models` (pickles only with --trust-pickle);
    else the config file's ``model`` key, relative to the config file."""
    if args.model is None and "model" in config:
        from_config = argparse.Namespace(
            model=str(config["model"]),
            trust_pickle=args.trust_pickle,
            trusted_types=args.trusted_types or config.get("trusted_types"),
        )
        return model_from_args(from_config, base_dir=base)
    return model_from_args(args)


__all__ = ["add_parser", "run"]
