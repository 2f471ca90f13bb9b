"""Every option of causalinterp, declared once.

:data:`OPTIONS` is the one table from which :func:`causalinterp.analyze`'s checks, the command
line's flags (``causalinterp analyze``/``run``/``monitor`` ...) and the keys of ``case.toml`` are
all built. An option is declared by its name, type, range or choices, default and help; the
stage verbs validate what they are given with :func:`validate`, so a bad value gets the same
one-line message (naming the option and the fix, with a did-you-mean hint for near-misses)
from every entry point.

Adding an option: add one :class:`Option` row here, take it as a keyword-only argument of the
verb that uses it, and pass it through :func:`causalinterp.analyze`. The CLI flag and the
``case.toml`` key follow from the row (``cli=False`` or ``case=False`` to leave one out).

This module imports nothing heavy, so that ``causalinterp --help`` stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from causalinterp.errors import OptionError

#: The kinds of value an option takes; each has one check and one argparse parser.
KINDS = ("int", "float", "seconds", "bool", "choice", "text", "names", "object")


@dataclass(frozen=True)
class Option:
    """One option: what it is called, what it takes and what it defaults to.

    Attributes
    ----------
    name : str
        The keyword in Python and the key in ``case.toml``; the CLI flag is ``--name`` with
        dashes for underscores.
    kind : str
        One of :data:`KINDS`: ``"int"``, ``"float"``, ``"seconds"`` (a positive number or
        None for no limit), ``"bool"``, ``"choice"``, ``"text"``, ``"names"`` (a list of column
        names; comma-separated on the CLI) or ``"object"`` (Python only, checked by its stage).
    default : object
        The value used when the option is not given.
    help : str
        One sentence for ``--help`` and the documentation.
    stage : str
        The verb that uses it (``"data"``, ``"estimate"``, ``"refute"``, ``"graph_test"``,
        ``"attribute"``, ``"judge"``, ``"run"`` ...); documentation groups options by it.
    choices : tuple of str, optional
        For ``kind="choice"``: the allowed values.
    low, high : float, optional
        Inclusive bounds for numbers.
    low_open, high_open : bool
        Make ``low``/``high`` exclusive.
    nonzero : bool
        Refuse 0 (``n_jobs``).
    allow_none : bool
        None is a valid value (it means "no cap", "automatic" ...).
    cli_choices : tuple of str, optional
        For ``kind="object"`` options that the CLI offers as named presets (``nuisance``).
    example : str
        A valid value, for the fix in error messages (``pass e.g. seed=0``).
    cli, case : bool
        Whether the CLI and ``case.toml`` offer the option.
    metavar : str, optional
        Placeholder in ``--help``.
    aliases : tuple of str
        Further command-line flags for the option (older spellings kept working).
    """

    name: str
    kind: str
    default: Any
    help: str
    stage: str
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    nonzero: bool = False
    allow_none: bool = False
    cli_choices: tuple[str, ...] | None = None
    example: str = ""
    cli: bool = True
    case: bool = True
    metavar: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--max-shap-rows``."""
        return "--" + self.name.replace("_", "-")

    def expected(self) -> str:
        """What a valid value looks like, in words."""
        if self.kind == "choice":
            return "one of " + ", ".join(map(repr, self.choices or ()))
        if self.kind == "bool":
            return "True or False"
        if self.kind == "text":
            return "a string"
        if self.kind == "names":
            return "a list of column names"
        if self.kind == "seconds":
            return "a positive number of seconds" + (" or None" if self.allow_none else "")
        noun = "an integer" if self.kind == "int" else "a number"
        if self.nonzero:
            noun = "a non-zero integer"
        elif self.low == 0 and not self.low_open and self.high is None:
            noun = "a non-negative integer" if self.kind == "int" else "a non-negative number"
        elif self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            noun += f" in {left}{self.low:g}, {self.high:g}{right}"
        elif self.low is not None:
            noun += f" {'>' if self.low_open else '>='} {self.low:g}"
        return noun + (" or None" if self.allow_none else "")

    def fix(self) -> str:
        return f"pass e.g. {self.name}={self.example}" if self.example else "see --help"


def _opt(name: str, kind: str, default: Any, stage: str, help: str, **more: Any) -> Option:
    return Option(name=name, kind=kind, default=default, stage=stage, help=help, **more)


#: Refutation depths and the simulations each refuter runs at that depth.
REFUTE_DEPTHS = ("none", "quick", "standard", "thorough")

OPTIONS: tuple[Option, ...] = (
    # ---------------------------------------------------------------- the run as a whole
    _opt("seed", "int", 0, "run", "seed for every random component; the same seed gives the "
         "same report whatever n_jobs", low=0, example="0"),
    _opt("n_jobs", "int", None, "run", "parallel workers (joblib semantics): 1 serial, -1 all "
         "cores; unset: the active joblib.parallel_config, else 1", nonzero=True,
         allow_none=True, example="-1", case=False, metavar="N"),
    _opt("backend", "text", None, "run", "joblib backend for the parallel tasks: loky "
         "(default), threading, or dask (inside a dask.distributed client; see "
         "docs/performance.md)", allow_none=True, example="'loky'", case=False,
         metavar="NAME"),
    _opt("progress", "bool", None, "run", "progress bars on standard error; default: only "
         "when it is a terminal", allow_none=True, cli=False, case=False),
    _opt("time_limit", "seconds", 600.0, "estimate", "seconds one feature's effect estimation "
         "may take before it is reported as 'error' ('inf' or None: no limit)",
         allow_none=True, example="600", metavar="SECONDS"),
    # ---------------------------------------------------------------- data
    _opt("missing", "choice", "error", "data", "refuse missing values, or drop incomplete rows "
         "(counted in the report)", choices=("error", "drop")),
    _opt("latent", "names", (), "data", "graph nodes declared unobserved (comma-separated); "
         "otherwise a node that is not a column but nearly matches one's name is an error, "
         "as it is most likely a typo", example="['ability']", metavar="NODES"),
    # ---------------------------------------------------------------- effects
    _opt("nuisance", "object", "auto", "estimate", "nuisance learners of the double ML "
         "estimators: auto (per feature and nuisance model, the simplest of linear, flexible "
         "and boosting whose out-of-fold loss is within one standard error of the best), "
         "linear (penalised least squares or logistic regression, fast), flexible (least "
         "squares plus gradient boosting on its residuals) or boosting; in Python also a "
         "scikit-learn estimator or a (regressor, classifier) pair",
         cli_choices=("auto", "linear", "flexible", "boosting"), example="'auto'"),
    _opt("n_folds", "int", 3, "estimate", "cross-fitting folds of the double ML estimators "
         "(the refuters reuse the estimate's)", low=2, example="3", metavar="K"),
    _opt("estimand", "choice", "ate", "estimate", "population of a binary treatment's "
         "effect: ate (all rows), att (the treated rows) or atc (the untreated rows); the "
         "attribution is compared on the same population (see docs/real-data.md)",
         choices=("ate", "att", "atc"), example="'att'"),
    # ---------------------------------------------------------------- refutations
    _opt("refute", "choice", "standard", "refute", "refutation depth; see docs/refutation.md",
         choices=REFUTE_DEPTHS),
    _opt("refit", "bool", None, "refute", "re-fit every nuisance model in every refuter "
         "simulation (slower; also exposes the nuisances' estimation noise, which matters in "
         "samples of a few hundred rows); unset: auto, re-fit below 1000 rows or when "
         "half-sample re-fits show that noise is material (docs/refutation.md)",
         allow_none=True),
    _opt("alpha", "float", 0.05, "refute", "level of the refuters' tests and of the "
         "sensitivity analysis (Benjamini-Hochberg across the report)", low=0, high=1,
         low_open=True, high_open=True, example="0.05", metavar="LEVEL"),
    # ---------------------------------------------------------------- graph test
    _opt("test_graph", "bool", True, "graph_test", "test the DAG's implied conditional "
         "independences against the data", aliases=("--no-graph-test",)),
    _opt("graph_test_method", "choice", "auto", "graph_test", "conditional-independence test: "
         "linear (partial correlation), gcm (flexible residuals) or auto (gcm from 500 rows "
         "when the conditioning set is non-empty)",
         choices=("auto", "linear", "gcm")),
    _opt("graph_test_alpha", "float", 0.05, "graph_test", "false discovery rate of the graph "
         "test (Benjamini-Hochberg across implications)", low=0, high=1, low_open=True,
         high_open=True, example="0.05", metavar="RATE"),
    _opt("graph_test_max_conditioning", "int", None, "graph_test", "largest conditioning set "
         "tested; None for no cap", low=0, allow_none=True, example="3", metavar="N"),
    _opt("graph_test_max_rows", "int", 20_000, "graph_test", "rows the graph test uses (a "
         "seeded sample when there are more)", low=10, example="20000", metavar="N"),
    # ---------------------------------------------------------------- attributions
    _opt("max_shap_rows", "int", 2000, "attribute", "rows explained with SHAP, a seeded sample "
         "when there are more; the report states the sampling error", low=10, example="2000",
         metavar="N"),
    _opt("max_shap_seconds", "seconds", None, "attribute", "time budget of a model-agnostic "
         "SHAP explanation (used only when no fast explainer fits the model): fewer rows are "
         "explained and the report states the larger sampling error (None: no limit)",
         allow_none=True, example="120", metavar="SECONDS"),
    # ---------------------------------------------------------------- verdicts
    _opt("material_share", "float", 0.05, "judge", "share of total mean |SHAP| from which an "
         "attribution is material (and flagged when it lacks causal support)", low=0, high=1,
         example="0.05", metavar="SHARE"),
    _opt("attribution_factor", "float", 1.5, "judge", "how far outside the effect's CI the "
         "attribution slope must lie to be over- or under-attributed", low=1, example="1.5",
         metavar="FACTOR"),
    # ---------------------------------------------------------------- domain check
    # Checked by analyze() after the verdicts; constrain() uses the ICE options too.
    _opt("signs", "object", None, "domain_check", "declared edge signs beyond the graph's own: "
         "{(cause, effect): '+' or '-'}, or in case.toml a [signs] table such as "
         "\"price -> churn\" = \"+\"", allow_none=True, cli=False,
         example="{('price', 'churn'): '+'}"),
    _opt("ice_rows", "int", 200, "domain_check", "rows sampled (seeded) for the ICE curves "
         "that check each feature against its direction", low=2, example="200", metavar="N"),
    _opt("ice_grid", "int", 50, "domain_check", "grid points of each ICE curve over the "
         "feature's observed range", low=2, example="50", metavar="N"),
    _opt("ice_tolerance", "float", 0.01, "domain_check", "moves of an ICE curve against its "
         "direction up to this share of the standard deviation of the model's predictions "
         "are not violations (0 counts every move)", low=0, example="0.01", metavar="SHARE"),
    # ---------------------------------------------------------------- dose-response curves
    _opt("curves", "bool", True, "curves", "estimate E[Y | do(X = x)] of every continuous "
         "back-door feature, compare it with the model's dependence, and test each back-door "
         "effect for heterogeneity; see docs/curves.md"),
    _opt("curve_points", "int", 20, "curves", "grid points of each dose-response curve "
         "(from the feature's 1st to 99th percentile)", low=5, high=200, example="20",
         metavar="N"),
    # ---- monitoring (monitor())
    _opt("drift_alpha", "float", 0.05, "monitor", "false discovery rate of the per-column "
         "drift tests (Kolmogorov-Smirnov or chi-squared, Benjamini-Hochberg across columns)",
         low=0, high=1, low_open=True, high_open=True, example="0.05", metavar="RATE"),
    _opt("drift_threshold", "float", 0.1, "monitor", "distance from which a significant "
         "column drifts: Wasserstein over the reference's SD (continuous) or Jensen-Shannon "
         "(categorical)", low=0, example="0.1", metavar="DISTANCE"),
    _opt("support_share", "float", 0.05, "monitor", "alert when more than this share of a "
         "window's rows lies beyond the reference's 99th percentile of novelty (about 0.01 "
         "when nothing changed)", low=0, high=1, example="0.05", metavar="SHARE"),
    _opt("range_share", "float", 0.02, "monitor", "alert when more than this share of rows "
         "lies outside a feature's reference range (or at an unseen level)", low=0, high=1,
         example="0.02", metavar="SHARE"),
    _opt("ndcg_threshold", "float", 0.9, "monitor", "alert when the nDCG of the mean |SHAP| "
         "ranking against the reference falls below this", low=0, high=1, example="0.9",
         metavar="NDCG"),
    _opt("share_change", "float", 0.1, "monitor", "alert when a feature's attribution share "
         "moves at least this much and its 95% bootstrap CI excludes 0", low=0, high=1,
         example="0.1", metavar="SHARE"),
    _opt("mechanism_alpha", "float", 0.05, "monitor", "false discovery rate of the mechanism-"
         "change tests (Benjamini-Hochberg across nodes)", low=0, high=1, low_open=True,
         high_open=True, example="0.05", metavar="RATE"),
    _opt("outcome_change", "bool", False, "monitor", "also split the change of the outcome's "
         "mean in each labelled window over the mechanisms of the outcome and its numeric "
         "ancestors (Shapley values, DoWhy gcm's multiply-robust estimator): 2**n cross-fitted "
         "regressions for n nodes: seconds per window for six nodes, half a minute for eight"),
    _opt("mechanism_threshold", "float", 0.1, "monitor", "score (residual shift in reference "
         "residual SDs) from which a significant mechanism change alerts", low=0,
         example="0.1", metavar="SCORE"),
    _opt("risk_increase", "float", 0.05, "monitor", "alert when the attribution share on "
         "features without causal support grows by at least this (CI above 0)", low=0,
         high=1, example="0.05", metavar="SHARE"),
    _opt("performance_drop", "float", 0.1, "monitor", "alert when the model's error (RMSE, "
         "or root Brier score for a classifier) rises by more than this fraction", low=0,
         example="0.1", metavar="FRACTION"),
    _opt("n_bootstrap", "int", 200, "monitor", "bootstrap resamples of the attribution "
         "shares' confidence intervals", low=20, example="200", metavar="N"),
    _opt("reference_rows", "int", 100_000, "monitor", "reference rows kept for the tests (a "
         "seeded sample when there are more; ranges use every row)", low=100,
         example="100000", metavar="N"),
    _opt("mechanism_rows", "int", 5000, "monitor", "rows the mechanisms are fitted on and "
         "tested with (seeded samples of the reference and of each window)", low=100,
         example="5000", metavar="N"),
    _opt("time_column", "text", None, "monitor", "cut the current data into windows by this "
         "column of dates", allow_none=True, example="'date'", metavar="COLUMN"),
    _opt("window", "text", None, "monitor", "window length with time_column: a pandas "
         "frequency such as 1D, 7D or 1h", allow_none=True, example="'7D'", metavar="FREQ"),
    # ---- domain logic: enforced by constrain() (its ICE options are the domain check's above)
    _opt("validation_fraction", "float", 0.25, "domain", "share of rows held out to score the "
         "model before and after the monotone constraints", low=0, high=1, low_open=True,
         high_open=True, example="0.25", metavar="SHARE"),
    _opt("score_bootstrap", "int", 1000, "domain", "paired bootstrap resamples of the score "
         "difference's interval", low=100, example="1000", metavar="N"),
    _opt("score_alpha", "float", 0.05, "domain", "the score difference's interval is at level "
         "1 - score_alpha", low=0, high=1, low_open=True, high_open=True, example="0.05",
         metavar="ALPHA"),
    _opt("model_family", "choice", "hgb", "domain", "the model family constrain fits: "
         "histogram gradient boosting (the default model), decision_tree, random_forest, "
         "extra_trees, lightgbm or xgboost", choices=("hgb", "decision_tree", "random_forest",
         "extra_trees", "lightgbm", "xgboost"), case=False),
    _opt("verdicts", "bool", False, "domain", "also re-run the verdict table on the "
         "constrained model (estimates every effect: slow)"),
    _opt("save_model", "bool", True, "domain", "save the constrained model in its own format "
         "(scikit-learn: skops; LightGBM: text; XGBoost: JSON)", case=False),
    # ---- image models (causalinterp.vision; the vision extra)
    _opt("layers", "names", None, "vision", "the layers whose channels are shown, attributed and "
         "ablated, by module name (comma-separated); default: the last module whose output is "
         "a feature map (N, C, H, W)", example="['conv2']", metavar="NAMES",
         aliases=("--layer",), allow_none=True, case=False),
    _opt("device", "text", "auto", "vision", "torch device: auto (cuda when available, else "
         "cpu), cpu, cuda or cuda:N", example="'cpu'", metavar="DEVICE", case=False),
    _opt("model_output", "choice", "logits", "vision", "what the model returns: logits "
         "(softmax gives the probabilities) or probabilities", choices=("logits",
         "probabilities"), case=False),
    _opt("max_images", "int", 2000, "vision", "images analysed, a seeded sample when there are "
         "more", low=10, example="2000", metavar="N", case=False),
    _opt("view_image", "int", None, "vision", "index of the image whose activation maps and "
         "attribution maps are shown; default: the first image of the target class",
         low=0, allow_none=True, example="0", metavar="INDEX", case=False),
    _opt("top_images", "int", 6, "vision", "top-activating images (and patches) shown per "
         "channel", low=1, high=50, example="6", metavar="N", case=False),
    _opt("ig_steps", "int", 32, "vision", "steps of the Integrated Gradients path integral",
         low=2, example="32", metavar="N", case=False),
    _opt("ig_baseline", "choice", "zero", "vision", "Integrated Gradients baseline image: zero "
         "(black) or the mean image of the set", choices=("zero", "mean"), case=False),
    _opt("concept_fill", "choice", "inpaint", "vision", "how a concept is removed: inpaint "
         "(the masked pixels diffused in from their surroundings), mean (the image's mean "
         "outside the mask) or zero (black, for images on a black background)",
         choices=("inpaint", "mean", "zero"), case=False),
    _opt("unit_bootstrap", "int", 1000, "vision", "bootstrap resamples of the 95% intervals "
         "of the intervention effects", low=100, example="1000", metavar="N", case=False),
    _opt("material_effect", "float", 0.1, "vision", "drop of the target's probability from "
         "which removing a concept matters: a declared shortcut is flagged when its removal "
         "lowers the probability by at least this with 95% confidence (the interval's upper "
         "end at or below -material_effect)", low=0, high=1, low_open=True, example="0.1",
         metavar="PROBABILITY", case=False),
    _opt("channel_share", "float", 0.05, "vision", "share of a layer's attribution from which "
         "a channel's attribution is material (and flagged when its ablation shows no effect)",
         low=0, high=1, example="0.05", metavar="SHARE", case=False),
    _opt("share_factor", "float", 1.5, "vision", "how far a channel's attribution share must "
         "lie outside its ablation-effect share's interval to be over- or under-attributed",
         low=1, example="1.5", metavar="FACTOR", case=False),
    _opt("batch_size", "int", 256, "vision", "images per forward pass", low=1, example="256",
         metavar="N", case=False),
    # ---- a monitoring job around monitor(): where each run is stored, where its alerts go,
    # where large windows are read (causalinterp monitor and causalinterp history)
    _opt("history", "text", None, "monitor_job", "database of monitoring runs: a file path "
         "(SQLite) or a SQLAlchemy URL such as postgresql://user@host/db; monitor appends each "
         "run with its windows, figures and alerts in one transaction, history reads them",
         allow_none=True, example="'monitoring/history.db'", metavar="URL"),
    _opt("alert_webhook", "text", None, "monitor_job", "POST one JSON body per run with alerts "
         "to this http(s) URL (with a Slack-compatible text field); a failed delivery is "
         "reported and changes nothing else", allow_none=True,
         example="'https://hooks.example.com/alerts'", metavar="URL"),
    _opt("webhook_timeout", "seconds", 10.0, "monitor_job", "seconds one webhook attempt may "
         "take", example="10", metavar="SECONDS"),
    _opt("webhook_retries", "int", 3, "monitor_job", "further webhook attempts after a "
         "connection error, a timeout, HTTP 429 or 5xx (waiting 1, 2, 4 ... s)", low=0, high=10,
         example="3", metavar="N"),
    # analyze and run have their own --scheduler flag; monitor adds this row's by hand.
    _opt("scheduler", "text", None, "monitor_job", "address of a dask.distributed scheduler "
         "(e.g. tcp://10.0.0.5:8786): windows given as Parquet datasets (a folder or a glob) "
         "are summarised there partition by partition (implies backend dask)",
         allow_none=True, cli=False, example="'tcp://10.0.0.5:8786'", metavar="ADDRESS"),
    # ---- monitoring, appended: the performance interval and the reference-summary cache
    _opt("performance_alpha", "float", 0.05, "monitor", "a performance alert also needs the "
         "level 1 - performance_alpha interval of the error's relative change above 0",
         low=0, high=1, low_open=True, high_open=True, example="0.05", metavar="ALPHA"),
    _opt("reference_cache", "bool", True, "monitor", "reuse the summary of a reference whose "
         "rows, graph, outcome, features, model, seed and sizes are those of an earlier run "
         "(a content hash names it), and save new summaries for the next run"),
    _opt("reference_cache_dir", "text", None, "monitor", "folder of the cached reference "
         "summaries (default: $CAUSALINTERP_CACHE_DIR, else ~/.cache/causalinterp/monitor)",
         allow_none=True, example="'/var/cache/causalinterp'", metavar="DIR"),
    # ---- effects at scale
    _opt("nuisance_rows", "int", 200_000, "estimate", "on larger data the nuisance learners "
         "are fitted on a seeded subsample of at least this many rows (and of at least 10 x "
         "columns x sqrt(rows)) and predict on every row; the effect uses every row "
         "(docs/performance.md; None: never)", low=100, allow_none=True, example="200000",
         metavar="N"),
    # ---- refutations, added later (appended: the table's order is the flags' order)
    _opt("time_budget", "seconds", None, "refute", "wall-clock seconds the refutation stage "
         "may take: re-fitting refuters run as many simulations as fit, and each one cut short "
         "says how many ran and what that costs its test (None: no limit; "
         "docs/refutation.md)", allow_none=True, example="300", metavar="SECONDS"),
    # ---- verdicts (analyze()): features that are not levers
    _opt("fixed", "names", (), "judge", "model features that cannot be changed "
         "(comma-separated: age, region ...): never levers; analyze's findings and actions and "
         "explain's ranking never propose acting on them", example="['age']", metavar="FEATURES"),
    # ---- per-row explanations (explain_rows(), causalinterp explain); n_folds is the estimate's
    _opt("explainer", "choice", "shap", "explain", "per-row contributions: shap, or lime to add "
         "LIME's, its stability and its agreement with SHAP", choices=("shap", "lime")),
    _opt("cate", "choice", "linear", "explain", "per-row effect estimator: linear (an effect "
         "linear in the modifiers, reliable intervals) or forest (a causal forest: any shape, "
         "less reliable intervals)", choices=("linear", "forest")),
    _opt("id_column", "text", None, "explain", "a column of unique row ids that the rows to "
         "explain refer to (default: the rows' index labels, or positions in a file)",
         allow_none=True, example="'customer_id'", metavar="COLUMN"),
    _opt("lime_runs", "int", 10, "explain", "LIME runs per row for its stability indices",
         low=1, example="10", metavar="N"),
    _opt("lime_samples", "int", 5000, "explain", "perturbed samples per LIME run", low=50,
         example="5000", metavar="N"),
)

_BY_NAME = {option.name: option for option in OPTIONS}

#: The stages :func:`causalinterp.analyze` runs: its options are those of these stages.
ANALYZE_STAGES = (
    "run", "data", "estimate", "refute", "graph_test", "attribute", "judge", "domain_check",
    "curves",
)


def names(stages: Iterable[str]) -> tuple[str, ...]:
    """The names of the options of ``stages``, in table order."""
    wanted = set(stages)
    return tuple(o.name for o in OPTIONS if o.stage in wanted)


def option(name: str) -> Option:
    """The option called ``name``; an OptionError with a did-you-mean hint otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise OptionError(f"{name}: not an option; {_hint(name, _BY_NAME)}") from None


def default(name: str) -> Any:
    """The default of option ``name``."""
    return option(name).default


def defaults(stage: str | None = None) -> dict[str, Any]:
    """Every option's default (or one stage's), by name."""
    return {o.name: o.default for o in OPTIONS if stage is None or o.stage == stage}


def _hint(name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean {close[0]!r}?" if close else f"the options are {', '.join(known)}"


def check_known(given: Iterable[str], known: Iterable[str], where: str) -> None:
    """An OptionError naming the first of ``given`` not in ``known``, with a suggestion."""
    known = list(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise OptionError(f"{unknown[0]}: not an option of {where}; {_hint(unknown[0], known)}")


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check option values against the table; return them normalised.

    Parameters
    ----------
    values : mapping
        Option name to value. Every name must be in :data:`OPTIONS`.

    Returns
    -------
    dict
        The same names; integers as ``int``, numbers as ``float``, ``time_limit=inf`` as None.

    Raises
    ------
    OptionError
        One line naming the option, what it expects, what it got and the fix.
    """
    return {name: _check(option(name), value) for name, value in values.items()}


def _check(spec: Option, value: Any) -> Any:
    if value is None and spec.allow_none:
        return None
    fail = OptionError(f"{spec.name}: expected {spec.expected()}, got {value!r}; {spec.fix()}")
    kind = spec.kind
    if kind == "object":
        return value  # checked by the stage that interprets it (e.g. nuisance learners)
    if kind == "bool":
        if type(value).__name__ not in ("bool", "bool_"):
            raise fail
        return bool(value)
    if kind == "choice":
        if not isinstance(value, str) or value not in (spec.choices or ()):
            close = difflib.get_close_matches(str(value), spec.choices or (), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "use one of " + ", ".join(
                map(repr, spec.choices or ())
            )
            raise OptionError(f"{spec.name}: unknown value {value!r}; {hint}")
        return value
    if kind == "text":
        if not isinstance(value, str) or not value:
            raise fail
        return value
    if kind == "names":
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise fail
        return [str(v) for v in value]
    # numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail
    if kind == "int":
        if not isinstance(value, numbers.Integral):
            raise fail
        number: float = int(value)
    else:
        number = float(value)
        if math.isnan(number):
            raise fail
    if kind == "seconds":
        if number <= 0:
            raise fail
        if math.isinf(number):
            if spec.allow_none:
                return None
            raise fail
        return number
    if spec.nonzero and number == 0:
        raise fail
    if spec.low is not None and (number < spec.low or (spec.low_open and number == spec.low)):
        raise fail
    if spec.high is not None and (number > spec.high or (spec.high_open and number == spec.high)):
        raise fail
    return number


# --------------------------------------------------------------------------- command line
def add_arguments(
    parser: argparse.ArgumentParser, names: Iterable[str], *, defaults_from: str = ""
) -> None:
    """Add one flag per option in ``names`` to ``parser``, typed and checked from the table.

    Every flag defaults to None, meaning "not given", so that the verb (or ``case.toml``)
    supplies the default; ``--help`` states it. ``defaults_from`` names where else a default
    may come from (e.g. ``"the case file"``).
    """
    for name in names:
        spec = option(name)
        if not spec.cli:
            continue
        where = f", or {defaults_from}'s" if defaults_from and spec.case else ""
        if spec.default is None:
            # "None" means "unset" (the help says what then happens); nothing to show.
            help_text = spec.help + (f" (default: {defaults_from}'s)" if where else "")
        else:
            shown = f"{spec.default:g}" if isinstance(spec.default, float) else spec.default
            help_text = f"{spec.help} (default: {shown}{where})"
        help_text = help_text.replace("%", "%%")  # argparse formats help with %
        dest = spec.name
        if spec.kind == "bool":
            if spec.default is None and spec.allow_none:
                # Unset means "automatic" (refit): both --x and --no-x force a choice.
                group = parser.add_mutually_exclusive_group()
                for const, flag in ((True, spec.flag), (False, "--no-" + spec.flag[2:])):
                    group.add_argument(
                        flag, dest=dest, action="store_const", const=const, default=None,
                        help=(spec.help if const else "do not " + spec.help.split(" (")[0]
                              ).replace("%", "%%"),
                    )
                continue
            negative = spec.default is True
            flag = "--no-" + spec.flag[2:] if negative else spec.flag
            parser.add_argument(
                flag,
                *spec.aliases,
                dest=dest,
                action="store_const",
                const=not negative,
                default=None,
                help=(spec.help if not negative else "do not " + spec.help).replace("%", "%%"),
            )
            continue
        choices = spec.choices if spec.kind == "choice" else spec.cli_choices
        kwargs: dict[str, Any] = {"dest": dest, "default": None, "help": help_text}
        if choices:
            kwargs["choices"] = choices
        else:
            kwargs["type"] = _parser(spec)
            kwargs["metavar"] = spec.metavar or spec.name.upper()
        parser.add_argument(spec.flag, *spec.aliases, **kwargs)


def _parser(spec: Option):
    """An argparse type for ``spec``: the table's check, worded for the command line."""

    # "or None" is Python's spelling; on the command line "no limit" is the default or "inf".
    expected = spec.expected().removesuffix(" or None")

    def parse(text: str) -> Any:
        if spec.kind == "names":
            names = [name.strip() for name in text.split(",") if name.strip()]
            if not names:
                raise argparse.ArgumentTypeError("expected comma-separated column names")
            return names
        if spec.kind == "text":
            return text
        try:
            value: Any = int(text) if spec.kind == "int" else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        try:
            checked = _check(spec, value)
        except OptionError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        # "inf" seconds normalise to None, which would read as "not given": keep the number.
        return value if checked is None else checked

    parse.__name__ = spec.kind
    return parse


def given(namespace: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The options among ``names`` that were given on the command line."""
    values = {}
    for name in names:
        value = getattr(namespace, name, None)
        if value is not None:
            values[name] = value
    return values


# --------------------------------------------------------------------------- case.toml
def case_keys(stage_names: Iterable[str]) -> frozenset[str]:
    """The option names ``case.toml`` accepts among ``stage_names``."""
    return frozenset(n for n in stage_names if option(n).case)


def from_case(case: Mapping[str, Any], names: Iterable[str], where: str) -> dict[str, Any]:
    """The options among ``names`` that ``case`` sets, validated; ``where`` names the file."""
    values = {name: case[name] for name in names if name in case}
    try:
        return validate(values)
    except OptionError as error:
        raise OptionError(f"{where}: {error}") from None
