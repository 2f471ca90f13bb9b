"""``monitor()``: compare windows of production data with a reference, figure by figure.

The reference is summarised once (:func:`summarize_reference`: column summaries, ranges, the
novelty score, the fitted mechanisms, the model's reference attributions); a summary can be
saved and reused (``--save-reference``), so a daily job does not re-read a million rows. Each
window is then compared with the summary independently (in parallel with ``n_jobs``): feature
drift, support, attribution drift, causal drift, causal risk and, when it has labels,
performance, each against a threshold from :mod:`causalinterp.options`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalinterp import options as _options
from causalinterp._progress import resolve_progress, run_parallel
from causalinterp._seeds import seed_sequence
from causalinterp.errors import ModelError, OptionError
from causalinterp.monitoring import attribution as _attr
from causalinterp.monitoring import performance as _perf
from causalinterp.monitoring._levels import to_codes
from causalinterp.monitoring.alerts import Alert, build_alerts
from causalinterp.monitoring.attribution import AttributionDrift
from causalinterp.monitoring.changes import OutcomeChange, change_nodes, outcome_change
from causalinterp.monitoring.drift import (
    ColumnDrift,
    check_window,
    compare_columns,
)
from causalinterp.monitoring.mechanisms import (
    CausalDrift,
    causal_drift,
)
from causalinterp.monitoring.performance import Performance
from causalinterp.monitoring.reference import (
    SUMMARY_OPTIONS,
    ReferenceSummary,
    _one_thread,
    summarize_reference,
)
from causalinterp.monitoring.risk import CausalRisk, causal_risk, load_analysis
from causalinterp.monitoring.support import SupportCheck, check_support
from causalinterp.monitoring.windows import as_windows, split_by_time

#: Options that are thresholds (they can differ between runs on one saved summary).
#: The options of the monitor stage that are neither thresholds nor fixed by the summary.
OTHER_OPTIONS = (
    "n_bootstrap",
    "time_column",
    "window",
    "outcome_change",
    "reference_cache",
    "reference_cache_dir",
)

THRESHOLDS = (
    "drift_alpha",
    "drift_threshold",
    "support_share",
    "range_share",
    "ndcg_threshold",
    "share_change",
    "mechanism_alpha",
    "mechanism_threshold",
    "risk_increase",
    "performance_drop",
    "performance_alpha",
)


@dataclass(frozen=True)
class WindowResult:
    """Every figure of one window, and its alerts.

    Attributes
    ----------
    name : str
        The window's name (its file, its start time, or ``"window N"``).
    n_rows : int
        Rows in the window.
    labelled : int
        Rows with a label (the outcome column present and not missing).
    drift : tuple of ColumnDrift
        Every compared column (the outcome too when labelled).
    support : SupportCheck
    attribution : AttributionDrift
    causal_drift : CausalDrift
        For the outcome when labelled, else for the prediction.
    risk : CausalRisk or None
        None without ``analysis``.
    performance : Performance or None
        None without labels.
    alerts : tuple of Alert
    outcome_change : OutcomeChange or None
        The outcome's change split over mechanisms (option ``outcome_change``; labelled
        windows only).
    """

    name: str
    n_rows: int
    labelled: int
    drift: tuple[ColumnDrift, ...]
    support: SupportCheck
    attribution: AttributionDrift
    causal_drift: CausalDrift
    risk: CausalRisk | None
    performance: Performance | None
    alerts: tuple[Alert, ...]
    outcome_change: OutcomeChange | None = None


@dataclass(frozen=True)
class MonitorResult:
    """The result of :func:`monitor`: one :class:`WindowResult` per window.

    ``exit_code`` is 1 when any window alerts, else 0; ``write(out_dir)`` writes monitor.json,
    monitor.md and monitor.html (see docs/monitoring.md for the schema). ``dropped_rows``
    counts the current rows left out of every window, by reason (``"missing_time"``: no
    value in ``time_column``).
    """

    outcome: str
    features: tuple[str, ...]
    model: str
    reference_rows: int
    windows: tuple[WindowResult, ...]
    settings: Mapping[str, Any]
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())
    dropped_rows: Mapping[str, int] = field(default_factory=dict)

    @property
    def alerts(self) -> list[tuple[str, Alert]]:
        """Every alert with its window's name, in window order."""
        return [(w.name, a) for w in self.windows for a in w.alerts]

    @property
    def exit_code(self) -> int:
        """1 when at least one alert was raised, else 0."""
        return 1 if self.alerts else 0

    def to_dict(self) -> dict[str, Any]:
        """The monitor.json data."""
        from causalinterp.monitoring.render import to_dict

        return to_dict(self)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write monitor.json, monitor.md and monitor.html into ``out_dir`` (created).

        Returns ``{"json": path, "markdown": path, "html": path}``.
        """
        from causalinterp.monitoring.render import write

        return write(self, out_dir)


def monitor(
    reference: pd.DataFrame | ReferenceSummary | str | Path,
    current: Any,
    graph: Any = None,
    outcome: str | None = None,
    *,
    model: Any = None,
    analysis: Any = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
    n_jobs: int | None = None,
    progress: bool | None = None,
    **more: Any,
) -> MonitorResult:
    """Compare windows of current data with the reference; alert on what changed.

    Parameters
    ----------
    reference : pandas.DataFrame, ReferenceSummary or path
        The reference rows, or a summary from :func:`summarize_reference` (or its file).
    current : DataFrame, list of DataFrames or dict name -> DataFrame
        The windows. With ``time_column`` and ``window``, one table cut by time.
    graph : CausalGraph or graph source
        The causal DAG (not needed with a summary).
    outcome : str
        The outcome column (not needed with a summary). Windows with it are "labelled".
    model : fitted estimator, optional
        The deployed model (default: one fitted on the reference; see
        :func:`summarize_reference`). With a saved summary's path, the model it was made with
        (a summary file does not store your model).
    analysis : path, dict or Report, optional
        The ``report.json`` of :func:`causalinterp.analyze`, for the causal risk.
    features : sequence of str, optional
        The model's features.
    seed : int
        Root seed; windows get independent child seeds.
    n_jobs : int, optional
        Windows compared in parallel.
    progress : bool, optional
        Progress bar (default: when standard error is a terminal).
    **more
        Thresholds and sizes from the options table (stage ``monitor``): ``drift_alpha``,
        ``drift_threshold``, ``support_share``, ``range_share``, ``ndcg_threshold``,
        ``share_change``, ``mechanism_alpha``, ``mechanism_threshold``, ``risk_increase``,
        ``performance_drop``, ``performance_alpha``, ``n_bootstrap``, ``reference_rows``,
        ``mechanism_rows``, ``max_shap_rows``, ``time_column``, ``window``,
        ``outcome_change``, ``reference_cache``, ``reference_cache_dir``. With a reference
        DataFrame and ``reference_cache`` on (the default), the summary is read from or saved
        to the cache (see :mod:`causalinterp.monitoring.cache`).

    Returns
    -------
    MonitorResult

    Raises
    ------
    DataError, ModelError, GraphError, OptionError
        One line naming the input and the fix.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> def draw(n, shift=0.0):
    ...     x = rng.normal(shift, 1.0, n)
    ...     return pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=n)})
    >>> result = monitor(draw(600), {"same": draw(400), "moved": draw(400, 1.0)}, "x -> y", "y")
    >>> [w.name for w in result.windows if w.alerts]
    ['moved']
    """
    started = time.perf_counter()
    cache_note = None
    notes: list[str] = []
    dropped: dict[str, int] = {}
    known = set(THRESHOLDS) | set(SUMMARY_OPTIONS) | set(OTHER_OPTIONS)
    _options.check_known(more, known, "monitor")
    settings = {name: _options.default(name) for name in known}
    settings.update(_options.validate(more))
    _options.validate({"seed": seed, "n_jobs": n_jobs})
    if isinstance(reference, str | Path):
        summary = ReferenceSummary.load(reference, model=model)
    elif isinstance(reference, ReferenceSummary):
        summary = reference
    else:
        if graph is None or outcome is None:
            raise OptionError(
                "graph/outcome: monitor needs both with a reference DataFrame; "
                "pass graph= and outcome="
            )
        summary, cache_note = reference_summary(
            reference, graph, outcome, model=model, features=features, seed=seed,
            settings=settings,
        )  # fmt: skip
    if outcome is not None and outcome != summary.outcome:
        raise OptionError(
            f"outcome: the summary monitors {summary.outcome!r}, not {outcome!r}; "
            "pass the same outcome or summarise the reference again"
        )
    support = (
        load_analysis(analysis, summary.outcome, summary.features) if analysis is not None else None
    )
    if settings["time_column"] is not None or settings["window"] is not None:
        if settings["time_column"] is None or settings["window"] is None:
            raise OptionError(
                "time_column/window: give both to cut windows by time; e.g. "
                "time_column='date', window='7D'"
            )
        windows: dict[str, pd.DataFrame] = {}
        for name, frame in as_windows(current).items():
            cut = split_by_time(
                frame, settings["time_column"], settings["window"], f"current {name!r}"
            )
            if settings["time_column"] in frame.columns:
                missing = int(frame[settings["time_column"]].isna().sum())
                if missing:
                    dropped["missing_time"] = dropped.get("missing_time", 0) + missing
                    notes.append(
                        f"{missing} row(s) of current {name!r} have no "
                        f"{settings['time_column']} and are in no window"
                    )
            windows.update(
                cut if len(as_windows(current)) == 1 else {f"{name} {k}": v for k, v in cut.items()}
            )
    else:
        windows = as_windows(current)
    for name, frame in windows.items():
        if isinstance(frame, pd.DataFrame):  # a Parquet dataset is checked partition by partition
            check_window(frame, summary, name)
    seeds = seed_sequence(seed).spawn(len(windows) + 1)
    tasks = [
        (name, frame, summary, settings, support, seeds[i + 1])
        for i, (name, frame) in enumerate(windows.items())
    ]
    results = run_parallel(
        _window,
        tasks,
        n_jobs=n_jobs,
        progress=resolve_progress(progress),
        desc=f"monitor: windows against {summary.n_rows} reference rows",
        unit="window",
    )
    if cache_note:
        notes.insert(0, cache_note)
    if support is None:
        notes.append("no analysis given: causal risk not computed (pass analysis=report.json)")
    return MonitorResult(
        outcome=summary.outcome,
        features=summary.features,
        model=summary.model_name,
        reference_rows=summary.n_rows,
        windows=tuple(results),
        settings={**{k: v for k, v in settings.items()}, **summary.settings, "seed": seed},
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
        dropped_rows=dropped,
    )


def reference_summary(
    reference: pd.DataFrame,
    graph: Any,
    outcome: str,
    *,
    model: Any,
    features: Sequence[str] | None,
    seed: int,
    settings: Mapping[str, Any],
) -> tuple[ReferenceSummary, str | None]:
    """The reference's summary: from the content-addressed cache when ``reference_cache`` is
    on (see :mod:`causalinterp.monitoring.cache`), else computed; with a note saying which."""
    sizes = {k: settings[k] for k in SUMMARY_OPTIONS}
    if not settings.get("reference_cache", True):
        summary = summarize_reference(
            reference, graph, outcome, model=model, features=features, seed=seed, **sizes
        )
        return summary, None
    from causalinterp.monitoring.cache import cached_summary

    summary, path, hit = cached_summary(
        reference, graph, outcome, model=model, features=features, seed=seed, sizes=sizes,
        folder=settings.get("reference_cache_dir"),
    )  # fmt: skip
    if path is None:
        return summary, None
    verb = "reused from" if hit else "saved to"
    return summary, f"reference summary {verb} the cache: {path}"


def _window(task: tuple) -> WindowResult:
    if not isinstance(task[1], pd.DataFrame):
        # A Parquet dataset left on disk: summarised partition by partition (partitioned.py).
        from causalinterp.monitoring.partitioned import compare_dataset

        return compare_dataset(*task, compare=_compare_window)
    with _one_thread():
        return _compare_window(*task)


def _compare_window(
    name, frame, summary, settings, support, seq, exact_support=None
) -> WindowResult:
    children = seq.spawn(5)
    outcome, features = summary.outcome, summary.features
    labelled_rows = frame[frame[outcome].notna()] if outcome in frame.columns else frame.iloc[:0]
    labelled = len(labelled_rows)
    names = [c for c in summary.columns if c != outcome or labelled]
    series = {c: (labelled_rows[c] if c == outcome else frame[c]) for c in names}
    drift = compare_columns(
        summary.columns,
        series,
        names,
        drift_alpha=settings["drift_alpha"],
        drift_threshold=settings["drift_threshold"],
    )
    checked = (
        check_support(frame, features, summary.columns, summary.novelty)
        if exact_support is None
        else exact_support  # counted over every row of a Parquet dataset
    )
    rng = np.random.default_rng(children[0])
    rows = frame[list(features)]
    if len(rows) > summary.settings["max_shap_rows"]:
        rows = rows.iloc[
            np.sort(rng.choice(len(rows), summary.settings["max_shap_rows"], replace=False))
        ]
    rows, new_levels = to_codes(rows, features, summary.levels)
    model = summary.coded_model(new_levels)
    try:
        current_abs = _attr.explain_rows(model, rows, summary.background, children[1])
    except (ValueError, TypeError) as error:
        raise ModelError(
            f"model {summary.model_name}: cannot predict on window {name!r} "
            f"({' '.join(str(error).split())[:120]}); pass windows with the "
            "model's columns and types"
        ) from None
    boot_rng = np.random.default_rng(children[2])
    ref_boot = _attr.bootstrap_means(summary.reference_abs, settings["n_bootstrap"], boot_rng)
    cur_boot = _attr.bootstrap_means(current_abs, settings["n_bootstrap"], boot_rng)
    attribution = _attr.attribution_drift(
        features, summary.reference_abs, current_abs, ref_boot, cur_boot
    )
    risk = None
    if support is not None:
        risk = causal_risk(
            features,
            support,
            _attr.shares(summary.reference_abs),
            _attr.shares(current_abs),
            _row_shares(ref_boot),
            _row_shares(cur_boot),
        )
    graph = summary.graph
    if labelled:
        target = outcome
        nodes = {outcome} | set(graph.ancestors(outcome))
        mech_frame = labelled_rows
    else:
        target = "prediction"
        nodes = set(features).union(*(graph.ancestors(f) for f in features))
        mech_frame = frame
    nodes = sorted(n for n in nodes if n in summary.mechanisms)
    if len(mech_frame) > summary.settings["mechanism_rows"]:
        mech_frame = mech_frame.sample(
            summary.settings["mechanism_rows"], random_state=int(children[3].generate_state(1)[0])
        )
    causal = causal_drift(
        summary.mechanisms,
        mech_frame,
        nodes,
        target,
        mechanism_alpha=settings["mechanism_alpha"],
        mechanism_threshold=settings["mechanism_threshold"],
    )
    performance = None
    if labelled and summary.performance is not None:
        from causalinterp.attribute._shap import check_model

        spec = check_model(model, list(features))
        coded, _ = to_codes(labelled_rows, list(spec.columns), summary.levels)
        prediction = spec.predict(coded.to_numpy(dtype=float))
        figures = _perf.error_figures(
            labelled_rows[outcome].to_numpy(dtype=float), prediction, summary.classifier
        )
        performance = _perf.compare(
            summary.performance, figures, labelled, alpha=settings["performance_alpha"]
        )
    alerts = build_alerts(
        outcome=outcome,
        features=features,
        graph=graph,
        drift=drift,
        support=checked,
        attribution=attribution,
        causal=causal,
        risk=risk,
        performance=performance,
        settings=settings,
    )
    change = None
    if labelled and settings["outcome_change"]:
        _, left_out = change_nodes(
            graph, outcome, {n: c.numeric for n, c in summary.columns.items()}
        )
        change = outcome_change(
            graph, outcome, summary.change_sample, labelled_rows, left_out=tuple(left_out),
            max_rows=summary.settings["mechanism_rows"],
            seed=int(children[4].generate_state(1)[0]),
        )  # fmt: skip
    return WindowResult(
        name, len(frame), labelled, drift, checked, attribution, causal, risk, performance, alerts,
        change,
    )


def _row_shares(means: np.ndarray) -> np.ndarray:
    total = means.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return means / total
