"""``causalinterp constrain``: refit a model with the DAG's directions and write the comparison.

Two functions for the main command line: :func:`add_parser` adds the subcommand and its flags
(built from :mod:`causalinterp.options`), :func:`run` executes it and returns the exit code.
Writes ``OUT/constrain.json``, ``OUT/constrain.md`` and the constrained model in its own
format.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from causalinterp import options
from causalinterp.errors import CausalInterpError, OptionError

#: The options table's rows this subcommand offers as flags.
OPTIONS = ("seed", "n_jobs", "ice_rows", "ice_grid", "ice_tolerance", "validation_fraction",
           "score_bootstrap", "score_alpha", "model_family", "verdicts", "save_model")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``constrain`` to ``commands`` (an argparse subparsers object).

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["constrain", "--data", "d.csv", "--graph", "x -> y",
    ...                    "--outcome", "y", "--out", "o"]).command
    'constrain'
    """
    parser = commands.add_parser(
        "constrain",
        help="refit the model with monotone constraints from the DAG's edge signs and compare "
        "its accuracy and violations before and after",
    )
    parser.add_argument("--data", required=True, type=Path,
                        help="the data: a .csv or .parquet file, one column per variable")
    parser.add_argument("--graph", required=True,
                        help="the causal DAG: a .dot/.gml/.txt file or text such as 'A -> B'")
    parser.add_argument("--outcome", required=True, help="the outcome column")
    parser.add_argument("--out", required=True, type=Path,
                        help="folder for constrain.json, constrain.md and the model (created)")
    parser.add_argument("--features", default=None,
                        type=lambda text: [f.strip() for f in text.split(",") if f.strip()],
                        help="the model's features, comma-separated (default: every observed "
                        "graph node except the outcome)")
    parser.add_argument("--signs", default=None,
                        help="edge signs beyond the graph's own (which it may declare as "
                        "'price -> churn [+]'), e.g. 'price -> churn [+]; income -> churn [-]'")
    options.add_arguments(parser, OPTIONS)
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``causalinterp constrain``; 0 on success, 2 on bad input (one line on stderr)."""
    try:
        with warnings.catch_warnings():
            # Libraries warn about their own internals; the written files say what matters.
            warnings.simplefilter("ignore")
            summary = _run(args)
    except CausalInterpError as error:
        print(f"causalinterp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("causalinterp: interrupted; nothing was written", file=sys.stderr)
        return 130
    if not args.quiet:
        print(summary)
    return 0


def _run(args: argparse.Namespace) -> str:
    from causalinterp.cli import read_table
    from causalinterp.domain.directions import parse_signs
    from causalinterp.domain.refit import constrain

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise OptionError(f"out: {str(out)!r} is a file, not a folder; pass a folder")
    values = options.validate(options.given(args, OPTIONS))
    settings = {**{name: options.default(name) for name in OPTIONS}, **values}
    signs = parse_signs(args.signs) if args.signs else None
    data = read_table(args.data)
    model = _model(settings["model_family"], data, args.outcome, settings.get("seed", 0))
    result = constrain(
        model, data, args.graph, args.outcome,
        features=args.features, signs=signs,
        validation_fraction=settings["validation_fraction"],
        score_bootstrap=settings["score_bootstrap"], score_alpha=settings["score_alpha"],
        ice_rows=settings["ice_rows"], ice_grid=settings["ice_grid"],
        ice_tolerance=settings["ice_tolerance"], seed=values.get("seed", 0),
        verdicts=settings["verdicts"],
        n_jobs=values.get("n_jobs"), progress=False if args.quiet else None,
    )
    written = result.write(out, save_model=settings["save_model"])
    lines = [f"wrote {written['json']} and {written['markdown']}"]
    if "model" in written:
        lines.append(f"saved the constrained model to {written['model']}")
    for s in result.scores:
        lines.append(f"{s.metric}: {s.before:.4f} -> {s.after:.4f} "
                     f"(difference {s.difference:+.4f}, [{s.ci_low:+.4f}, {s.ci_high:+.4f}])")
    return "\n".join(lines)


def _model(family: str, data: Any, outcome: str, seed: int) -> Any:
    """An unfitted model of ``family`` for the outcome's kind (``hgb``: the default model)."""
    if family == "hgb":
        return None  # constrain() builds causalinterp's default model
    if outcome not in data.columns:
        return None  # constrain() reports the missing column
    binary = data[outcome].nunique(dropna=True) == 2
    if family in ("decision_tree", "random_forest", "extra_trees"):
        from sklearn import ensemble, tree

        name = {"decision_tree": "DecisionTree", "random_forest": "RandomForest",
                "extra_trees": "ExtraTrees"}[family] + ("Classifier" if binary else "Regressor")
        module = tree if family == "decision_tree" else ensemble
        extra = {"min_samples_leaf": 20} if family == "decision_tree" else {
            "n_estimators": 200, "min_samples_leaf": 5}
        return getattr(module, name)(random_state=seed, **extra)
    if family == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier if binary else lightgbm.LGBMRegressor
        return cls(n_estimators=200, random_state=seed, verbose=-1)
    import xgboost

    cls = xgboost.XGBClassifier if binary else xgboost.XGBRegressor
    return cls(n_estimators=200, random_state=seed)
