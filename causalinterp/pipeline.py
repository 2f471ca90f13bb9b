"""The analysis, top to bottom: graph, data, effects, refutations, attributions, verdicts."""

from __future__ import annotations

import difflib
import inspect
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from causalinterp._progress import check_backend, resolve_progress
from causalinterp.attribute import _shap
from causalinterp.attribute.attributions import attribute_model
from causalinterp.data import check_data
from causalinterp.errors import OptionError
from causalinterp.estimate.effects import DEFAULT_TIME_LIMIT, check_time_limit, estimate_effects
from causalinterp.graph import CausalGraph
from causalinterp.graph.independence import check_graph
from causalinterp.judge import ATTRIBUTION_FACTOR, MATERIAL_SHARE, judge
from causalinterp.refute.refutation import DEPTHS, refute_effects
from causalinterp.report import Report

_VERSIONED = ("causalinterp", "dowhy", "econml", "shap", "scikit-learn", "numpy", "pandas")


def analyze(
    data: pd.DataFrame,
    graph: Any,
    outcome: str,
    *,
    model: Any = None,
    features: Iterable[str] | None = None,
    seed: int = 0,
    n_jobs: int | None = None,
    refute: str = "standard",
    refit: bool = False,
    test_graph: bool = True,
    missing: str = "error",
    backend: str | None = None,
    nuisance: Any = "auto",
    progress: bool | None = None,
    max_shap_rows: int = 2000,
    material_share: float = MATERIAL_SHARE,
    attribution_factor: float = ATTRIBUTION_FACTOR,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    **unknown: Any,
) -> Report:
    """Judge, feature by feature, whether a model's attributions can be read as causes.

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
        Parallel workers for per-feature and per-simulation tasks (joblib semantics).
    refute : {"none", "quick", "standard", "thorough"}, default "standard"
        Depth of the refutations.
    refit : bool, default False
        Re-fit every nuisance model in every refuter simulation. By default back-door
        effects are refuted on the original fit's cross-fitted nuisances (fast; see
        ``docs/performance.md``), which holds the nuisance estimates fixed; re-fitting also
        exposes their estimation noise, which matters most in small samples (hundreds of
        rows), at the cost of one full fit per simulation.
    test_graph : bool, default True
        Test the DAG's implied conditional independences against the data.
    missing : {"error", "drop"}, default "error"
        Refuse missing values, or drop incomplete rows (counted in the report).
    backend : str, optional
        A joblib backend (e.g. ``"dask"`` inside a ``dask.distributed.Client`` context); see
        ``docs/performance.md``. Results are identical to the local run.
    nuisance : {"auto", "linear"}, estimator or (regressor, classifier), default "auto"
        Nuisance learners of the double ML estimators, e.g.
        ``(GradientBoostingRegressor(), GradientBoostingClassifier())``.
    progress : bool, optional
        Progress bars on standard error; default: only when it is a terminal.
    max_shap_rows : int, default 2000
        Rows explained with SHAP (a seeded sample when there are more).
    material_share, attribution_factor : float
        Verdict thresholds; see ``docs/verdicts.md``.
    time_limit : float or None, default 600
        Seconds one feature's effect estimation may take; a feature that takes longer gets
        the verdict ``error`` and the others are unaffected. None: no limit. See
        ``docs/reliability.md``.

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
    _check_unknown(unknown)
    _check_options(
        seed=seed, n_jobs=n_jobs, refute=refute, refit=refit, max_shap_rows=max_shap_rows
    )
    check_time_limit(time_limit)
    model_name = "default" if model is None else type(model).__name__
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(5)]

    graph = CausalGraph.parse(graph)
    if isinstance(data, pd.DataFrame) and not data.index.is_unique:
        # Rows are matched between stages by label: repeated labels would mix them up.
        data = data.reset_index(drop=True)
    if features is None and hasattr(model, "feature_names_in_"):
        features = [str(f) for f in model.feature_names_in_]
    checked = check_data(data, graph, outcome, features=features, missing=missing)
    if model is not None:
        # Before the slow stages: an unfitted or mismatched model fails in a second.
        _shap.check_model(model, list(checked.features))
    seconds["checks"] = _lap(clock)

    clock = time.perf_counter()
    show = resolve_progress(progress)
    check_backend(backend)
    effects = estimate_effects(
        checked,
        graph,
        seed=seeds[0],
        n_jobs=n_jobs,
        backend=backend,
        nuisance=nuisance,
        progress=show,
        time_limit=time_limit,
    )
    seconds["effects"] = _lap(clock)

    clock = time.perf_counter()
    refutations = refute_effects(
        checked,
        effects,
        depth=refute,
        refit=refit,
        seed=seeds[1],
        n_jobs=n_jobs,
        backend=backend,
        nuisance=nuisance,
        progress=show,
    )
    seconds["refutations"] = _lap(clock)

    clock = time.perf_counter()
    graph_test = check_graph(graph, checked, seed=seeds[2], n_jobs=n_jobs) if test_graph else None
    seconds["graph_test"] = _lap(clock)

    clock = time.perf_counter()
    attributions = attribute_model(
        model, data, checked, model_seed=seeds[3], seed=seeds[4], max_rows=max_shap_rows
    )
    seconds["attributions"] = _lap(clock)

    verdicts = judge(
        effects,
        attributions,
        graph,
        checked,
        refutations,
        material_share=material_share,
        attribution_factor=attribution_factor,
    )
    return Report(
        checked=checked,
        graph=graph,
        effects=effects,
        attributions=attributions,
        verdicts=verdicts,
        refutations=refutations,
        graph_test=graph_test,
        settings={
            "seed": seed,
            "refute": refute,
            "material_share": material_share,
            "attribution_factor": attribution_factor,
            "model": model_name,
        },
        run={"started_at": started_at, "seconds": seconds, "versions": _versions()},
    )


def _check_unknown(unknown: Mapping[str, Any]) -> None:
    """An OptionError naming the first unknown keyword of :func:`analyze`, with a suggestion."""
    if not unknown:
        return
    name = sorted(unknown)[0]
    known = [
        p.name
        for p in inspect.signature(analyze).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the options are {', '.join(known)}"
    raise OptionError(f"{name}: not an option of analyze(); {hint}")


def _check_options(*, seed: Any, n_jobs: Any, refute: str, refit: Any, max_shap_rows: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise OptionError(f"seed: expected a non-negative integer, got {seed!r}; pass e.g. seed=0")
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0
    ):
        raise OptionError(
            f"n_jobs: expected a non-zero integer or None, got {n_jobs!r}; "
            "use 1 for serial, -1 for all cores"
        )
    if not isinstance(refit, bool | np.bool_):
        raise OptionError(f"refit: expected True or False, got {refit!r}")
    if refute not in DEPTHS:
        raise OptionError(
            f"refute: unknown depth {refute!r}; use one of {', '.join(map(repr, DEPTHS))}"
        )
    if isinstance(max_shap_rows, bool) or not isinstance(max_shap_rows, int) or max_shap_rows < 10:
        raise OptionError(f"max_shap_rows: expected an integer >= 10, got {max_shap_rows!r}")


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def _versions() -> dict[str, str]:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions
