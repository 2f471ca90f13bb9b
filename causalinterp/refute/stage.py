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
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from joblib import effective_n_jobs

from causalinterp._progress import Lazy
from causalinterp._seeds import seed_sequence
from causalinterp.errors import DataError
from causalinterp.estimate._subsample import subsample_rows
from causalinterp.options import validate
from causalinterp.refute import fast, sequential
from causalinterp.refute.names import RefuterName
from causalinterp.refute.refuters import REFUTERS, REGISTRY
from causalinterp.refute.results import (
    DEPTHS,
    RefutationResult,
    Refutations,
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
    learners_of,
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
    time_budget: float | None = None,
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
    time_budget : float, optional
        Wall-clock seconds this stage may take. The re-fitting path runs as many of each
        refuter's simulations as fit (at least 3), and a refuter cut short says how many ran
        and how much less it detects (:mod:`causalinterp.refute.sequential`). None: no limit.
    n_jobs : int, optional
        Parallel jobs (joblib semantics; None defers to ``joblib.parallel_config``).
    backend : str, optional
        joblib backend (e.g. ``"loky"``, ``"threading"``, ``"dask"``); a shortcut for
        ``joblib.parallel_config(backend=...)``.
    progress : bool or None, default None
        Show a progress bar over the simulations, and before re-fitting one line with the
        estimated cost of the re-fitting path (None: when standard error is a terminal).

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
    begun = time.perf_counter()
    given = {"refute": refute, "refit": refit, "alpha": alpha, "time_budget": time_budget}
    if not isinstance(seed, np.random.SeedSequence):
        given["seed"] = seed
    checked_options = validate(given)
    depth, refit, alpha, time_budget = (
        checked_options[k] for k in ("refute", "refit", "alpha", "time_budget")
    )
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
        refit, checked, effects, plans, simulations, root, n_jobs=n_jobs, backend=backend
    )

    cost = 0.0  # the re-fitting path's estimated seconds, set before it starts

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
            time_budget=time_budget,
            refit_cost=cost,
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
        Lazy(
            plans,
            lambda p: (
                base[p.feature],
                columns(p.frame, p.controls),
                int(p.seeds[dummy_index].generate_state(1)[0] >> 1),
                # As many rows as the effect's own fits (the treatment counts as a column).
                subsample_rows(len(p.frame), 1 + len(p.controls), effects.nuisance_rows),
            ),
        ),
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

    # Stage 2: the re-fitting path, every refuter of every other feature, in rounds (see
    # refute/sequential.py): the first half of every refuter's simulations, an interim look,
    # then the rest for those still undecided, as many as the time budget allows. Each
    # simulation's seed is fixed by its (feature, refuter, index), whatever the rounds.
    slow = [p for p in plans if p.feature not in quick.features]
    by_name = {p.feature: p for p in slow}
    estimand = getattr(effects, "estimand", "ate")

    def task(plan: Plan, refuter: str, seed: np.random.SeedSequence, reference=False) -> Task:
        dummy = refuter == RefuterName.DUMMY_OUTCOME
        return Task(
            feature=plan.feature,
            refuter=refuter,
            frame=plan.frame,
            kinds=kinds,
            outcome=checked.outcome,
            identification=plan.effect.identification,
            seed=seed,
            n_folds=n_folds,
            nuisance=learners_of(plan.effect, nuisance),
            fitted_outcome=fitted[plan.feature] if dummy else None,
            dummy_residuals=(
                base[plan.feature] - fitted[plan.feature] if dummy and not reference else None
            ),
            reference=reference,
            estimand=estimand,
        )

    sim_seeds: dict[Key, list[np.random.SeedSequence]] = {
        (plan.feature, refuter): list(refuter_seed.spawn(simulations))
        for plan in slow
        for refuter, refuter_seed in zip(REFUTERS, plan.seeds, strict=True)
    }
    simulated: dict[Key, list[Simulated]] = dict(quick.simulations)
    references: dict[str, Simulated] = dict(quick.references)
    stops: dict[Key, sequential.Stop] = {}
    if slow:
        workers = max(1, effective_n_jobs(n_jobs))
        # The pilot: one noise-free dummy outcome per feature, E[y | controls] alone (its
        # standard error is the sampling noise that all dummy simulations share, see
        # DummyOutcome's test); its measured time prices every other re-fit.
        pilot = [
            task(
                plan,
                RefuterName.DUMMY_OUTCOME,
                np.random.SeedSequence(int(plan.seeds[dummy_index].generate_state(4)[3])),
                reference=True,
            )
            for plan in slow
        ]
        clock = time.perf_counter()
        for plan, result in zip(
            slow, parallel_map(run_task, pilot, n_jobs=n_jobs, backend=backend), strict=True
        ):
            references[plan.feature] = result
        per_fit = (time.perf_counter() - clock) * min(workers, len(slow)) / len(slow)
        cost = per_fit * len(sim_seeds) * simulations / workers
        if progress:
            print(
                f"refutations: re-fitting {len(slow)} feature(s): {len(sim_seeds) * simulations}"
                f" simulations of about {per_fit:.2g} s each, about {cost:.0f} s on {workers} "
                "worker(s) at most (refuters decided at the interim look stop sooner)",
                file=sys.stderr,
                flush=True,
            )
        pending = dict.fromkeys(sim_seeds, 0)  # simulations run so far per key
        wanted = sequential.first_round(simulations)
        for round_ in range(2):
            open_keys = [k for k in pending if k not in stops]
            left = None if time_budget is None else time_budget - (time.perf_counter() - begun)
            count = sequential.affordable(
                wanted, len(open_keys), per_fit, workers, left,
                floor=sequential.MIN_SIMULATIONS if round_ == 0 else 0,
            )  # fmt: skip
            batch = [
                ((f, r), task(by_name[f], r, sim_seeds[f, r][pending[f, r] + i]))
                for f, r in open_keys
                for i in range(count)
            ]
            clock = time.perf_counter()
            results = parallel_map(
                run_task, [t for _, t in batch], n_jobs=n_jobs, backend=backend, progress=progress
            )
            if batch:
                per_fit = (time.perf_counter() - clock) * workers / len(batch)
            for key, result in zip((k for k, _ in batch), results, strict=True):
                simulated.setdefault(key, []).append(result)
            for key in open_keys:
                pending[key] += count
            if round_ == 0:
                if count == wanted:
                    # The interim look, only after the whole first round (the budget may have
                    # cut it): refuters whose verdict is already decided stop here.
                    looked = _tests(slow, simulated, references, quick, pending)
                    for key, (_, _, _, outcome, _) in looked.items():
                        if outcome is not None and sequential.interim(outcome.p_value):
                            stops[key] = sequential.Stop(simulations, pending[key], "decided")
                wanted = simulations - count
                if wanted <= 0:
                    break
        for key, run in pending.items():
            if key not in stops and run < simulations:
                stops[key] = sequential.Stop(simulations, run, "time_budget")

    # Statistics per refuter, then one Benjamini-Hochberg step over the whole report.
    counts = {(p.feature, r): simulations for p in plans for r in REFUTERS}
    counts.update({k: v.run for k, v in stops.items()})
    by_key = _tests(plans, simulated, references, quick, counts)
    tested = [by_key[p.feature, r] for p in plans for r in REFUTERS]
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
        stop = stops.get((plan.feature, refuter))
        if stop is not None:
            note += stop.sentence(float(p))
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
                stop=stop,
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
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
) -> tuple[bool, bool, str, dict[str, float]]:
    """``refit`` as given, or the automatic rule's decision: (refit, auto, reason, ratios)."""
    if refit is not None:
        return bool(refit), False, f"refit={bool(refit)} was given", {}
    if simulations == 0 or not plans:
        return False, True, "no refuter ran, so nothing was re-fitted", {}
    from causalinterp.refute.auto import refit_decision

    # generate_state spawns nothing, so the refuters' seeds are those of an explicit refit.
    probe_seed = int(root.generate_state(2)[1] >> 1)
    decision = refit_decision(checked, effects, seed=probe_seed, n_jobs=n_jobs, backend=backend)
    return decision.refit, True, decision.reason, dict(decision.ratios)


def _tests(
    plans: Sequence[Plan],
    simulated: Mapping[Key, list[Simulated]],
    references: Mapping[str, Simulated],
    quick: fast.FastResults,
    counts: Mapping[Key, int],
) -> dict[Key, tuple[Plan, str, np.ndarray, Outcome | None, str]]:
    """Every refuter's test of every plan on the simulations run so far (``counts`` of them
    per key: a refuter stopped early is judged on those it ran)."""
    tested = {}
    for plan in plans:
        rcc = _values(simulated.get((plan.feature, RefuterName.RANDOM_COMMON_CAUSE), []))
        rcc = rcc[np.isfinite(rcc)]
        for refuter in REFUTERS:
            tested[plan.feature, refuter] = _test(
                plan,
                refuter,
                simulated.get((plan.feature, refuter), []),
                rcc=rcc,
                simulations=counts[plan.feature, refuter],
                shared=references.get(plan.feature, (math.nan, math.nan, ""))[1],
                refitted=plan.feature not in quick.features,
                placebo_sd=quick.placebo_sd.get(plan.feature, math.nan),
            )
    return tested


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
    learners = getattr(estimate, "learners", None)
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
            learners=learners.describe() if learners is not None else "",
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
