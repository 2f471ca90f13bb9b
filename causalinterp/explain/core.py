"""Per-row explanations with causal levers: each row's SHAP (and optionally LIME)
contributions beside the verdicts and the row's own conditional effects.

:func:`explain_rows` rebuilds what it needs from an analysis (a :class:`~causalinterp.Report`
or the dictionary of its ``report.json``) and the data: the DAG, the verdicts and each
feature's adjustment set come from the analysis; the model is the one given, or, when the
analysis fitted its own, that default model refitted with the analysis' seed (the same model,
so the same SHAP values). For every requested row it returns

* the SHAP contribution of every feature (the background sample is the analysis' own);
* optionally LIME's (:mod:`causalinterp.explain.lime`) with its stability and a flag when
  the SHAP and LIME rankings disagree;
* the row's conditional effect of every feature identified by back-door adjustment
  (:mod:`causalinterp.explain.cate`), the change one step of it would make to this row's
  outcome (binary: to the other level; continuous: one standard deviation up), and
* which features are **levers**: causal support in the analysis and an effect for the row;
  every other contribution says why it is not one. A proxy or a consequence of the outcome
  (verdict ``no_causal_path``) is never a lever, however large its SHAP value.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalinterp import options
from causalinterp._progress import resolve_progress, run_parallel, status
from causalinterp._seeds import seed_sequence, stage_seeds
from causalinterp.attribute.inspection import outcome_predictor
from causalinterp.data import CheckedData, check_data
from causalinterp.errors import DataError, OptionError
from causalinterp.explain import _inputs
from causalinterp.explain import cate as cate_module
from causalinterp.explain import lime as lime_module

#: The options table's defaults of explain_rows()' keywords.
_DEFAULTS = options.defaults()

__all__ = [
    "Contribution",
    "Explainer",
    "Explanations",
    "LimeSummary",
    "RowExplanation",
    "explain_rows",
    "prepare",
]

#: The options of explain_rows() in the options table (besides seed, n_jobs, backend, progress).
OPTIONS = ("explainer", "cate", "fixed", "id_column", "lime_runs", "lime_samples", "n_folds")
#: Reasons a contribution with this verdict is not a lever.
_NOT_LEVER = {
    "no_causal_path": "no causal path to the outcome (a proxy, or a consequence of the "
    "outcome): changing it would not change the outcome",
    "no_detectable_effect": "no detectable causal effect on the outcome",
    "sign_conflict": "the model's attribution has the opposite sign of the causal effect",
    "not_identifiable": "its causal effect is not identifiable from the DAG and the data",
    "fragile": "its estimated effect did not survive the refutation tests",
    "error": "its effect could not be estimated",
    "inconclusive": "the data cannot settle its causal effect (the analysis' reason says why)",
    "limited_overlap": "too few comparable rows: its effect rests on extrapolation",
}


@dataclass(frozen=True)
class Contribution:
    """One feature's part in one row's explanation.

    Attributes
    ----------
    feature : str
        The feature.
    value : float
        The row's value (level code for a categorical feature, 0/1 for a binary one).
    shap : float
        SHAP contribution, on the outcome's scale.
    lime : float or None
        LIME contribution (``explainer="lime"`` only).
    verdict : str
        The analysis' verdict on the feature.
    causal_support : bool or None
        The analysis' causal support.
    lever : bool
        Causal support and an effect for this row whose 95% interval excludes 0: changing
        the feature moves this row's outcome, in a known direction.
    reason : str
        Why it is not a lever, or what its effect is based on.
    effect : Mapping or None
        ``estimate``, ``ci_low``, ``ci_high`` per unit of the feature (0 to 1 if binary),
        ``source`` (``"row"``: the row's conditional effect; ``"average"``: the analysis'
        average effect, when no per-row effect exists) and ``method``.
    change : Mapping or None
        ``step`` (the change of the feature considered) and ``estimate``, ``ci_low``,
        ``ci_high`` of the resulting change of this row's outcome.
    lever_rank : int or None
        1 for the lever whose step changes the outcome most (by |change|).
    level : str or None
        The level ``value`` codes, for a feature given as text or categories.
    move : str or None
        For a lever, which way to move it: ``"raise"`` or ``"lower"`` (a continuous
        feature) or ``"switch"`` (a binary one, to its other level), and :attr:`advice`
        says what that does to the outcome.
    advice : str or None
        For a lever, one sentence: which way to move it to raise the outcome, and by how much.
    """

    feature: str
    value: float
    shap: float
    lime: float | None
    verdict: str
    causal_support: bool | None
    lever: bool
    reason: str
    effect: Mapping[str, Any] | None = None
    change: Mapping[str, Any] | None = None
    lever_rank: int | None = None
    level: str | None = None
    move: str | None = None
    advice: str | None = None


@dataclass(frozen=True)
class LimeSummary:
    """LIME's stability on a row and its agreement with SHAP (see :mod:`.lime`)."""

    vsi: float
    csi: float
    runs: int
    seed: int
    local_r2: float
    kendall_tau: float
    disagrees: bool


@dataclass(frozen=True)
class RowExplanation:
    """One row: its prediction, contributions (largest |SHAP| first) and levers (ranked).

    ``base_value`` is SHAP's base value (the expected prediction over the explainer's
    background, on its scale): ``base_value + sum(shap)`` is ``prediction``. It is not the
    model's mean prediction over the data, which :attr:`Explanations.mean_prediction` gives.
    """

    row: Any
    position: int
    prediction: float
    base_value: float
    contributions: tuple[Contribution, ...]
    lime: LimeSummary | None = None

    @property
    def levers(self) -> tuple[str, ...]:
        """The levers, largest change of the outcome first."""
        ranked = sorted((c for c in self.contributions if c.lever), key=lambda c: c.lever_rank)
        return tuple(c.feature for c in ranked)


@dataclass(frozen=True)
class Explanations:
    """Per-row explanations of one analysis; renders itself as JSON, Markdown and HTML.

    Attributes
    ----------
    rows : tuple of RowExplanation
        In the order requested.
    outcome, scale : str
        The outcome and the scale of the contributions (``"probability"`` or ``"outcome"``).
    explainer : str
        ``"shap"`` or ``"lime"`` (SHAP is always given; ``"lime"`` adds LIME).
    cate : str
        The heterogeneous-effect estimator (``"linear"`` or ``"forest"``).
    seed : int
        The seed of the explanation.
    effects : Mapping[str, Mapping]
        Per feature: the estimator, effect modifiers and controls of its per-row effects, or
        the message saying why it has none.
    seconds : Mapping[str, float]
        Wall-clock seconds: ``setup`` (model, per-row effect fits), ``rows`` (SHAP, LIME).
    notes : tuple of str
        What the reader should know (a rebuilt model, a replaced nuisance ...).
    mean_prediction : float
        The model's mean prediction over the analysed rows, on the outcome scale (what a
        reader means by "the average"; SHAP's base value is another number).
    """

    rows: tuple[RowExplanation, ...]
    outcome: str
    scale: str
    explainer: str
    cate: str
    seed: int
    effects: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seconds: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    mean_prediction: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """The ``explain.json`` data (see docs/local-explanations.md)."""
        from causalinterp.explain import render

        return render.explain_dict(self)

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """``explain.json``'s text, written atomically if ``path`` is given."""
        from causalinterp.explain import render

        return render.write_or_return(render.json_text(self), path)

    def to_markdown(self) -> str:
        """One section per row: levers, then every contribution."""
        from causalinterp.explain import render

        return render.markdown(self)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A self-contained HTML page with one card per row (no scripts, inline CSS)."""
        from causalinterp.explain import render

        return render.write_or_return(render.html(self), path)

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``explain.json``, ``explain.md`` and ``explain.html`` into ``out_dir``.

        The folder is created if needed; the three files are replaced atomically together.

        Returns
        -------
        dict
            ``{"json": path, "markdown": path, "html": path}``, as :meth:`Report.write`.
        """
        from causalinterp.explain import render

        return render.write(self, out_dir)


# --------------------------------------------------------------------------- the verbs


@dataclass(frozen=True, eq=False)
class Explainer:
    """An analysis made ready to explain rows: the model and the per-row effect estimators
    fitted once; :meth:`explain` then costs SHAP (and LIME) per row only.

    Built by :func:`prepare`; :func:`explain_rows` is ``prepare(...).explain(rows)``.
    """

    analysis: _inputs._Analysis = field(repr=False)
    checked: CheckedData = field(repr=False)
    data: pd.DataFrame | None = field(repr=False)
    model: Any = field(repr=False)
    frame: pd.DataFrame = field(repr=False)
    effects: Mapping[str, cate_module.FeatureModel] = field(repr=False)
    seed: int
    cate: str
    notes: tuple[str, ...] = ()
    setup_seconds: float = 0.0
    mean_prediction: float = math.nan

    def explain(
        self,
        rows: Any,
        *,
        explainer: str = "shap",
        id_column: str | None = None,
        fixed: Sequence[str] = (),
        lime_runs: int = _DEFAULTS["lime_runs"],
        lime_samples: int = _DEFAULTS["lime_samples"],
        progress: bool | None = None,
    ) -> Explanations:
        """Explain ``rows``; the parameters are those of :func:`explain_rows`.

        Examples
        --------
        >>> explainer = prepare(report, data)  # doctest: +SKIP
        >>> explainer.explain([3]).rows[0].levers  # doctest: +SKIP
        ('monthly_bill', 'outage_hours')
        """
        fixed = options.validate({
            "explainer": explainer, "id_column": id_column, "fixed": fixed,
            "lime_runs": lime_runs, "lime_samples": lime_samples, "progress": progress,
        })["fixed"]
        say = status(progress, "explain")
        unknown = [f for f in fixed if f not in self.checked.features]
        if unknown:
            raise OptionError(f"fixed: {unknown[0]!r} is not a model feature; name model features")
        clock = time.perf_counter()
        checked = self.checked
        wanted = _inputs._positions(rows, self.data, checked, id_column)
        positions = [p for _, p in wanted]
        by_feature = {name: fitted.at(positions) for name, fitted in self.effects.items()}

        # SHAP with the analysis' background sample (the same seeds as attribute_model).
        from causalinterp.attribute import _shap
        from causalinterp.attribute.attributions import _sample

        seeds = seed_sequence(stage_seeds(self.analysis.seed).attributions).spawn(3)
        rng = np.random.default_rng(seeds[1])
        background = self.frame.iloc[_sample(len(self.frame), 200, rng)]
        say(f"SHAP values of {len(positions)} row(s)")
        shap_result = _shap.explain(
            self.model, self.frame.iloc[positions], background=background, seed=seeds[2]
        )
        predict = outcome_predictor(self.model)
        spread = {f: float(checked.frame[f].std()) for f in checked.features}
        explained = []
        for i, (row, position) in enumerate(wanted):
            values = map(float, shap_result.values[i])
            shap_values = dict(zip(checked.features, values, strict=True))
            lime_values, summary = None, None
            if explainer == "lime":
                say(f"LIME on row {row!r} ({lime_runs} runs)")
                result = lime_module.lime_explain(
                    predict,
                    self.frame.iloc[position],
                    self.frame,
                    checked.kinds,
                    seed=self.seed,
                    n_samples=lime_samples,
                    runs=lime_runs,
                )
                lime_values = dict(result.contributions)
                tau, disagrees = lime_module.agreement(shap_values, lime_values)
                summary = LimeSummary(
                    result.vsi,
                    result.csi,
                    result.runs,
                    result.seed,
                    result.local_r2,
                    tau,
                    disagrees,
                )
            contributions = _contributions(
                self.analysis.outcome,
                self.analysis,
                checked,
                position,
                i,
                shap_values,
                lime_values,
                by_feature,
                spread,
                frozenset(fixed),
            )
            explained.append(
                RowExplanation(
                    row=row,
                    position=position,
                    prediction=float(shap_result.base_value + sum(shap_values.values())),
                    base_value=float(shap_result.base_value),
                    contributions=contributions,
                    lime=summary,
                )
            )
        effects = {
            name: {
                "method": fx.method,
                "modifiers": list(fx.modifiers),
                "controls": list(fx.controls),
                "message": fx.message,
            }
            for name, fx in by_feature.items()
        }
        return Explanations(
            rows=tuple(explained),
            outcome=self.analysis.outcome,
            scale=shap_result.scale,
            explainer=explainer,
            cate=self.cate,
            seed=self.seed,
            effects=effects,
            seconds={
                "setup": round(self.setup_seconds, 3),
                "rows": round(time.perf_counter() - clock, 3),
            },
            notes=self.notes,
            mean_prediction=self.mean_prediction,
        )


def prepare(
    report: Any,
    data: pd.DataFrame | None,
    *,
    model: Any = None,
    seed: int = _DEFAULTS["seed"],
    cate: str = _DEFAULTS["cate"],
    n_folds: int = _DEFAULTS["n_folds"],
    n_jobs: int | None = _DEFAULTS["n_jobs"],
    backend: str | None = _DEFAULTS["backend"],
    progress: bool | None = _DEFAULTS["progress"],
) -> Explainer:
    """Fit what per-row explanations of an analysis need, once: the model (refitted when
    the analysis fitted its own) and one heterogeneous-effect estimator per feature with an
    estimated effect (in parallel over features, through joblib).

    Parameters are those of :func:`explain_rows`.

    Returns
    -------
    Explainer
        ``.explain(rows, explainer=..., id_column=..., fixed=...)`` per call.

    Examples
    --------
    >>> explainer = prepare(report, data)  # doctest: +SKIP
    >>> [explainer.explain([i]).rows[0].levers for i in (0, 1)]  # doctest: +SKIP
    [('monthly_bill', 'outage_hours'), ('outage_hours', 'monthly_bill')]
    """
    from causalinterp._progress import check_backend

    checked_options = options.validate({
        "seed": seed, "cate": cate, "n_folds": n_folds, "n_jobs": n_jobs, "backend": backend,
        "progress": progress,
    })
    check_backend(backend)
    seed = checked_options["seed"]
    say = status(progress, "explain")
    clock = time.perf_counter()
    analysis = _inputs._analysis(report)
    if data is None:
        if analysis.checked is None:
            raise DataError("data: none given; pass the data the analysis ran on")
        checked = analysis.checked
    else:
        checked = check_data(
            data, analysis.graph, analysis.outcome, features=analysis.features, missing="drop"
        )
    say("rebuilding the model")
    fitted, frame, notes = _inputs._model_and_frame(analysis, checked, data, model)
    settings = (report.get("settings") or {}) if isinstance(report, Mapping) else {}
    if isinstance(report, Mapping):
        if settings.get("nuisance") not in (None, "auto", "linear"):
            notes.append("the analysis' own nuisance learners are not in report.json; 'auto' used")
        if model is None and "model" not in settings:
            notes.append(
                "report.json does not say which model it explained; the default model "
                "was assumed (pass model=... or --model if it was yours)"
            )
    # Per-row effects: one fit per feature, read at any row later; each feature's seed is
    # its child of ``seed`` in feature order, so the fits do not depend on n_jobs.
    children = seed_sequence(seed).spawn(len(checked.features))
    tasks = [
        _EffectTask(
            checked, analysis.graph, name, analysis.identification.get(name) or {},
            int(child.generate_state(1)[0]), cate, n_folds, analysis.nuisance,
            analysis.average.get(name) is not None,
        )
        for name, child in zip(checked.features, children, strict=True)
    ]
    fits = run_parallel(
        _fit_effect, tasks, n_jobs=n_jobs, backend=backend,
        progress=resolve_progress(progress), desc="per-row effects", unit="feature",
    )
    mean_prediction = float(np.mean(outcome_predictor(fitted)(frame)))
    return Explainer(
        analysis=analysis,
        checked=checked,
        data=data,
        model=fitted,
        frame=frame,
        effects={task.feature: fit for task, fit in zip(tasks, fits, strict=True)},
        seed=seed,
        cate=cate,
        notes=tuple(notes),
        setup_seconds=time.perf_counter() - clock,
        mean_prediction=mean_prediction,
    )


@dataclass(frozen=True, eq=False)
class _EffectTask:
    """One feature's per-row effect fit (picklable, for process backends)."""

    checked: CheckedData
    graph: Any
    feature: str
    identification: Mapping[str, Any]
    seed: int
    cate: str
    n_folds: int
    nuisance: Any
    estimated: bool


def _fit_effect(task: _EffectTask) -> cate_module.FeatureModel:
    if not task.estimated:
        return cate_module.FeatureModel(task.feature, None, message="no estimated effect")
    return cate_module.fit_feature(
        task.checked, task.graph, task.feature, task.identification, seed=task.seed,
        method=task.cate, n_folds=task.n_folds, nuisance=task.nuisance,
    )


def explain_rows(
    report: Any,
    data: pd.DataFrame | None,
    rows: Any,
    *,
    model: Any = None,
    explainer: str = _DEFAULTS["explainer"],
    seed: int = _DEFAULTS["seed"],
    id_column: str | None = _DEFAULTS["id_column"],
    cate: str = _DEFAULTS["cate"],
    fixed: Sequence[str] = _DEFAULTS["fixed"],
    lime_runs: int = _DEFAULTS["lime_runs"],
    lime_samples: int = _DEFAULTS["lime_samples"],
    n_folds: int = _DEFAULTS["n_folds"],
    n_jobs: int | None = _DEFAULTS["n_jobs"],
    backend: str | None = _DEFAULTS["backend"],
    progress: bool | None = _DEFAULTS["progress"],
) -> Explanations:
    """Explain rows of the data: contributions, verdicts, the row's effects and its levers.

    ``prepare(report, data, ...).explain(rows, ...)``; to explain rows in several calls,
    keep the :class:`Explainer` of :func:`prepare` (the effect fits are made once). The
    options are rows of :mod:`causalinterp.options` (stage ``explain``, and ``n_folds``,
    ``seed``, ``n_jobs``, ``backend``, ``progress`` as everywhere).

    Parameters
    ----------
    report : Report or Mapping
        The analysis: :func:`causalinterp.analyze`'s result, or the data of its
        ``report.json`` (:func:`causalinterp.inputs.read_report`).
    data : pandas.DataFrame or None
        The data the analysis ran on (the rows to explain among them). None with a Report:
        its checked data (binary and categorical columns as codes).
    rows : label, id or sequence of them
        Index labels of ``data``, or values of ``id_column``.
    model : fitted estimator, optional
        The model the analysis explained. Needed when it was the user's own; without it the
        analysis' default model is refitted with the analysis' seed.
    explainer : {"shap", "lime"}, default "shap"
        ``"lime"`` adds LIME's contributions, their stability and the SHAP/LIME agreement.
    seed : int, default 0
        Seeds the per-row effect fits and LIME. (The refitted default model and SHAP's
        background sample use the analysis' own seeds, so that they are the analysis'.)
    id_column : str, optional
        A column of ``data`` holding unique row ids that ``rows`` refer to.
    cate : {"linear", "forest"}, default "linear"
        The heterogeneous-effect estimator: EconML's ``LinearDML``/``LinearDRLearner`` (an
        effect linear in the modifiers, reliable intervals) or ``CausalForestDML`` (any shape,
        less reliable intervals).
    fixed : sequence of str
        Features that cannot be changed (age, region...): never levers.
    lime_runs, lime_samples : int
        LIME runs for the stability indices, and perturbations per run.
    n_folds : int, default 3
        Cross-fitting folds of the per-row effect fits.
    n_jobs, backend : optional
        Parallel per-feature effect fits (joblib semantics, as in :func:`causalinterp.analyze`;
        the result does not depend on them).
    progress : bool, optional
        Progress on standard error; default: when it is a terminal.

    Returns
    -------
    Explanations
        One :class:`RowExplanation` per row; ``.write(out_dir)`` writes JSON, Markdown, HTML.

    Raises
    ------
    OptionError, DataError, ModelError
        One line naming the input and the fix. A feature whose per-row effect cannot be
        estimated is recorded in :attr:`Explanations.effects` and does not stop the others.

    Examples
    --------
    >>> import causalinterp
    >>> from causalinterp.simulators import retention_model
    >>> sim = retention_model()
    >>> data = sim.sample(3000, seed=0)
    >>> report = causalinterp.analyze(data, sim.graph, "churned", refute="none",
    ...     features=["tenure_years", "outage_hours", "cancel_page_visits"], progress=False)
    >>> out = explain_rows(report, data, [0, 5], progress=False)
    >>> [c.lever for c in out.rows[0].contributions if c.feature == "cancel_page_visits"]
    [False]
    """
    options.validate({
        "explainer": explainer, "id_column": id_column, "fixed": fixed, "lime_runs": lime_runs,
        "lime_samples": lime_samples,
    })
    prepared = prepare(
        report, data, model=model, seed=seed, cate=cate, n_folds=n_folds, n_jobs=n_jobs,
        backend=backend, progress=progress,
    )
    return prepared.explain(
        rows,
        explainer=explainer,
        id_column=id_column,
        fixed=fixed,
        lime_runs=lime_runs,
        lime_samples=lime_samples,
        progress=progress,
    )


def _contributions(
    outcome: str,
    analysis: _inputs._Analysis,
    checked: CheckedData,
    position: int,
    i: int,
    shap_values: Mapping[str, float],
    lime_values: Mapping[str, float] | None,
    by_feature: Mapping[str, cate_module.RowEffects],
    spread: Mapping[str, float],
    fixed: frozenset[str],
) -> tuple[Contribution, ...]:
    """The row's contributions, largest |SHAP| first, with levers ranked by |change|.

    A lever needs causal support, an effect for the row, and a change whose 95% interval
    excludes 0: a change that may be of either sign says neither which way to move the
    feature nor that moving it does anything.
    """
    items = []
    for name in checked.features:
        verdict, support = analysis.verdicts.get(name, ("error", None))
        value = float(checked.frame[name].iloc[position])
        fx = by_feature.get(name)
        effect = None
        if fx is not None and fx.estimate:
            effect = {
                "estimate": fx.estimate[i],
                "ci_low": fx.ci_low[i],
                "ci_high": fx.ci_high[i],
                "source": "row",
                "method": fx.method,
            }
        elif analysis.average.get(name) and checked.kinds.get(name) != "categorical":
            average = analysis.average[name]
            effect = {
                "estimate": average["estimate"],
                "ci_low": average["ci_low"],
                "ci_high": average["ci_high"],
                "source": "average",
                "method": average.get("method"),
            }
        change = None
        binary = checked.kinds.get(name) == "binary"
        if effect is not None:
            step = (1.0 - 2.0 * value) if binary else spread[name]
            ends = sorted((effect["ci_low"] * step, effect["ci_high"] * step))
            change = {
                "step": step,
                "estimate": effect["estimate"] * step,
                "ci_low": ends[0],
                "ci_high": ends[1],
            }
        move = advice = None
        if name in fixed:
            lever, reason = False, "declared unchangeable (fixed)"
        elif support is not True:
            lever, reason = False, _NOT_LEVER.get(verdict, f"verdict {verdict}")
        elif effect is None or change is None:
            lever = False
            reason = fx.message if fx is not None and fx.message else "no effect for this row"
        elif not (change["ci_low"] > 0 or change["ci_high"] < 0):
            lever = False
            reason = (
                f"its effect {'for this row' if effect['source'] == 'row' else 'on average'} "
                f"may be of either sign (95% CI of the change [{change['ci_low']:.3g}, "
                f"{change['ci_high']:.3g}] includes 0): moving it has no known direction"
            )
        else:
            lever = True
            reason = (
                "this row's conditional effect"
                if effect["source"] == "row"
                else f"the average effect ({fx.message if fx else 'no per-row effect'})"
            )
            move, advice = _advice(name, outcome, value, binary, change, _level(
                checked, name, 1.0 - value) if binary else None)
        items.append(
            Contribution(
                feature=name,
                value=value,
                shap=shap_values[name],
                lime=None if lime_values is None else lime_values[name],
                verdict=verdict,
                causal_support=support,
                lever=lever,
                reason=reason,
                effect=effect,
                change=change,
                level=_level(checked, name, value),
                move=move,
                advice=advice,
            )
        )
    ranked = sorted((c for c in items if c.lever), key=lambda c: -abs(c.change["estimate"]))
    rank = {c.feature: k for k, c in enumerate(ranked, start=1)}
    items = [Contribution(**{**c.__dict__, "lever_rank": rank.get(c.feature)}) for c in items]
    return tuple(sorted(items, key=lambda c: -abs(c.shap) if math.isfinite(c.shap) else 0.0))


def _advice(
    name: str, outcome: str, value: float, binary: bool, change: Mapping[str, float],
    other_level: str | None,
) -> tuple[str, str]:
    """Which way to move a lever, and one sentence saying what that does to the outcome.

    ``change`` is the outcome's change for the step considered (binary: to the other level;
    continuous: one standard deviation up); its interval excludes 0, so its sign is known.
    """
    # The interval excludes 0, so both ends have the estimate's sign: report magnitudes.
    low, high = sorted((abs(change["ci_low"]), abs(change["ci_high"])))
    size = f"{abs(change['estimate']):.3g} (95% CI {low:.3g} to {high:.3g})"
    if binary:
        target = other_level if other_level is not None else f"{1.0 - value:g}"
        effect = "raises" if change["estimate"] > 0 else "lowers"
        return "switch", f"switching {name} to {target} {effect} {outcome} by {size}"
    up = change["estimate"] > 0
    step = f"{change['step']:.3g}"
    return ("raise" if up else "lower"), (
        f"to raise {outcome}, {'raise' if up else 'lower'} {name}: {step} (one standard "
        f"deviation) {'up' if up else 'down'} raises {outcome} by {size}; the other way "
        "lowers it"
    )


def _level(checked: CheckedData, name: str, value: float) -> str | None:
    """The label of a coded feature's value (None for a numeric feature)."""
    labels = checked.levels.get(name)
    if labels is None or not math.isfinite(value) or not 0 <= int(value) < len(labels):
        return None
    return str(labels[int(value)])
