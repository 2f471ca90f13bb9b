"""The analysis, top to bottom: the composition of the public stage verbs.

:func:`analyze` checks its options against :mod:`causalinterp.options`, then runs
``check_data -> estimate_effects -> refute_effects -> check_graph -> attribute_model -> judge``
and wraps the results in a :class:`~causalinterp.report.Report`. Each verb can be run by hand
with the seeds of :func:`causalinterp.stage_seeds` to reproduce a stage.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import pandas as pd

from causalinterp import options
from causalinterp._progress import check_backend, resolve_progress
from causalinterp._seeds import stage_seeds
from causalinterp.attribute import _shap, attribute_model
from causalinterp.data import check_data
from causalinterp.domain.check import check_domain, check_signs, with_domain_reasons
from causalinterp.estimate import estimate_effects
from causalinterp.estimate.curves import estimate_curves_safely
from causalinterp.graph import CausalGraph
from causalinterp.graph.independence import check_graph
from causalinterp.refute import refute_effects
from causalinterp.report import Report
from causalinterp.verdicts import judge

#: Packages whose versions the report's ``run`` section records (besides Python).
VERSIONED = ("causalinterp", "dowhy", "econml", "shap", "scikit-learn", "numpy", "pandas")

_DEFAULTS = options.defaults()


def analyze(
    data: pd.DataFrame,
    graph: Any,
    outcome: str,
    *,
    model: Any = None,
    features: Iterable[str] | None = None,
    seed: int = _DEFAULTS["seed"],
    n_jobs: int | None = _DEFAULTS["n_jobs"],
    backend: str | None = _DEFAULTS["backend"],
    progress: bool | None = _DEFAULTS["progress"],
    time_limit: float | None = _DEFAULTS["time_limit"],
    missing: str = _DEFAULTS["missing"],
    latent: Iterable[str] = _DEFAULTS["latent"],
    nuisance: Any = _DEFAULTS["nuisance"],
    n_folds: int = _DEFAULTS["n_folds"],
    estimand: str = _DEFAULTS["estimand"],
    refute: str = _DEFAULTS["refute"],
    refit: bool | None = _DEFAULTS["refit"],
    alpha: float = _DEFAULTS["alpha"],
    test_graph: bool = _DEFAULTS["test_graph"],
    graph_test_method: str = _DEFAULTS["graph_test_method"],
    graph_test_alpha: float = _DEFAULTS["graph_test_alpha"],
    graph_test_max_conditioning: int | None = _DEFAULTS["graph_test_max_conditioning"],
    graph_test_max_rows: int = _DEFAULTS["graph_test_max_rows"],
    max_shap_rows: int = _DEFAULTS["max_shap_rows"],
    max_shap_seconds: float | None = _DEFAULTS["max_shap_seconds"],
    material_share: float = _DEFAULTS["material_share"],
    attribution_factor: float = _DEFAULTS["attribution_factor"],
    signs: Any = _DEFAULTS["signs"],
    ice_rows: int = _DEFAULTS["ice_rows"],
    ice_grid: int = _DEFAULTS["ice_grid"],
    ice_tolerance: float = _DEFAULTS["ice_tolerance"],
    curves: bool = _DEFAULTS["curves"],
    curve_points: int = _DEFAULTS["curve_points"],
    nuisance_rows: int | None = _DEFAULTS["nuisance_rows"],
    time_budget: float | None = _DEFAULTS["time_budget"],
    fixed: Iterable[str] = _DEFAULTS["fixed"],
    **unknown: Any,
) -> Report:
    """Judge, feature by feature, whether a model's attributions can be read as causes.

    The keyword-only options after ``features`` are the rows of
    :data:`causalinterp.options.OPTIONS` (the same names as the CLI's flags and the keys of
    ``case.toml``); their defaults and checks come from that table.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; columns named as the graph's nodes. Graph nodes absent from the data
        are latent (unobserved).
    graph : CausalGraph, str, path, networkx.DiGraph or list of edges
        The causal DAG: an edge string such as ``"A -> B; B -> Y"``, DOT or GML text, a path to
        a ``.dot``/``.gml``/``.txt`` file, a networkx DiGraph or ``[("A", "B"), ...]``.
    outcome : str
        The column the model predicts.
    model : fitted estimator, optional
        Any fitted scikit-learn-compatible regressor or binary classifier (XGBoost, LightGBM
        included). Default: a histogram gradient-boosting model fitted here on ``features``.
    features : iterable of str, optional
        The model's features. Default: the model's ``feature_names_in_`` if it has them, else
        every observed graph node except the outcome.
    seed : int, default 0
        Seeds every random component; the same seed gives the same report whatever ``n_jobs``.
    n_jobs : int, optional
        Parallel workers for per-feature and per-simulation tasks (joblib semantics). None
        keeps the active ``joblib.parallel_config`` (1 outside one).
    backend : str, optional
        A joblib backend (e.g. ``"dask"`` inside a ``dask.distributed.Client`` context), a
        shortcut for ``joblib.parallel_config(backend=...)``; see ``docs/performance.md``.
        Results are identical to the local run.
    progress : bool, optional
        Progress bars on standard error; default: only when it is a terminal.
    time_limit : float or None, default 600
        Seconds one feature's effect estimation may take; a feature that takes longer gets
        the verdict ``error`` and the others are unaffected. None: no limit. See
        ``docs/reliability.md``.
    missing : {"error", "drop"}, default "error"
        Refuse missing values, or drop incomplete rows (counted in the report).
    latent : iterable of str, default ()
        Graph nodes declared unobserved (also DOT ``U [latent=true]``). A node that is not a
        column but nearly matches a column's name is otherwise an error (a typo would turn
        a measured cause into a latent one); see ``docs/graphs.md``.
    nuisance : {"auto", "linear"}, estimator or (regressor, classifier), default "auto"
        Nuisance learners of the double ML estimators, e.g.
        ``(GradientBoostingRegressor(), GradientBoostingClassifier())``.
    n_folds : int, default 3
        Cross-fitting folds of the double ML estimators (the refuters reuse the estimate's).
    estimand : {"ate", "att", "atc"}, default "ate"
        Population of a binary treatment's effect: all rows, the treated rows or the
        untreated rows; the attribution is compared on the same population and the report
        states it. See ``docs/real-data.md``.
    refute : {"none", "quick", "standard", "thorough"}, default "standard"
        Depth of the refutations.
    refit : bool or None, default None (automatic)
        Re-fit every nuisance model in every refuter simulation. Without re-fitting,
        back-door effects are refuted on the original fit's cross-fitted nuisances (fast;
        see ``docs/performance.md``), which holds the nuisance estimates fixed; re-fitting
        also exposes their estimation noise, which matters most in small samples (hundreds
        of rows), at the cost of one full fit per simulation. None: re-fit below 1000 rows
        or when six half-sample re-fits spread over twice an effect's analytic standard
        error (:func:`causalinterp.refute.auto.refit_decision`); the report's
        ``settings.refit_reason`` says which. True/False force it.
    alpha : float, default 0.05
        Level of the refuters' tests and of the sensitivity analysis.
    test_graph : bool, default True
        Test the DAG's implied conditional independences against the data.
    graph_test_method : {"auto", "linear", "gcm"}, default "auto"
        Conditional-independence test of the graph test; see ``docs/graph-test.md``.
    graph_test_alpha : float, default 0.05
        False discovery rate of the graph test (Benjamini-Hochberg across implications).
    graph_test_max_conditioning : int, optional
        Largest conditioning set the graph test uses; None for no cap.
    graph_test_max_rows : int, default 20000
        Rows the graph test uses (a seeded sample when there are more).
    max_shap_rows : int, default 2000
        Rows explained with SHAP (a seeded sample when there are more).
    max_shap_seconds : float, optional
        Time budget of a model-agnostic SHAP explanation, used only when no fast explainer
        fits ``model`` (see ``docs/models.md``): fewer rows are explained and the report
        states the larger sampling error. None: no limit.
    material_share, attribution_factor : float
        Verdict thresholds; see ``docs/verdicts.md``.
    signs : mapping or str, optional
        Declared edge signs beyond the graph's own (``price -> churn [+]`` in the graph):
        ``{("price", "churn"): "+"}``, ``{"price -> churn": "+"}`` or
        ``"price -> churn [+]; income -> churn [-]"``. The domain check derives each
        feature's direction from them and checks the model's ICE curves; see
        ``docs/domain-logic.md``.
    ice_rows, ice_grid : int, default 200 and 50
        Rows sampled for the ICE curves of the domain check, and grid points per curve.
    ice_tolerance : float, default 0.01
        Moves of an ICE curve against its direction up to this share of the standard
        deviation of the model's predictions (over the sampled rows) are not violations, so
        that a boosting model's small wiggles are not read as a reversed direction.
    curves : bool, default True
        Estimate the causal dose-response curve E[Y | do(X = x)] of every continuous
        back-door feature, compare it with the model's dependence (a shape disagreement
        becomes a reason), and test each back-door effect for heterogeneity; see
        ``docs/curves.md``.
    curve_points : int, default 20
        Grid points of each dose-response curve.
    nuisance_rows : int or None, default 200000
        On larger data the nuisance learners are fitted on a seeded subsample of at least
        this many rows (more when the data is very large) and predict on every row; the rule
        and its error bound are in ``docs/performance.md``. None: never subsample.
    time_budget : float, optional
        Wall-clock seconds the refutation stage may take; re-fitting refuters cut short say
        how many simulations ran (``docs/refutation.md``). None: no limit.
    fixed : iterable of str, default ()
        Model features that cannot be changed (as ``explain``'s ``fixed``): the findings and
        actions never propose acting on them; see ``docs/verdicts.md``.

    Returns
    -------
    Report
        ``.table``, ``.to_json()``, ``.to_markdown()``, ``.to_html()``, ``.write(folder)``.

    Raises
    ------
    GraphError, DataError, ModelError, OptionError
        Bad input (including an unknown keyword argument), with one line naming the input
        and the fix; see ``docs/reliability.md``. A feature whose estimation fails or
        exceeds ``time_limit`` does not raise: its row gets the verdict ``error``.

    See Also
    --------
    check_data, estimate_effects, refute_effects, check_graph, attribute_model, judge :
        The stages, to run by hand.

    Examples
    --------
    >>> from causalinterp import analyze
    >>> from causalinterp.simulators import retention_model
    >>> sim = retention_model()
    >>> data = sim.sample(3000, seed=0)
    >>> report = analyze(data, sim.graph, "churned", refute="none")  # doctest: +SKIP
    >>> report.table[["feature", "verdict", "flagged"]]  # doctest: +SKIP
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    # Options: one table, one check (unknown keywords get a did-you-mean hint).
    options.check_known(unknown, options.names(options.ANALYZE_STAGES), "analyze()")
    opt = options.validate(
        {
            "seed": seed,
            "n_jobs": n_jobs,
            "backend": backend,
            "progress": progress,
            "time_limit": time_limit,
            "missing": missing,
            "latent": latent,
            "nuisance": nuisance,
            "n_folds": n_folds,
            "estimand": estimand,
            "refute": refute,
            "refit": refit,
            "alpha": alpha,
            "time_budget": time_budget,
            "test_graph": test_graph,
            "graph_test_method": graph_test_method,
            "graph_test_alpha": graph_test_alpha,
            "graph_test_max_conditioning": graph_test_max_conditioning,
            "graph_test_max_rows": graph_test_max_rows,
            "max_shap_rows": max_shap_rows,
            "max_shap_seconds": max_shap_seconds,
            "material_share": material_share,
            "attribution_factor": attribution_factor,
            "signs": signs,
            "ice_rows": ice_rows,
            "ice_grid": ice_grid,
            "ice_tolerance": ice_tolerance,
            "curves": curves,
            "curve_points": curve_points,
            "nuisance_rows": nuisance_rows,
            "fixed": fixed,
        }
    )
    check_backend(opt["backend"])
    seeds = stage_seeds(opt["seed"])
    parallel = {"n_jobs": opt["n_jobs"], "backend": opt["backend"]}

    # Data.
    graph = CausalGraph.parse(graph)
    check_signs(graph, opt["signs"])  # a bad sign fails now, not after the slow stages
    if isinstance(data, pd.DataFrame) and not data.index.is_unique:
        # Rows are matched between stages by label: repeated labels would mix them up.
        data = data.reset_index(drop=True)
    if features is None and hasattr(model, "feature_names_in_"):
        features = [str(f) for f in model.feature_names_in_]
    checked = check_data(
        data, graph, outcome, features=features, missing=opt["missing"], latent=opt["latent"]
    )
    if model is not None:
        # Before the slow stages: an unfitted or mismatched model fails in a second.
        _shap.check_model(model, list(checked.features))
    seconds["checks"] = _lap(clock)
    show = resolve_progress(opt["progress"])

    # Effects.
    clock = time.perf_counter()
    effects = estimate_effects(
        checked,
        graph,
        seed=seeds.effects,
        nuisance=opt["nuisance"],
        n_folds=opt["n_folds"],
        estimand=opt["estimand"],
        time_limit=opt["time_limit"],
        nuisance_rows=opt["nuisance_rows"],
        progress=show,
        **parallel,
    )
    seconds["effects"] = _lap(clock)

    # Refutations (the nuisance learners and folds are read from ``effects``).
    clock = time.perf_counter()
    refutations = refute_effects(
        checked,
        effects,
        refute=opt["refute"],
        refit=opt["refit"],
        alpha=opt["alpha"],
        time_budget=opt["time_budget"],
        seed=seeds.refutations,
        progress=show,
        **parallel,
    )
    seconds["refutations"] = _lap(clock)

    # The graph against the data.
    clock = time.perf_counter()
    graph_test = None
    if opt["test_graph"]:
        graph_test = check_graph(
            graph,
            checked,
            graph_test_method=opt["graph_test_method"],
            graph_test_alpha=opt["graph_test_alpha"],
            graph_test_max_conditioning=opt["graph_test_max_conditioning"],
            graph_test_max_rows=opt["graph_test_max_rows"],
            seed=seeds.graph_test,
            progress=show,
            **parallel,
        )
    seconds["graph_test"] = _lap(clock)

    # Attributions.
    clock = time.perf_counter()
    attributions = attribute_model(
        model,
        data,
        checked,
        model_seed=seeds.model,
        seed=seeds.attributions,
        max_shap_rows=opt["max_shap_rows"],
        max_shap_seconds=opt["max_shap_seconds"],
        # Unresolved: a slow explainer is announced unless progress=False (--quiet).
        progress=opt["progress"],
        **parallel,
    )
    seconds["attributions"] = _lap(clock)

    # Dose-response curves and heterogeneity (reuse the effects' nuisances; never raise).
    curve_result = None
    if opt["curves"]:
        clock = time.perf_counter()
        curve_result = estimate_curves_safely(
            checked,
            effects,
            attributions,
            model=model,
            data=data,
            curve_points=opt["curve_points"],
            seed=seeds.curves,
            # The default model attribute_model fitted (kept, not fitted again).
            model_seed=seeds.model,
            progress=show,
            **parallel,
        )
        seconds["curves"] = _lap(clock)

    # Verdicts.
    verdicts = judge(
        effects,
        attributions,
        graph,
        checked,
        refutations,
        material_share=opt["material_share"],
        attribution_factor=opt["attribution_factor"],
        fixed=opt["fixed"],
        curve_results=curve_result,
    )

    # Domain logic: declared directions against the model's ICE curves (never raises).
    domain = check_domain(
        model,
        data,
        graph,
        checked,
        effects,
        verdicts,
        signs=opt["signs"],
        material_share=opt["material_share"],
        ice_rows=opt["ice_rows"],
        ice_grid=opt["ice_grid"],
        ice_tolerance=opt["ice_tolerance"],
        seed=seeds.domain,
        model_seed=seeds.model,
        progress=show,
        **parallel,
    )
    verdicts = with_domain_reasons(verdicts, domain)
    seconds["domain"] = domain.seconds
    return Report(
        checked=checked,
        graph=graph,
        effects=effects,
        attributions=attributions,
        verdicts=verdicts,
        refutations=refutations,
        graph_test=graph_test,
        # Only the settings report.json states (its schema is fixed); the rest are in the call.
        settings={
            "seed": opt["seed"],
            "refute": opt["refute"],
            "refit": opt["refit"],
            "material_share": opt["material_share"],
            "attribution_factor": opt["attribution_factor"],
            "nuisance": effects.nuisance_description,
            "model": "default" if model is None else type(model).__name__,
            "fixed": list(opt["fixed"] or ()),
        },
        run={"started_at": started_at, "seconds": seconds, "versions": versions()},
        domain=domain,
        curves=curve_result,
    )


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def versions() -> dict[str, str]:
    """Python's version and those of :data:`VERSIONED`, for the report's ``run`` section."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found
