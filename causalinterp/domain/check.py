"""The domain check inside :func:`causalinterp.analyze`: directions, ICE verification, and
the material attributions against a declared direction.

:func:`check_domain` runs after the attributions. It derives each model feature's direction
from the DAG's declared signs (or suggests one from a significant estimated effect), checks
the model's ICE curves against it, and builds each feature's ``domain`` object of
``report.json``. It never raises for a problem of the check itself: a feature whose check
fails keeps its direction with ``violation_share`` null and the failure in ``error``, and a
failure of the whole check leaves every feature unchecked, with the message, so the rest of
the report is unaffected. Bad *input* (a sign on an edge that is not in the graph, a malformed
sign) is the caller's error and is raised before the slow stages by :func:`check_signs`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causalinterp._seeds import seed_sequence
from causalinterp.domain.directions import Directions, derive_directions, edge_signs
from causalinterp.domain.render import domain_objects
from causalinterp.domain.verification import Verification, verify
from causalinterp.errors import CausalInterpError


@dataclass(frozen=True)
class DomainCheck:
    """The domain check of one analysis.

    Attributes
    ----------
    directions : Directions or None
        Each feature's direction (None when the check failed before deriving them).
    verification : Verification or None
        The ICE curves of the checked features (None when nothing was checked).
    objects : Mapping[str, dict]
        Feature to its ``domain`` object of ``report.json``.
    error : str or None
        Why the check as a whole failed, or why the model was not checked.
    seconds : float
        Time the check took.
    """

    directions: Directions | None
    verification: Verification | None
    objects: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def against_direction(self) -> tuple[str, ...]:
        """Features whose material attribution violates a declared direction."""
        return tuple(
            name for name, obj in self.objects.items() if obj.get("against_direction")
        )


def check_signs(graph: Any, signs: Any) -> dict[tuple[str, str], str]:
    """The declared signs (the graph's and ``signs``), checked; raises on bad input.

    Examples
    --------
    >>> check_signs("a -> y [+]; b -> y", {"b -> y": "-"})
    {('a', 'y'): '+', ('b', 'y'): '-'}
    """
    return dict(sorted(edge_signs(graph, signs)[1].items()))


def check_domain(
    model: Any,
    data: pd.DataFrame,
    graph: Any,
    checked: Any,
    effects: Any,
    verdicts: Mapping[str, Any],
    *,
    signs: Any = None,
    material_share: float = 0.05,
    ice_rows: int = 200,
    ice_grid: int = 50,
    ice_tolerance: float = 0.01,
    seed: int = 0,
    model_seed: Any = 0,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = None,
) -> DomainCheck:
    """Directions, ICE verification and ``domain`` objects for every model feature.

    Parameters
    ----------
    model : fitted estimator or None
        The user's model; None: the default model :func:`causalinterp.attribute_model`
        fitted and explained (kept, not fitted again).
    data : pandas.DataFrame
        The data passed to ``analyze``.
    graph : CausalGraph
    checked : CheckedData
    effects : Effects
        Significant effects suggest directions where nothing is declared.
    verdicts : mapping feature -> FeatureVerdict
        Their ``share`` decides which attributions are material.
    signs : mapping or str, optional
        Declared signs beyond the graph's (see :func:`~causalinterp.domain.edge_signs`).
    material_share, ice_rows, ice_grid, ice_tolerance, seed, model_seed, n_jobs, backend, progress
        As in :func:`causalinterp.analyze`; ``model_seed`` is the stage seed the default
        model was fitted with.

    Returns
    -------
    DomainCheck

    Examples
    --------
    >>> from causalinterp import analyze  # doctest: +SKIP
    >>> report = analyze(data, "price -> churn [+]", "churn", refute="none")  # doctest: +SKIP
    >>> report.domain.objects["price"]["violation_share"]  # doctest: +SKIP
    0.0
    """
    clock = time.perf_counter()
    features = list(checked.features)
    categorical = [f for f in features if checked.kinds.get(f) == "categorical"]
    try:
        directions = derive_directions(
            graph, checked.outcome, features, signs=signs,
            effects=_effect_intervals(effects, features), categorical=categorical,
        )
    except CausalInterpError as error:
        return DomainCheck(None, None, {}, f"directions not derived: {error}",
                           _lap(clock))
    shares = {f: _share(v) for f, v in verdicts.items()}
    material = [f for f, share in shares.items() if share is not None and share >= material_share]
    unknown = [f for f, share in shares.items() if share is None]
    wanted = {f: d for f, d in directions.expected().items() if d is not None}
    verification, problem = None, None
    if wanted:
        from threadpoolctl import threadpool_limits

        try:
            # One thread: on shared cores histogram boosting's OpenMP pools, started for each
            # small batch of ICE rows (and the refit), cost 10-30x what they save (measured
            # in docs/performance.md). The exact tree check is constrain()'s.
            with threadpool_limits(limits=1):
                fitted, rows = _model_and_rows(model, data, checked, model_seed)
                if fitted is None:
                    problem = rows
                else:
                    verification = verify(
                        fitted, rows, wanted, features=features, ice_rows=ice_rows,
                        ice_grid=ice_grid, ice_tolerance=ice_tolerance, seed=seed_sequence(seed),
                        exact=False, n_jobs=n_jobs,
                        backend=backend, progress=progress,
                    )
        except Exception as error:  # one failing check never takes the report down
            problem = f"the model was not checked ({type(error).__name__}: {error})"
    objects = domain_objects(directions, verification, material=material, unknown=unknown)
    if problem is not None:
        for name in wanted:
            objects[name]["error"] = problem
    return DomainCheck(directions, verification, objects, problem, _lap(clock))


def with_domain_reasons(verdicts: Mapping[str, Any], check: DomainCheck) -> dict[str, Any]:
    """``verdicts`` with one more reason on each feature against its declared direction.

    The verdict itself is unchanged: a violated direction says the model uses a pattern the
    DAG rules out, not that the attribution's causal reading changed.
    """
    out = dict(verdicts)
    for name in check.against_direction:
        verdict, obj = out.get(name), check.objects[name]
        if verdict is None:
            continue
        reason = (
            f"its ICE curves move against the declared direction {obj['direction']} in "
            f"{obj['violation_share']:.0%} of the sampled rows although its attribution is "
            "material: the model uses a pattern the DAG rules out (see docs/domain-logic.md)"
        )
        out[name] = dataclasses.replace(verdict, reasons=(*verdict.reasons, reason))
    return out


def _share(verdict: Any) -> float | None:
    """The verdict's attribution share; None when there is none (its attribution failed):
    the domain object then says materiality is unknown instead of calling it immaterial."""
    share = getattr(verdict, "share", None)
    if share is None or not np.isfinite(share):
        return None
    return float(share)


def _effect_intervals(effects: Any, features: list[str]) -> dict[str, tuple[float, float, float]]:
    found = {}
    for name in features:
        effect = getattr(effects, "by_feature", {}).get(name)
        estimate = getattr(effect, "estimate", None)
        if estimate is None or getattr(effect, "levels", ()):
            continue
        values = (estimate.estimate, estimate.ci_low, estimate.ci_high)
        if all(np.isfinite(v) for v in values):
            found[name] = tuple(float(v) for v in values)
    return found


def _model_and_rows(
    model: Any, data: pd.DataFrame, checked: Any, model_seed: Any
) -> tuple[Any, Any]:
    """The fitted model and the rows to check it on, or (None, why not)."""
    features = list(checked.features)
    if model is not None:
        from causalinterp.attribute import user_model_and_rows

        # As the attribution stage explains it: text columns as their level codes (the
        # model gets its own values back), so that a binary text feature's ICE curve runs
        # from the level coded 0 to the one coded 1, the order its effect is estimated in.
        return user_model_and_rows(model, data, checked)
    from causalinterp.attribute._default_model import fitted_default_model

    # The model attribute_model explained (same seed, same rows), not fitted again; with
    # categorical features it takes their level codes (which have no direction to check).
    return fitted_default_model(checked, model_seed=model_seed), checked.frame[features]


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 3)
