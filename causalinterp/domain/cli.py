"""``causalinterp constrain``: refit a model with the DAG's directions and write the comparison.

Two functions for the main command line: :func:`add_parser` adds the subcommand and its flags
(built from :mod:`causalinterp.options`), :func:`run` executes it and returns the exit code.
Writes ``OUT/constrain.json``, ``OUT/constrain.md`` and the constrained model in its own
format.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from causalinterp import options
from causalinterp._command import check_out, command, write_out

#: The options table's rows this subcommand offers as flags.
OPTIONS = ("seed", "n_jobs", "backend", "ice_rows", "ice_grid", "ice_tolerance",
           "validation_fraction", "score_bootstrap", "score_alpha", "model_family", "verdicts",
           "save_model")
#: Those passed to :func:`causalinterp.constrain` as they are.
_CONSTRAIN_OPTIONS = ("seed", "n_jobs", "backend", "ice_rows", "ice_grid", "ice_tolerance",
                      "validation_fraction", "score_bootstrap", "score_alpha", "verdicts")


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


@command
def run(args: argparse.Namespace) -> int:
    """Run ``causalinterp constrain``; 0 on success, 2 on bad input (one line on stderr)."""
    from causalinterp.domain.directions import parse_signs
    from causalinterp.domain.refit import constrain
    from causalinterp.inputs import read_table

    out = check_out(args.out)
    values = options.validate(options.given(args, OPTIONS))
    settings = {**{name: options.default(name) for name in OPTIONS}, **values}
    signs = parse_signs(args.signs) if args.signs else None
    data = read_table(args.data)
    model = _model(settings["model_family"], data, args.outcome, settings["seed"])
    result = constrain(
        model, data, args.graph, args.outcome,
        features=args.features, signs=signs,
        **{name: settings[name] for name in _CONSTRAIN_OPTIONS},
        progress=False if args.quiet else None,
    )
    written = write_out(lambda folder: result.write(folder, save_model=settings["save_model"]),
                        out)
    if not args.quiet:
        print(f"wrote {written['json']} and {written['markdown']}")
        if "model" in written:
            print(f"saved the constrained model to {written['model']}")
        for s in result.scores:
            print(f"{s.metric}: {s.before:.4f} -> {s.after:.4f} (difference {s.difference:+.4f}, "
                  f"[{s.ci_low:+.4f}, {s.ci_high:+.4f}])")
    return 0


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
