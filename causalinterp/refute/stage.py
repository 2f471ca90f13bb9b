"""The refutation stage: plan every simulation, run them, assemble the results by key.

:func:`refute_effects` fixes one seed per (feature, refuter), sends back-door effects down the
fast path (:mod:`causalinterp.refute.fast`) and everything else through full re-estimation
(:mod:`causalinterp.refute.simulation`), both through the package's one parallel helper. Every
simulated estimate is filed under its (feature, refuter) key; each refuter's test
(:mod:`causalinterp.refute.refuters`) turns its estimates into a p-value, and one
Benjamini-Hochberg step over the whole report decides what passed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from causalinterp._seeds import seed_sequence
from causalinterp.errors import DataError
from causalinterp.options import validate
from causalinterp.refute import fast
from causalinterp.refute.refuters import REFUTERS, REGISTRY
from causalinterp.refute.results import (
    DEPTHS,
    RefutationResult,
    Refutations,
    RefuterName,
    Sensitivity,
)
from causalinterp.refute.sensitivity import sensitivity as sensitivity_of
from causalinterp.refute.simulation import (
    Plan,
    Simulated,
    Task,
    columns,
    dummy_base,
    fit_outcome_task,
    parallel_map,
    run_task,
)
from causalinterp.refute.tests import Evidence, Outcome, spread

if TYPE_CHECKING:
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import Effects, FeatureEffect

#: A refuter with fewer usable simulations than this share of those planned fails.
MIN_USABLE = 0.5

Key = tuple[str, str]  # (feature, refuter)


def refute_effects(
    checked: CheckedData,
    effects: Effects,
    *,
    refute: str = "standard",
    refit: bool | None = None,
    alpha: float = 0.05,
    seed: int | np.random.SeedSequence = 0,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = None,
) -> Refutations:
    """Challenge every estimated effect with five refuters and a sensitivity analysis.

    Every re-estimation uses the nuisance learners and cross-fitting folds the effects were
    estimated with (``effects.nuisance`` and ``effects.n_folds``). Categorical controls,
    mediators and instruments enter every re-estimation as one 0/1 column per non-reference
    level, as they entered the estimation. A categorical treatment's per-level effects are
    not refuted (each refuter challenges one effect per feature): its row gets no refutations.

    Parameters
    ----------
    checked : CheckedData
        The data the effects were estimated from.
    effects : Effects
        The estimated effects; only features with status ``"estimated"`` are refuted.
    refute : {"none", "quick", "standard", "thorough"}, default "standard"
        Simulations per refuter, see :data:`DEPTHS`. ``"none"`` runs no refuter (the
        sensitivity analysis, which needs no simulation, is still reported).
    refit : bool or None, default None
        Re-fit every nuisance model in every simulation, also for back-door effects. None
        (automatic): re-fit when :func:`causalinterp.refute.auto.refit_decision` says the
        nuisances' own noise is material (below 1000 rows, or half-sample re-fits spread
        over twice the analytic standard error); the result records the decision and its
        reason. Without re-fitting back-door effects reuse the cross-fitted nuisances of the
        original fit
        (``effects.nuisances``: LinearDML's residuals for a continuous treatment, the doubly
        robust scores' parts for a binary one) and compute each simulation's final stage
        directly; ``docs/performance.md`` says what each refuter keeps on that path and what
        it cannot see (the nuisance estimates' own noise).
    alpha : float, default 0.05
        Report-wide false discovery rate: a refuter passes when its Benjamini-Hochberg adjusted
        p-value is at least ``alpha``. Also the level of the robustness value RV_alpha.
    seed : int or numpy.random.SeedSequence, default 0
        Root of every simulation's seed; results do not depend on ``n_jobs`` or ``backend``.
    n_jobs : int, optional
        Parallel jobs (joblib semantics; None defers to ``joblib.parallel_config``).
    backend : str, optional
        joblib backend (e.g. ``"loky"``, ``"threading"``, ``"dask"``); a shortcut for
        ``joblib.parallel_config(backend=...)``.
    progress : bool or None, default None
        Show a progress bar over the simulations (None: when standard error is a terminal).

    Returns
    -------
    Refutations
        Per feature, one :class:`RefutationResult` per refuter (in :data:`REFUTERS` order) and
        a :class:`Sensitivity`.

    Raises
    ------
    OptionError
        An invalid ``depth``, ``refit``, ``alpha`` or ``seed`` (one line, from
        :func:`causalinterp.options.validate`).
    DataError
        A feature of ``effects`` is missing from ``checked``.

    See Also
    --------
    causalinterp.refute.refuters : what each refuter does, tests and expects.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from causalinterp import CausalGraph, check_data, estimate_effects, refute_effects
    >>> rng = np.random.default_rng(0)
    >>> w = rng.normal(size=500)
    >>> t = w + rng.normal(size=500)
    >>> frame = pd.DataFrame({"w": w, "t": t, "y": 2 * t + w + rng.normal(size=500)})
    >>> graph = CausalGraph.parse("w -> t; w -> y; t -> y")
    >>> checked = check_data(frame, graph, "y", features=["t"])
    >>> effects = estimate_effects(checked, graph, nuisance="linear", n_jobs=1)
    >>> refutations = refute_effects(checked, effects, refute="quick", seed=0, n_jobs=1)
    >>> print(", ".join(r.name for r in refutations.by_feature["t"]))
    placebo_treatment, random_common_cause, data_subset, bootstrap, dummy_outcome
    >>> refutations.failed("t")
    ()
    >>> refutations.result("t", "placebo_treatment").expected
    0.0
    """
    given = {"refute": refute, "refit": refit, "alpha": alpha}
    if not isinstance(seed, np.random.SeedSequence):
        given["seed"] = seed
    checked_options = validate(given)
    depth, refit, alpha = (checked_options[k] for k in ("refute", "refit", "alpha"))
    root = seed_sequence(seed)
    simulations = DEPTHS[depth]
    checked, effects = _expand_categoricals(checked, effects)

    order = [f for f in checked.features if f in effects.by_feature]
    order += [f for f in effects.by_feature if f not in order]
    feature_seeds = dict(zip(order, root.spawn(len(order)), strict=True))

    plans: list[Plan] = []
    sensitivity: dict[str, Sensitivity] = {}
    for feature in order:
        effect = effects.by_feature[feature]
        if effect.status != "estimated" or effect.estimate is None:
            continue
        if checked.kinds.get(feature) == "categorical":
            continue  # one estimate per level; refuting a pooled contrast would test nothing
        used = _used_columns(effect, checked.outcome)
        missing = [c for c in used if c not in checked.frame.columns]
        if missing:
            raise DataError(
                f"effects: column {missing[0]!r} of feature {feature!r} is not in the checked "
                f"data; pass the CheckedData the effects were estimated from"
            )
        result = sensitivity_of(effect, checked, alpha)
        if result is not None:
            sensitivity[feature] = result
        plans.append(
            Plan(
                feature=feature,
                effect=effect,
                frame=checked.frame[used].reset_index(drop=True),
                seeds=tuple(feature_seeds[feature].spawn(len(REFUTERS))),
                controls=tuple(effect.identification.adjustment_set),
            )
        )

    refit, refit_auto, refit_reason, refit_ratios = _decide_refit(
        refit, checked, effects, plans, simulations, root
    )

    def finish(
        by_feature: dict[str, tuple[RefutationResult, ...]], fast_features=frozenset()
    ) -> Refutations:
        return Refutations(
            by_feature=by_feature,
            sensitivity=sensitivity,
            depth=depth,
            alpha=alpha,
            simulations=simulations,
            refit=refit,
            fast=frozenset(fast_features),
            refit_auto=refit_auto,
            refit_reason=refit_reason,
            refit_ratios=refit_ratios,
        )

    if simulations == 0 or not plans:
        return finish({p.feature: () for p in plans})

    kinds = dict(checked.kinds)
    nuisance, n_folds = effects.nuisance, effects.n_folds

    # Stage 1: the dummy outcome's systematic part, E[y - effect * t | controls], per feature.
    dummy_index = REFUTERS.index(RefuterName.DUMMY_OUTCOME)
    base = {
        p.feature: dummy_base(p.frame, checked.outcome, p.feature, p.effect.estimate.estimate)
        for p in plans
    }
    fitted_list = parallel_map(
        fit_outcome_task,
        [
            (
                base[p.feature],
                columns(p.frame, p.controls),
                int(p.seeds[dummy_index].generate_state(1)[0] >> 1),
            )
            for p in plans
        ],
        n_jobs=n_jobs,
        backend=backend,
    )
    binary_outcome = kinds[checked.outcome] == "binary"
    fitted = {
        p.feature: np.clip(f, 0.0, 1.0) if binary_outcome else f
        for p, f in zip(plans, fitted_list, strict=True)
    }

    # Back-door effects: reuse the original fit's nuisances (residuals or scores).
    quick = fast.run_fast(
        [p for p in plans if not refit and fast.eligible(p.effect, kinds, p.frame)],
        checked=checked,
        effects=effects,
        kinds=kinds,
        fitted=fitted,
        base=base,
        simulations=simulations,
        n_jobs=n_jobs,
        backend=backend,
    )

    # Stage 2: every simulation of every refuter of every other feature, seeds fixed in that
    # order; each task's key says whose it is.
    slow = [p for p in plans if p.feature not in quick.features]
    tasks: list[Task] = []
    keys: list[Key] = []
    for plan in slow:
        for refuter, refuter_seed in zip(REFUTERS, plan.seeds, strict=True):
            dummy = refuter == RefuterName.DUMMY_OUTCOME
            for sim_seed in refuter_seed.spawn(simulations):
                keys.append((plan.feature, refuter))
                tasks.append(
                    Task(
                        feature=plan.feature,
                        refuter=refuter,
                        frame=plan.frame,
                        kinds=kinds,
                        outcome=checked.outcome,
                        identification=plan.effect.identification,
                        seed=sim_seed,
                        n_folds=n_folds,
                        nuisance=nuisance,
                        fitted_outcome=fitted[plan.feature] if dummy else None,
                        dummy_residuals=(
                            base[plan.feature] - fitted[plan.feature] if dummy else None
                        ),
                        estimand=getattr(effects, "estimand", "ate"),
                    )
                )
    # One noise-free dummy outcome per feature, E[y | controls] alone: its standard error is
    # the sampling noise that all dummy simulations share (see DummyOutcome's test).
    for plan in slow:
        dummy_seed = plan.seeds[dummy_index]
        keys.append((plan.feature, ""))
        tasks.append(
            Task(
                feature=plan.feature,
                refuter=RefuterName.DUMMY_OUTCOME,
                frame=plan.frame,
                kinds=kinds,
                outcome=checked.outcome,
                identification=plan.effect.identification,
                seed=np.random.SeedSequence(int(dummy_seed.generate_state(4)[3])),
                n_folds=n_folds,
                nuisance=nuisance,
                fitted_outcome=fitted[plan.feature],
                reference=True,
                estimand=getattr(effects, "estimand", "ate"),
            )
        )
    results = parallel_map(run_task, tasks, n_jobs=n_jobs, backend=backend, progress=progress)

    simulated: dict[Key, list[Simulated]] = dict(quick.simulations)
    references: dict[str, Simulated] = dict(quick.references)
    for (feature, refuter), result in zip(keys, results, strict=True):
        if refuter:
            simulated.setdefault((feature, refuter), []).append(result)
        else:
            references[feature] = result

    # Statistics per refuter, then one Benjamini-Hochberg step over the whole report.
    tested: list[tuple[Plan, str, np.ndarray, Outcome | None, str]] = []
    for plan in plans:
        rcc = _values(simulated[plan.feature, RefuterName.RANDOM_COMMON_CAUSE])
        rcc = rcc[np.isfinite(rcc)]
        for refuter in REFUTERS:
            tested.append(
                _test(
                    plan,
                    refuter,
                    simulated[plan.feature, refuter],
                    rcc=rcc,
                    simulations=simulations,
                    shared=references[plan.feature][1],
                    refitted=plan.feature not in quick.features,
                    placebo_sd=quick.placebo_sd.get(plan.feature, math.nan),
                )
            )

    p_values = np.array([t.p_value if t is not None else math.nan for _, _, _, t, _ in tested])
    adjusted = np.full(len(tested), math.nan)
    finite = np.isfinite(p_values)
    if finite.any():
        from statsmodels.stats.multitest import multipletests

        adjusted[finite] = multipletests(p_values[finite], alpha=alpha, method="fdr_bh")[1]

    by_feature: dict[str, list[RefutationResult]] = {p.feature: [] for p in plans}
    for (plan, refuter, values, test, note), p, p_adj in zip(
        tested, p_values, adjusted, strict=True
    ):
        original = float(plan.effect.estimate.estimate)  # type: ignore[union-attr]
        by_feature[plan.feature].append(
            RefutationResult(
                name=refuter,
                feature=plan.feature,
                original=original,
                distribution=values,
                p_value=float(p),
                p_adjusted=float(p_adj),
                passed=bool(np.isfinite(p_adj) and p_adj >= alpha),
                detail=(test.detail if test is not None else "") + note,
                expected=REGISTRY[refuter].expected(original),
            )
        )
    return finish({k: tuple(v) for k, v in by_feature.items()}, quick.features)


def _decide_refit(
    refit: bool | None,
    checked: CheckedData,
    effects: Effects,
    plans: Sequence[Plan],
    simulations: int,
    root: np.random.SeedSequence,
) -> tuple[bool, bool, str, dict[str, float]]:
    """``refit`` as given, or the automatic rule's decision: (refit, auto, reason, ratios)."""
    if refit is not None:
        return bool(refit), False, f"refit={bool(refit)} was given", {}
    if simulations == 0 or not plans:
        return False, True, "no refuter ran, so nothing was re-fitted", {}
    from causalinterp.refute.auto import refit_decision

    # generate_state spawns nothing, so the refuters' seeds are those of an explicit refit.
    probe_seed = int(root.generate_state(2)[1] >> 1)
    decision = refit_decision(checked, effects, seed=probe_seed)
    return decision.refit, True, decision.reason, dict(decision.ratios)


def _values(block: Sequence[Simulated]) -> np.ndarray:
    return np.array([v for v, _, _ in block], dtype=float)


def _test(
    plan: Plan,
    refuter: str,
    block: Sequence[Simulated],
    *,
    rcc: np.ndarray,
    simulations: int,
    shared: float,
    refitted: bool,
    placebo_sd: float,
) -> tuple[Plan, str, np.ndarray, Outcome | None, str]:
    """One refuter's test of one feature, or a note saying why it could not be run."""
    values = _values(block)
    stderrs = np.array([se for _, se, _ in block], dtype=float)
    usable = values[np.isfinite(values)]
    errors = [e for _, _, e in block if e]
    if len(usable) < max(2, math.ceil(MIN_USABLE * simulations)):
        reason = errors[0] if errors else "too few finite estimates"
        note = (
            f"could not be run: {len(values) - len(usable)} of {len(values)} "
            f"re-estimations failed ({reason})"
        )
        return plan, refuter, values, None, note
    estimate = plan.effect.estimate
    assert estimate is not None
    outcome = REGISTRY[refuter].test(
        Evidence(
            values=usable,
            stderrs=stderrs[np.isfinite(values)],
            original=estimate.estimate,
            stderr=estimate.stderr,
            noise=spread(rcc),
            noise_sims=len(rcc),
            shared=shared,
            refitted=refitted,
            placebo_sd=placebo_sd,
        )
    )
    note = ""
    if errors:
        note = f"; {len(errors)} of {len(values)} re-estimations failed ({errors[0]})"
    return plan, refuter, values, outcome, note


def _expand_categoricals(checked: CheckedData, effects: Effects) -> tuple[CheckedData, Effects]:
    """The refutation stage's inputs, with categorical columns as the estimates used them.

    Categorical controls, mediators and instruments become one 0/1 column per non-reference
    level (as in the estimation). A categorical treatment's per-level estimates are not
    refuted (the refuters challenge one effect per feature): it is handed over as not
    estimated, and its report row has no refutations.
    """
    categorical = [n for n in checked.observed if checked.kinds.get(n) == "categorical"]
    if not categorical:
        return checked, effects
    frame = checked.frame.copy()
    kinds = dict(checked.kinds)
    dummies: dict[str, tuple[str, ...]] = {}
    for name in categorical:
        labels, reference = checked.level_codes(name)
        names = []
        for code, label in enumerate(labels):
            if code == reference:
                continue
            column = f"{name}={label}"
            while column in frame.columns:
                column += "_"
            frame[column] = (checked.frame[name] == code).astype("float64")
            kinds[column] = "binary"
            names.append(column)
        dummies[name] = tuple(names)

    def expand(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(column for name in names for column in dummies.get(name, (name,)))

    by_feature = {}
    for feature, effect in effects.by_feature.items():
        ident = effect.identification
        ident = replace(
            ident,
            adjustment_set=expand(ident.adjustment_set),
            mediators=expand(ident.mediators),
            instruments=expand(ident.instruments),
        )
        by_feature[feature] = replace(effect, identification=ident)
    return (
        replace(checked, frame=frame, kinds=kinds),
        replace(effects, by_feature=by_feature),
    )


def _used_columns(effect: FeatureEffect, outcome: str) -> list[str]:
    ident = effect.identification
    used = [outcome, effect.feature, *ident.adjustment_set, *ident.instruments, *ident.mediators]
    return list(dict.fromkeys(used))
