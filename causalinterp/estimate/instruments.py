"""Instruments valid given observed covariates, their first-stage strength, and
weak-instrument-robust (Anderson-Rubin) confidence sets.

Graph criteria (networkx d-separation only, no DoWhy)
-----------------------------------------------------
Conditional instrument (Brito & Pearl 2002; van der Zander, Textor & Liśkiewicz 2015),
adapted to the *total* effect of ``t`` on ``y``: an observed ``z`` with a set ``W`` of
observed covariates such that

1. neither ``z`` nor any member of ``W`` is ``t``, ``y`` or a descendant of ``t`` (so the
   controls never absorb part of the effect);
2. ``z`` and ``t`` are d-connected given ``W`` (relevance);
3. ``z`` and ``y`` are d-separated given ``W`` in the proper back-door graph, i.e. the DAG
   without the first edge of every proper causal path ``t -> ... -> y`` (exclusion and
   independence: every path from ``z`` to ``y`` that does not go through ``t``'s effect is
   blocked by ``W``).

For each candidate ``z`` a separating ``W`` is searched with the ancestral-separator
theorem (van der Zander, Liśkiewicz & Textor 2019): if any separator within the allowed
nodes exists, the allowed ancestors of ``{z, y}`` form one. That set is then pruned to a
minimal one (members that keep condition 3 are dropped in sorted order as long as
relevance holds) and enlarged with observed parents of ``y`` that keep the criterion (they
explain outcome variance). The search is polynomial in the size of the graph.

Conditional front-door (Pearl 2009, sec. 3.3.2, with covariates): the observed mediators
``M`` intercept every directed path ``t -> y``, observed non-descendants ``W`` of ``t``
block the back-door paths ``t <- ... M`` and, together with ``t``, those ``M <- ... y``.

First stage and Anderson-Rubin
------------------------------
Covariates are partialled out by least squares (with an intercept). The first-stage
strength is the heteroskedasticity-robust *effective F* of Montiel Olea & Pflueger (2013);
with one instrument it is the robust first-stage F (the squared robust t-statistic).
Instruments with effective F below :data:`WEAK_F` (10, the Staiger & Stock 1997 rule of
thumb) are called weak; the estimate's interval is then the Anderson & Rubin (1949)
confidence set, found by inverting the AR test analytically. It is valid whatever the
instrument strength and can be unbounded (the whole line or two rays): an honest answer
when the instrument cannot pin the effect down.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import numpy as np
from scipy import stats

from causalinterp.errors import first_line
from causalinterp.graph.structure import proper_backdoor_graph

__all__ = [
    "WEAK_F",
    "ArConfidenceSet",
    "FirstStage",
    "anderson_rubin",
    "conditional_frontdoor",
    "conditional_instruments",
    "first_stage",
    "instrument_reasons",
    "with_first_stage",
]

#: What an estimate's method says when the first-stage diagnostics failed.
UNKNOWN_STRENGTH = (
    "first-stage diagnostics failed: instrument strength unknown, the usual interval "
    "(valid only for strong instruments) is kept"
)
#: Effective first-stage F below which instruments are reported as weak.
WEAK_F = 10.0


# --------------------------------------------------------------------------------------------
# Graph criteria
# --------------------------------------------------------------------------------------------


def _separated(g: nx.DiGraph, a: Iterable[str], b: Iterable[str], given: Iterable[str]) -> bool:
    return nx.is_d_separator(g, set(a), set(b), set(given))


def _is_conditional_instrument(
    g: nx.DiGraph, g_pbd: nx.DiGraph, t: str, y: str, z: str, w: set[str]
) -> bool:
    return _separated(g_pbd, {z}, {y}, w) and not _separated(g, {z}, {t}, w)


def conditional_instruments(
    g: nx.DiGraph, t: str, y: str, observed: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Observed instruments for ``t -> y`` valid given observed covariates, or None.

    Parameters
    ----------
    g : networkx.DiGraph
        The DAG (observed and latent nodes).
    t, y : str
        Treatment and outcome.
    observed : iterable of str
        Nodes present in the data.

    Returns
    -------
    (instruments, conditioning) or None
        The instruments sharing one conditioning set (sorted names), chosen as the largest
        group of candidates valid given a common set; None when no observed node is an
        instrument given any observed set.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("R", "Z"), ("R", "Y"), ("Z", "T"), ("U", "T"), ("U", "Y"), ("T", "Y")])
    >>> conditional_instruments(g, "T", "Y", ["R", "Z", "T", "Y"])
    (('Z',), ('R',))
    """
    obs = set(observed) & set(g.nodes)
    forbidden = nx.descendants(g, t) | {t, y}
    allowed = obs - forbidden
    g_pbd = proper_backdoor_graph(g, t, y)
    y_parents = set(g.predecessors(y)) & allowed
    found: dict[str, set[str]] = {}
    for z in sorted(allowed):
        rest = allowed - {z}
        w = (nx.ancestors(g_pbd, z) | nx.ancestors(g_pbd, y)) & rest
        if not _is_conditional_instrument(g, g_pbd, t, y, z, w):
            continue
        for member in sorted(w):  # prune to a minimal valid set
            smaller = w - {member}
            if _is_conditional_instrument(g, g_pbd, t, y, z, smaller):
                w = smaller
        for member in sorted(y_parents - w - {z}):  # precision: outcome parents that fit
            if _is_conditional_instrument(g, g_pbd, t, y, z, w | {member}):
                w = w | {member}
        found[z] = w
    if not found:
        return None
    # Instruments that are valid given the union of their sets are used together.
    best: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    for z in sorted(found):
        w = set(found[z])
        group = [z]
        for other in sorted(found):
            if other == z:
                continue
            union = (w | found[other]) - {other}
            if all(
                _is_conditional_instrument(g, g_pbd, t, y, member, union - {member})
                for member in [*group, other]
            ) and not (union & set(group)):
                group.append(other)
                w = union
        candidate = (tuple(sorted(group)), tuple(sorted(w)))
        if best is None or len(candidate[0]) > len(best[0]):
            best = candidate
    return best


def conditional_frontdoor(
    g: nx.DiGraph, t: str, y: str, observed: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """A front-door set with observed covariates for ``t -> y``, or None.

    ``M`` (observed) intercepts every directed path from ``t`` to ``y``; observed
    non-descendants ``W`` of ``t`` block every back-door path from ``t`` to ``M``; and
    ``W ∪ {t}`` blocks every back-door path from ``M`` to ``y``. ``M`` is the children of
    ``t`` that are ancestors of ``y`` (all must be observed); ``W`` starts from the allowed
    ancestors and is pruned to a minimal set.

    Returns
    -------
    (mediators, covariates) or None

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("C", "T"), ("C", "M"), ("T", "M"), ("M", "Y"), ("U", "T"), ("U", "Y")])
    >>> conditional_frontdoor(g, "T", "Y", ["C", "T", "M", "Y"])
    (('M',), ('C',))
    """
    obs = set(observed) & set(g.nodes)
    # The children of t on causal paths cut every directed path t -> y (when t -> y is not
    # an edge); the two-stage estimator multiplies t -> M by M -> y, so M is not a chain.
    mediators = set(g.successors(t)) & nx.ancestors(g, y)
    if not mediators or not mediators <= obs or g.has_edge(t, y):
        return None
    allowed = obs - nx.descendants(g, t) - {t, y}

    def valid(w: set[str]) -> bool:
        g_t = g.copy()
        g_t.remove_edges_from([(t, c) for c in g.successors(t)])
        if not _separated(g_t, {t}, mediators, w):
            return False
        g_m = g.copy()
        g_m.remove_edges_from([(m, c) for m in mediators for c in g.successors(m)])
        return _separated(g_m, mediators, {y}, w | {t})

    w = set(allowed) & (
        nx.ancestors(g, t)
        | nx.ancestors(g, y)
        | set().union(*(nx.ancestors(g, m) for m in mediators))
    )
    if not valid(w):
        return None
    for member in sorted(w):
        if valid(w - {member}):
            w = w - {member}
    return tuple(sorted(mediators)), tuple(sorted(w))


# --------------------------------------------------------------------------------------------
# First stage and Anderson-Rubin
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstStage:
    """Strength of the instruments in the first stage (treatment on instruments, given the
    covariates partialled out by least squares).

    Attributes
    ----------
    f_statistic : float
        Heteroskedasticity-robust effective F (Montiel Olea & Pflueger 2013); with one
        instrument, the robust first-stage F.
    n_instruments : int
    threshold : float
        :data:`WEAK_F`.
    weak : bool
        ``f_statistic < threshold``.
    partial_r2 : float
        Share of the treatment's residual variance the instruments explain.
    """

    f_statistic: float
    n_instruments: int
    threshold: float
    weak: bool
    partial_r2: float


@dataclass(frozen=True)
class ArConfidenceSet:
    """The Anderson-Rubin confidence set for the effect.

    Attributes
    ----------
    low, high : float
        Its bounds; ``-inf``/``inf`` when unbounded (for two rays, the hull is the whole
        line and ``shape`` says so).
    shape : {"interval", "two_rays", "whole_line", "empty"}
    p_value_zero : float
        The AR test's p-value of a zero effect.
    level : float
        Coverage level (0.95).
    """

    low: float
    high: float
    shape: str
    p_value_zero: float
    level: float = 0.95


def _residualise(a: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """``a`` minus its least-squares projection on ``[1, w]``."""
    n = a.shape[0]
    design = np.ones((n, 1)) if w is None else np.column_stack([np.ones(n), w])
    coef, *_ = np.linalg.lstsq(design, a, rcond=None)
    return a - design @ coef


def _prepare(
    t: np.ndarray, z: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, int]:
    t = np.asarray(t, dtype=float).ravel()
    z = np.asarray(z, dtype=float)
    z = z[:, None] if z.ndim == 1 else z
    w = None if w is None else np.asarray(w, dtype=float)
    if w is not None and w.ndim == 1:
        w = w[:, None]
    p = 1 + (0 if w is None else w.shape[1])
    return _residualise(t, w), _residualise(z, w), p


def first_stage(t: np.ndarray, z: np.ndarray, w: np.ndarray | None = None) -> FirstStage:
    """First-stage strength of instruments ``z`` for treatment ``t`` given covariates ``w``.

    Parameters
    ----------
    t : numpy.ndarray
        Treatment, shape (n,).
    z : numpy.ndarray
        Instruments, shape (n,) or (n, k).
    w : numpy.ndarray or None
        Covariates partialled out (an intercept always is).

    Returns
    -------
    FirstStage

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=2000)
    >>> t = 0.05 * z + rng.normal(size=2000)
    >>> fs = first_stage(t, z)
    >>> fs.weak, fs.n_instruments
    (True, 1)
    """
    t_r, z_r, p = _prepare(t, z, w)
    n, k = z_r.shape
    zz = z_r.T @ z_r
    pi, *_ = np.linalg.lstsq(z_r, t_r, rcond=None)
    resid = t_r - z_r @ pi
    bread = np.linalg.pinv(zz)
    meat = (z_r * resid[:, None]).T @ (z_r * resid[:, None])
    dof = max(n - k - p, 1)
    v = bread @ meat @ bread * n / dof  # HC1 covariance of pi
    denom = float(np.trace(v @ zz))
    f_eff = float(pi @ zz @ pi) / denom if denom > 0 else math.inf
    total = float(t_r @ t_r)
    r2 = 1.0 - float(resid @ resid) / total if total > 0 else 0.0
    return FirstStage(
        f_statistic=f_eff,
        n_instruments=int(k),
        threshold=WEAK_F,
        weak=bool(f_eff < WEAK_F),
        partial_r2=float(max(r2, 0.0)),
    )


def anderson_rubin(
    y: np.ndarray,
    t: np.ndarray,
    z: np.ndarray,
    w: np.ndarray | None = None,
    *,
    level: float = 0.95,
) -> ArConfidenceSet:
    """The Anderson-Rubin confidence set for the effect of ``t`` on ``y`` with instruments
    ``z`` given covariates ``w`` (linear, homoskedastic AR test, inverted exactly).

    The set is ``{b : AR(b) <= F_crit}`` with ``AR(b)`` the F-statistic of the instruments
    in the regression of ``y - b t`` on them (covariates partialled out); ``AR(b) <= c`` is a
    quadratic inequality in ``b``, so the set is an interval, two rays, the whole line or
    (rarely, with several instruments) empty.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> z = rng.normal(size=3000)
    >>> u = rng.normal(size=3000)
    >>> t = z + u + rng.normal(size=3000)
    >>> y = 2.0 * t + u + rng.normal(size=3000)
    >>> ar = anderson_rubin(y, t, z)
    >>> ar.shape, ar.low < 2.0 < ar.high
    ('interval', True)
    """
    t_r, z_r, p = _prepare(t, z, w)
    y_r = _residualise(np.asarray(y, dtype=float).ravel(), w)
    n, k = z_r.shape
    dof = n - k - p
    if dof < 1:
        return ArConfidenceSet(-math.inf, math.inf, "whole_line", 1.0, level)
    crit = float(stats.f.ppf(level, k, dof))

    def pz(a: np.ndarray) -> np.ndarray:
        coef, *_ = np.linalg.lstsq(z_r, a, rcond=None)
        return z_r @ coef

    py, pt = pz(y_r), pz(t_r)

    # e'A e <= 0 with A = P/k - crit (I - P)/dof and e = y - b t.
    def form(a: np.ndarray, pa: np.ndarray, b: np.ndarray, pb: np.ndarray) -> float:
        inside = float(a @ pb)
        outside = float(a @ b) - inside
        return inside / k - crit * outside / dof

    qa = form(t_r, pt, t_r, pt)
    qb = -2.0 * form(y_r, py, t_r, pt)
    qc = form(y_r, py, y_r, py)
    ar0 = (float(y_r @ py) / k) / max((float(y_r @ y_r) - float(y_r @ py)) / dof, 1e-300)
    p0 = float(stats.f.sf(ar0, k, dof))
    disc = qb * qb - 4.0 * qa * qc
    if qa > 0:
        if disc < 0:
            return ArConfidenceSet(math.nan, math.nan, "empty", p0, level)
        root = math.sqrt(disc)
        lo, hi = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
        return ArConfidenceSet(lo, hi, "interval", p0, level)
    if disc < 0 or qa == 0:
        return ArConfidenceSet(-math.inf, math.inf, "whole_line", p0, level)
    return ArConfidenceSet(-math.inf, math.inf, "two_rays", p0, level)


def with_first_stage(
    estimate: Any, y: np.ndarray, t: np.ndarray, z: np.ndarray, w: np.ndarray | None
) -> Any:
    """``estimate`` (an :class:`~causalinterp.estimate._econml.EffectEstimate`) with its
    first stage attached; when the instruments are weak, its interval and p-value replaced
    by the Anderson-Rubin ones (bounds may be infinite) and its method saying so.

    A failure of the diagnostics never costs the estimate, but it is never silent either: the
    estimate keeps its usual (Wald) interval, and its method says that the instruments'
    strength is unknown and why (:func:`instrument_reasons` repeats it among the reasons).
    """
    try:
        fs = first_stage(t, z, w)
        if not fs.weak:
            return replace(estimate, first_stage=fs)
        ar = anderson_rubin(y, t, z, w)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        return replace(
            estimate,
            method=estimate.method + f"; {UNKNOWN_STRENGTH} ({first_line(error)})",
        )
    note = (
        f"; weak instruments (effective F {fs.f_statistic:.3g} < {fs.threshold:g}): "
        f"Anderson-Rubin 95% confidence set ({ar.shape.replace('_', ' ')})"
    )
    # An empty set (instruments that disagree) supports no effect either: no bounds at all.
    low, high = (-math.inf, math.inf) if ar.shape == "empty" else (ar.low, ar.high)
    return replace(
        estimate,
        ci_low=low,
        ci_high=high,
        p_value=ar.p_value_zero,
        method=estimate.method + note,
        first_stage=fs,
        anderson_rubin=ar,
    )


def instrument_reasons(effect: Any) -> list[str]:
    """Verdict reasons about an IV or front-door design (its assumptions, weak instruments).

    ``effect`` is a :class:`~causalinterp.estimate.FeatureEffect`; back-door and
    unestimated effects get none, so their reasons are unchanged.
    """
    ident = effect.identification
    if ident.strategy not in ("iv", "frontdoor") or effect.estimate is None:
        return []
    reasons = [ident.assumptions] if ident.assumptions else []
    fs = getattr(effect.estimate, "first_stage", None)
    method = str(getattr(effect.estimate, "method", ""))
    if fs is None and UNKNOWN_STRENGTH in method:
        reasons.append(
            f"instrument(s) {', '.join(ident.instruments)}: "
            + method[method.index(UNKNOWN_STRENGTH):]
            + "; if they are weak the interval is too narrow"
        )
    if fs is not None and fs.weak:
        ar = effect.estimate.anderson_rubin
        unbounded = ar is not None and ar.shape != "interval"
        reasons.append(
            f"weak instrument(s) {', '.join(ident.instruments)}: first-stage effective F "
            f"{fs.f_statistic:.3g} is below {fs.threshold:g}, so the usual interval is too "
            "narrow; the 95% interval is the Anderson-Rubin set, valid at any instrument "
            "strength"
            + (" (unbounded: the data cannot pin the effect down)" if unbounded else "")
        )
    return reasons
