"""Overlap and positivity: can the data compare treated and untreated units like for like?

An adjusted effect compares units that differ in the treatment but share their controls. When
the controls all but determine the treatment, there is nobody to compare with, and the
estimate rests on extrapolation by the nuisance models (or, clipped, on a handful of rows).
This module checks every back-door estimate for that, from the very fit that made it:

binary treatment
    The cross-fitted propensity ``p = P(t = 1 | controls)`` of the doubly robust fit, by arm:
    its histogram and quantiles, the share of rows at or beyond the positivity bounds
    :data:`BOUNDS` (the bounds the fit clips to), and the effective sample size of each arm
    under the estimand's weights (Kish: ``(sum w)^2 / sum w^2``). Overlap fails when more than
    :data:`MAX_SHARE_OUTSIDE` of the rows the estimand needs are beyond the bounds: for the
    ATE, any row; for the ATT, treated rows with ``p >= 0.99`` (no comparable controls); for
    the ATC, control rows with ``p <= 0.01``.
continuous treatment
    The share of the treatment's variance left after its adjustment set,
    ``var(t - E[t | w]) / var(t)`` from the fit's cross-fitted residuals. Below
    :data:`MIN_VARIANCE_SHARE` the treatment is (nearly) a deterministic function of its
    controls; the controls whose rank correlation with it is at least
    :data:`DETERMINES` are named.
categorical treatment
    Each level against the reference level, as a binary treatment on those rows (a
    cross-fitted propensity of the nuisance classifier).
deterministic binary treatment
    Before any of that: is the treatment (almost) a function of its controls? A cut-off on
    one control (a score) that sorts at least :data:`DETERMINED` of the treated rows to one
    side and of the untreated rows to the other (:func:`threshold_rule`) is a sharp
    regression-discontinuity design, not a back-door one; so is, jointly, a cross-fitted
    propensity at the bounds for at least :data:`DETERMINED` of the rows. Overlap then fails
    whatever the share outside, and the reason names the rule and recommends the design the
    data support (the effect at the cut-off), with no trimmed estimate (the rows a trimming
    keeps are the few the rule misclassifies or the nuisance model blurs) and no advice to
    drop the score, which is the confounder.

A failed check gives the feature the verdict ``limited_overlap`` (``causal_support`` null),
whose reason names the problem and the fixes: the trimmed population of Crump, Hotz, Imbens
& Mitnik (2009) (rows with ``0.1 <= p <= 0.9``, :data:`TRIM_BOUNDS`) with its estimate when
it keeps at least :data:`MIN_TRIMMED_ARM` rows per arm, the ATT (``estimand="att"``) with
its estimate when the treated rows overlap, or (continuous treatments) dropping a redundant
control; a decided treatment gets its rule and design instead. Effects identified by
instruments or a front door are not checked here (their overlap concerns the instrument or
the mediators); the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from causalinterp.estimate.determined import (
    _AT,
    BOUNDS,
    DETERMINED,
    Determination,
    _determination,
    _determined_problem,
    threshold_rule,
)
from causalinterp.estimate.estimands import (
    PopulationEstimate,
    population_estimate,
)

if TYPE_CHECKING:
    from causalinterp.data import CheckedData
    from causalinterp.estimate.effects import FeatureEffect

__all__ = [
    "BOUNDS",
    "DETERMINED",
    "DETERMINES",
    "MAX_SHARE_OUTSIDE",
    "MIN_TRIMMED_ARM",
    "MIN_VARIANCE_SHARE",
    "TRIM_BOUNDS",
    "Determination",
    "Overlap",
    "diagnose_overlap",
    "overlap_action",
    "overlap_problem",
    "threshold_rule",
]

#: Crump et al. (2009)'s rule of thumb: keep rows with a propensity in [0.1, 0.9].
TRIM_BOUNDS = (0.1, 0.9)
#: Overlap fails when more than this share of the rows the estimand needs are beyond BOUNDS.
MAX_SHARE_OUTSIDE = 0.10
#: A continuous treatment with less than this share of its variance left after its
#: adjustment set is (nearly) a deterministic function of the controls.
MIN_VARIANCE_SHARE = 0.01
#: A control whose absolute Spearman correlation with the treatment reaches this value is
#: named as (nearly) determining it.
DETERMINES = 0.99
#: A trimmed estimate needs at least this many rows in each arm of the trimmed population
#: (fewer: the reason says how few there are instead of quoting an estimate from them).
MIN_TRIMMED_ARM = 20
#: Histogram bins of the propensity (20 bins of width 0.05 on [0, 1]).
EDGES = tuple(round(i * 0.05, 2) for i in range(21))


@dataclass(frozen=True)
class Overlap:
    """The overlap diagnosis of one feature (or one level of a categorical feature).

    Attributes
    ----------
    feature : str
        The feature (``"region=north"`` for a level of a categorical one).
    kind : str
        ``"binary"``, ``"continuous"``, ``"categorical"`` or ``"not_checked"``.
    estimand : str
        The estimand checked (``"ate"`` for continuous and categorical treatments).
    ok : bool or None
        False when overlap fails (see the module docstring); None when not checked.
    problem : str
        The failure in one sentence naming the problem and the fix ("" when ``ok``), or why
        nothing was checked.
    n_treated, n_control : int
        Rows per arm (binary), or 0.
    share_outside : float
        Share of the rows the estimand needs whose propensity is at or beyond :data:`BOUNDS`.
    share_outside_treated, share_outside_control : float
        Share of treated rows with ``p >= 0.99`` and of control rows with ``p <= 0.01``.
    ess_treated, ess_control : float
        Kish effective sample size of each arm under the estimand's weights.
    quantiles : Mapping[str, tuple of float]
        Per arm (``"treated"``, ``"control"``): the propensity's 0, 5, 25, 50, 75, 95 and
        100th percentiles.
    histogram : Mapping[str, tuple of int]
        Per arm: counts of the propensity in the bins :data:`EDGES`.
    variance_share : float
        Continuous treatments: share of the variance left after the adjustment set.
    explained_by : tuple of str
        Continuous treatments: controls that (nearly) determine the treatment.
    trimmed : PopulationEstimate or None
        The effect on the Crump et al. trimmed population (rows with 0.1 <= p <= 0.9).
    alternative : PopulationEstimate or None
        When the ATE fails and the treated rows overlap: the ATT from the same fit.
    levels : tuple of Overlap
        Categorical treatments: one diagnosis per level against the reference.
    determined : Determination or None
        Binary treatments (and levels): the rule of the controls that (almost) decides the
        treatment, if any; overlap then fails and nothing is trimmed.
    propensity : numpy.ndarray or None
        The propensities themselves (for the plot; not part of the report).
    treatment : numpy.ndarray or None
        The 0/1 treatment aligned with ``propensity``.
    """

    feature: str
    kind: str
    estimand: str = "ate"
    ok: bool | None = None
    problem: str = ""
    n_treated: int = 0
    n_control: int = 0
    share_outside: float = math.nan
    share_outside_treated: float = math.nan
    share_outside_control: float = math.nan
    ess_treated: float = math.nan
    ess_control: float = math.nan
    quantiles: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    histogram: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    variance_share: float = math.nan
    explained_by: tuple[str, ...] = ()
    trimmed: PopulationEstimate | None = None
    alternative: PopulationEstimate | None = None
    levels: tuple[Overlap, ...] = ()
    determined: Determination | None = None
    propensity: np.ndarray | None = field(default=None, repr=False, compare=False)
    treatment: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis as ``report.json`` data (``features[].overlap``)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "estimand": self.estimand,
            "ok": self.ok,
            "problem": self.problem or None,
        }
        if self.kind == "binary":
            out.update(
                bounds=list(BOUNDS),
                n_treated=self.n_treated,
                n_control=self.n_control,
                share_outside=self.share_outside,
                share_outside_treated=self.share_outside_treated,
                share_outside_control=self.share_outside_control,
                ess_treated=self.ess_treated,
                ess_control=self.ess_control,
                propensity_quantiles={k: list(v) for k, v in self.quantiles.items()},
                propensity_histogram={
                    "edges": list(EDGES),
                    **{k: list(v) for k, v in self.histogram.items()},
                },
                trimmed=_estimate_dict(self.trimmed, TRIM_BOUNDS),
                alternative=_estimate_dict(self.alternative),
                determined=None if self.determined is None else self.determined.to_dict(),
            )
        elif self.kind == "continuous":
            out.update(
                variance_share=self.variance_share,
                min_variance_share=MIN_VARIANCE_SHARE,
                explained_by=list(self.explained_by),
            )
        elif self.kind == "categorical":
            out["levels"] = [{"level": lv.feature, **lv.to_dict()} for lv in self.levels]
        return out


def _estimate_dict(
    e: PopulationEstimate | None, bounds: tuple[float, float] | None = None
) -> dict[str, Any] | None:
    if e is None:
        return None
    out = {
        "estimand": e.estimand,
        "estimate": e.estimate,
        "stderr": e.stderr,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "p_value": e.p_value,
        "n_rows": e.n_rows,
        "population": e.population,
    }
    if bounds is not None:
        out["bounds"] = list(bounds)
    return out


def _ess(weights: np.ndarray) -> float:
    total = float(weights.sum())
    return total * total / float(np.sum(weights * weights)) if total > 0 else 0.0


def _quantiles(p: np.ndarray) -> tuple[float, ...]:
    if p.size == 0:
        return ()
    return tuple(float(q) for q in np.quantile(p, [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]))


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%" if share >= 0.01 or share == 0 else f"{100 * share:.1g}%"


def binary_overlap(
    feature: str,
    t: np.ndarray,
    propensity: np.ndarray,
    *,
    estimand: str = "ate",
    y: np.ndarray | None = None,
    y0: np.ndarray | None = None,
    y1: np.ndarray | None = None,
    controls: pd.DataFrame | None = None,
) -> Overlap:
    """Overlap of a binary treatment from its propensities (see the module docstring).

    Parameters
    ----------
    feature : str
    t : numpy.ndarray
        The 0/1 treatment.
    propensity : numpy.ndarray
        Cross-fitted P(t = 1 | controls), clipped or not.
    estimand : {"ate", "att", "atc"}, default "ate"
    y, y0, y1 : numpy.ndarray, optional
        The outcome and the fit's outcome predictions; with them, a failed diagnosis carries
        the trimmed-population estimate and (for the ATE) the ATT.
    controls : pandas.DataFrame, optional
        The numeric controls of the adjustment set, rows aligned with ``t``: a cut-off on one
        of them that decides the treatment is named (:func:`threshold_rule`).

    Returns
    -------
    Overlap

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1, 0, 0, 0] * 25)
    >>> p = np.array([0.5, 0.5, 0.005, 0.005] * 25)
    >>> o = binary_overlap("x", t, p)
    >>> o.ok, round(o.share_outside, 2)
    (False, 0.5)
    """
    t = np.asarray(t, dtype=float)
    p = np.asarray(propensity, dtype=float)
    low, high = BOUNDS
    treated, control = t == 1, t == 0
    hi, lo = p >= high - _AT, p <= low + _AT
    n1, n0 = int(treated.sum()), int(control.sum())
    out_t = float(hi[treated].mean()) if n1 else math.nan
    out_c = float(lo[control].mean()) if n0 else math.nan
    pc = np.clip(p, low, high)  # the weights the fit used
    if estimand == "att":
        share = out_t
        ess1, ess0 = float(n1), _ess((pc / (1 - pc))[control])
    elif estimand == "atc":
        share = out_c
        ess1, ess0 = _ess(((1 - pc) / pc)[treated]), float(n0)
    else:
        share = float((hi | lo).mean())
        ess1, ess0 = _ess(1 / pc[treated]), _ess(1 / (1 - pc[control]))
    determined = _determination(t, p, controls)
    ok = not (share > MAX_SHARE_OUTSIDE) and determined is None
    bins = np.asarray(EDGES)
    histogram = {
        "treated": tuple(int(c) for c in np.histogram(p[treated], bins=bins)[0]),
        "control": tuple(int(c) for c in np.histogram(p[control], bins=bins)[0]),
    }
    trimmed = alternative = None
    problem = ""
    if determined is not None:
        # Nothing to trim to or reweight: the rows a trimming keeps are the few the rule
        # misclassifies, and the design the data support is the discontinuity.
        problem = _determined_problem(feature, determined)
    elif not ok:
        can_estimate = y is not None and y0 is not None and y1 is not None
        if can_estimate:
            trimmed = _trimmed(y, t, y0, y1, pc)
            if estimand == "ate" and out_t <= MAX_SHARE_OUTSIDE and n1 > 1:
                alternative = population_estimate(y, t, y0, y1, pc, estimand="att")
        problem = _binary_problem(
            feature, estimand, share, out_t, out_c, n1, n0, trimmed, alternative, pc, t
        )
    return Overlap(
        feature=feature,
        kind="binary",
        estimand=estimand,
        ok=ok,
        problem=problem,
        n_treated=n1,
        n_control=n0,
        share_outside=share,
        share_outside_treated=out_t,
        share_outside_control=out_c,
        ess_treated=ess1,
        ess_control=ess0,
        quantiles={"treated": _quantiles(p[treated]), "control": _quantiles(p[control])},
        histogram=histogram,
        trimmed=trimmed,
        alternative=alternative,
        determined=determined,
        propensity=p,
        treatment=t,
    )


def _trimmed_arms(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The rows with 0.1 <= p <= 0.9 and the treated and untreated rows among them."""
    keep = (p >= TRIM_BOUNDS[0]) & (p <= TRIM_BOUNDS[1])
    n1 = int(t[keep].sum())
    return keep, n1, int(keep.sum()) - n1


def _trimmed(y, t, y0, y1, p) -> PopulationEstimate | None:
    """The ATE on the rows with 0.1 <= p <= 0.9 (Crump et al. 2009), or None when an arm
    keeps fewer than :data:`MIN_TRIMMED_ARM` rows (an estimate from a handful of rows)."""
    keep, n1, n0 = _trimmed_arms(t, p)
    if min(n1, n0) < MIN_TRIMMED_ARM:
        return None
    e = population_estimate(y[keep], t[keep], y0[keep], y1[keep], p[keep], estimand="ate")
    n1 = int(t[keep].sum())
    population = (
        f"the {int(keep.sum())} rows with a propensity in [{TRIM_BOUNDS[0]:g}, "
        f"{TRIM_BOUNDS[1]:g}] ({n1} treated, {int(keep.sum()) - n1} controls)"
    )
    return PopulationEstimate(**{**e.__dict__, "population": population})


def _interval(e: PopulationEstimate) -> str:
    return f"{e.estimate:.4g} (95% CI {e.ci_low:.4g} to {e.ci_high:.4g})"


def _binary_problem(
    feature, estimand, share, out_t, out_c, n1, n0, trimmed, alternative, p, t
) -> str:
    low, high = BOUNDS
    if estimand == "att":
        what = (
            f"{_pct(out_t)} of the {n1} treated rows have a propensity of at least {high:g}: "
            "no untreated row is comparable to them"
        )
    elif estimand == "atc":
        what = (
            f"{_pct(out_c)} of the {n0} untreated rows have a propensity of at most {low:g}: "
            "no treated row is comparable to them"
        )
    else:
        what = (
            f"{_pct(share)} of the rows have a propensity outside [{low:g}, {high:g}] "
            f"({_pct(out_t)} of {n1} treated, {_pct(out_c)} of {n0} untreated): the average "
            "effect over all rows rests on extrapolation"
        )
    fixes = []
    if trimmed is not None:
        fixes.append(
            f"trimming to a propensity in [{TRIM_BOUNDS[0]:g}, {TRIM_BOUNDS[1]:g}] "
            f"(Crump et al. 2009) leaves {trimmed.population}, effect {_interval(trimmed)}"
        )
    else:
        _, k1, k0 = _trimmed_arms(t, p)
        if min(k1, k0) < MIN_TRIMMED_ARM:
            fixes = []  # too few rows to trim to: say so, with no estimate from them
            what += (
                f"; trimming to a propensity in [{TRIM_BOUNDS[0]:g}, {TRIM_BOUNDS[1]:g}] "
                f"(Crump et al. 2009) would keep {k1} treated and {k0} untreated rows, too few "
                "for an estimate"
            )
        else:
            fixes.append(
                f"trim to the rows with a propensity in [{TRIM_BOUNDS[0]:g}, "
                f"{TRIM_BOUNDS[1]:g}] (Crump et al. 2009)"
            )
    if alternative is not None:
        fixes.append(f"estimand='att' (the treated rows overlap) gives {_interval(alternative)}")
    elif estimand == "ate":
        # Not "drop the control that decides it": that control is a confounder, and a
        # control the treatment merely copies is named by the determination above.
        fixes.append("estimand='att' or 'atc' if one arm overlaps")
    return f"overlap of {feature!r} fails: {what}" + "".join(
        f"; {'or ' if i else ''}{fix}" for i, fix in enumerate(fixes)
    )


def continuous_overlap(
    feature: str,
    t: np.ndarray,
    t_res: np.ndarray,
    controls: pd.DataFrame | None,
) -> Overlap:
    """Overlap of a continuous treatment: the share of its variance its controls leave.

    Parameters
    ----------
    feature : str
    t, t_res : numpy.ndarray
        The treatment and its cross-fitted residual ``t - E[t | w]``.
    controls : pandas.DataFrame or None
        The adjustment set's columns (to name the controls that determine ``t``).

    Returns
    -------
    Overlap

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = np.linspace(1, 10, 200)
    >>> o = continuous_overlap("exper", x, x * 1e-3, pd.DataFrame({"exper2": x ** 2}))
    >>> o.ok, o.explained_by
    (False, ('exper2',))
    """
    t = np.asarray(t, dtype=float)
    t_res = np.asarray(t_res, dtype=float)
    total = float(np.var(t))
    share = float(np.var(t_res) / total) if total > 0 else math.nan
    ok = not (share < MIN_VARIANCE_SHARE)
    named: tuple[str, ...] = ()
    problem = ""
    if not ok:
        named = _determining(t, controls)
        by = f"by {', '.join(map(repr, named))}" if named else "jointly by its adjustment set"
        problem = (
            f"overlap of {feature!r} fails: its adjustment set leaves {_pct(share)} of its "
            f"variance (under {_pct(MIN_VARIANCE_SHARE)}), so it is (nearly) determined {by} "
            "and its effect holding them fixed is not defined by the data; drop the redundant "
            f"control(s) from the graph (e.g. a transformation of {feature!r} belongs in the "
            "model, not in the DAG as a separate cause)"
        )
    return Overlap(
        feature=feature,
        kind="continuous",
        ok=ok,
        problem=problem,
        variance_share=share,
        explained_by=named,
    )


def _determining(t: np.ndarray, controls: pd.DataFrame | None) -> tuple[str, ...]:
    if controls is None or controls.empty:
        return ()
    ranks = pd.Series(t).rank().to_numpy()
    named = []
    for name in controls.columns:
        c = pd.Series(controls[name].to_numpy(dtype=float)).rank().to_numpy()
        if np.std(c) == 0 or np.std(ranks) == 0:
            continue
        if abs(float(np.corrcoef(ranks, c)[0, 1])) >= DETERMINES:
            named.append(str(name))
    return tuple(named)


def _level_propensity(
    t: np.ndarray, w: np.ndarray | None, *, seed: int, n_folds: int, nuisance: Any
) -> np.ndarray:
    """Cross-fitted P(t = 1 | w) by the nuisance classifier (unclipped)."""
    from sklearn.model_selection import StratifiedKFold

    from causalinterp.estimate._learners import make_classifier

    if w is None or w.shape[1] == 0:
        return np.full(len(t), float(t.mean()))
    p = np.empty(len(t))
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed % (2**31))
    for train, test in folds.split(w, t):
        model = make_classifier(nuisance, seed)
        model.fit(w[train], t[train])
        p[test] = model.predict_proba(w[test])[:, 1]
    return p


def diagnose_overlap(
    effect: FeatureEffect,
    checked: CheckedData,
    nuisances: Any = None,
    *,
    estimand: str = "ate",
    seed: int = 0,
    n_folds: int = 3,
    nuisance: Any = "auto",
) -> Overlap:
    """The overlap diagnosis of one estimated feature (see the module docstring).

    Parameters
    ----------
    effect : FeatureEffect
        An estimated feature.
    checked : CheckedData
        The data the effect was estimated on (same rows as ``nuisances``).
    nuisances : BackdoorNuisances, optional
        The back-door fit's cross-fitted nuisances (binary: propensities; continuous:
        residuals). Categorical treatments fit one propensity per level here.
    estimand : {"ate", "att", "atc"}, default "ate"
        The binary treatment's estimand (continuous and categorical ones: ``"ate"``).
    seed, n_folds, nuisance
        For the categorical levels' propensity fits.

    Returns
    -------
    Overlap
        ``kind="not_checked"`` for front-door and instrument estimates.

    Examples
    --------
    >>> from causalinterp.data import check_data
    >>> from causalinterp.estimate import estimate_effects
    >>> from causalinterp.simulators import retention_model
    >>> sim = retention_model()
    >>> data = sim.sample(1000, seed=0)
    >>> checked = check_data(data, sim.graph, "churned", features=["tenure_years"])
    >>> effects = estimate_effects(checked, sim.graph, seed=0, nuisance="linear")
    >>> effect = effects.by_feature["tenure_years"]
    >>> o = diagnose_overlap(effect, checked, effects.nuisances["tenure_years"])
    >>> print(o.kind, o.ok)
    continuous True
    """
    try:
        return _diagnose(effect, checked, nuisances, estimand, seed, n_folds, nuisance)
    except Exception as exc:  # a failed diagnosis must not take the report down
        text = " ".join(str(exc).split()) or type(exc).__name__
        return Overlap(effect.feature, "not_checked", problem=f"overlap not checked: {text}")


def _diagnose(effect, checked, nuisances, estimand, seed, n_folds, nuisance) -> Overlap:
    from causalinterp.estimate._econml import BackdoorResiduals, DoublyRobustNuisances

    feature = effect.feature
    strategy = str(effect.identification.strategy)
    if strategy != "backdoor":
        return Overlap(
            feature=feature,
            kind="not_checked",
            problem=(
                f"overlap is checked for back-door adjustment; this {strategy} estimate's "
                "support is that of its instrument or mediators"
            ),
        )
    kind = checked.kinds.get(feature, "continuous")
    adjustment = list(effect.identification.adjustment_set)
    # Numeric controls only: a cut-off on a categorical control's codes means nothing.
    numeric = [c for c in adjustment if checked.kinds.get(c) != "categorical"]
    if isinstance(nuisances, DoublyRobustNuisances):
        controls = checked.frame[numeric] if numeric else None
        if controls is not None and len(controls) != len(nuisances.t):
            controls = None
        return binary_overlap(
            feature,
            nuisances.t,
            nuisances.propensity,
            estimand=estimand,
            y=nuisances.y,
            y0=nuisances.y0,
            y1=nuisances.y1,
            controls=controls,
        )
    if isinstance(nuisances, BackdoorResiduals):
        t = checked.frame[feature].to_numpy(dtype=float)
        controls = checked.frame[adjustment] if adjustment else None
        return continuous_overlap(feature, t, nuisances.t_res, controls)
    if kind == "categorical":
        labels, reference = checked.level_codes(feature)
        codes = checked.frame[feature].to_numpy()
        w = checked.design(adjustment) if adjustment else None
        levels = []
        for code, label in enumerate(labels):
            if code == reference:
                continue
            rows = (codes == code) | (codes == reference)
            t = (codes[rows] == code).astype(float)
            name = f"{feature}={label}"
            try:
                p = _level_propensity(
                    t, None if w is None else w[rows], seed=seed, n_folds=n_folds, nuisance=nuisance
                )
            except Exception as exc:  # one level's failure must not take the others down
                levels.append(Overlap(name, "not_checked", problem=f"not checked: {exc}"))
                continue
            controls = checked.frame.loc[rows, numeric] if numeric else None
            levels.append(binary_overlap(name, t, p, controls=controls))
        failed = [lv for lv in levels if lv.ok is False]
        problem = ""
        if failed:
            problem = (
                f"overlap of {feature!r} fails at level(s) "
                f"{', '.join(repr(lv.feature.split('=', 1)[1]) for lv in failed)} against the "
                f"reference {labels[reference]!r}: "
                # A decided level keeps its whole sentence: the rule is its cause.
                + "; ".join(
                    lv.problem if lv.determined else lv.problem.split(": ", 1)[1] for lv in failed
                )
            )
        return Overlap(feature, "categorical", ok=not failed, problem=problem, levels=tuple(levels))
    return Overlap(feature, "not_checked", problem="no nuisances were kept for this feature")


def overlap_problem(overlap: Mapping[str, Overlap], feature: str) -> str:
    """The failure sentence of ``feature``'s overlap, or ``""`` when it passes or was not
    checked; the judge gives a feature with a sentence the verdict ``limited_overlap``.

    Examples
    --------
    >>> overlap_problem({}, "x")
    ''
    """
    found = overlap.get(feature)
    return found.problem if found is not None and found.ok is False else ""


def overlap_action(overlap: Mapping[str, Overlap], feature: str) -> tuple[str, str] | None:
    """The reason summary and action of a feature whose treatment its controls decide, or
    None (the verdict's own advice then stands).

    A decided treatment needs other advice than trimming, another estimand or dropping a
    control: the rule is the cause, and the score is the confounder to keep.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> score = np.linspace(-1, 1, 200)
    >>> t = (score < 0).astype(float)
    >>> o = binary_overlap("t", t, np.clip(t, 0.01, 0.99), controls=pd.DataFrame({"s": score}))
    >>> overlap_action({"t": o}, "t")[0]
    'treatment decided by s < 0 (regression discontinuity)'
    """
    found = overlap.get(feature)
    if found is None or found.ok is not False:
        return None
    decided = found.determined or next(
        (lv.determined for lv in found.levels if lv.determined), None
    )
    if decided is None:
        return None
    if decided.method == "propensity":
        return (
            "treatment decided by its controls jointly (no overlap)",
            f"Do not act on {feature} on this estimate: its controls decide it; find the rule "
            "that assigns it (a cut-off on a score supports a regression-discontinuity design).",
        )
    if decided.design == "regression_discontinuity":
        return (
            f"treatment decided by {decided.rule} (regression discontinuity)",
            f"Do not act on {feature} on this estimate: {decided.rule} decides it; estimate its "
            f"effect at the cut-off by regression discontinuity, keeping {decided.by[0]} in "
            "the analysis.",
        )
    return (
        f"treatment decided by {decided.rule} (a coarsening of {decided.by[0]})",
        f"Do not act on {feature} on this estimate: it is a coarsening of {decided.by[0]}, "
        "and the data cannot separate their effects.",
    )
