"""Comparing the shape of the causal dose-response curve with the model's dependence.

The model's curve is its partial dependence (brute force, as
``sklearn.inspection.partial_dependence(method="brute")``, on a seeded sample of rows) or,
without a model to call, its kernel-smoothed SHAP dependence. The comparison works on the
changes of both curves over windows spanning :data:`WINDOW_SHARE` of the range, against the
causal changes' simultaneous band (see ``docs/curves.md``); the kind of disagreement
(threshold, saturation, sign change) comes from one-break piecewise-linear fits of both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ShapeFinding", "compare_shapes", "hinge", "partial_dependence", "shap_dependence"]

#: Windows compared for shape span this share of the range.
WINDOW_SHARE = 0.2
#: A shape disagreement is reported when its windows cover at least this share of the range.
MATERIAL_RANGE = 0.25
#: A window's difference must also reach this share of the larger curve's range (materiality:
#: with many rows the intervals are narrow enough to flag negligible wiggles).
MATERIAL_CHANGE = 0.1
#: A piece of a piecewise-linear fit is "flat" when its slope is below this share of the other's;
#: a claimed flat stretch must change by less than this share of the other curve's change.
FLAT_RATIO = 0.3
#: A claimed flat stretch spans at least this share of the range.
MIN_FLAT_SHARE = 0.1
#: Rows of the partial-dependence average (a seeded sample when there are more).
PD_ROWS = 500


@dataclass(frozen=True)
class ShapeFinding:
    """Where and how the model's dependence disagrees in shape with the causal curve.

    Attributes
    ----------
    kind : {"threshold", "saturation", "sign_change", "shape"}
        ``threshold``: one curve is flat below ``at`` and the other is not; ``saturation``:
        one curve is flat above ``at`` and the other is not; ``sign_change``: over
        ``x_low`` to ``x_high`` one rises where the other falls; ``shape``: none of these.
    flat : {"model", "causal"} or None
        Which curve has the flat part (threshold and saturation).
    x_low, x_high : float
        The stretch the sentence speaks of (grid points): the flat stretch of a threshold or
        saturation, the stretch where the curves move in opposite directions, or (``shape``)
        the window where they differ most.
    share : float
        Share of the range (1st to 99th percentile) over which they disagree.
    at : float
        The break of the piecewise-linear fit of the flat curve (NaN for the other kinds).
    causal_change, model_change : float
        Change of each curve from ``x_low`` to ``x_high`` (the numbers the sentence prints).
    sentence : str
        The finding in words (also the verdict's reason).
    causal_change_se : float
        Standard error of ``causal_change`` (from the curve's influence functions).
    """

    kind: str
    flat: str | None
    x_low: float
    x_high: float
    share: float
    at: float
    causal_change: float
    model_change: float
    sentence: str
    causal_change_se: float = math.nan


# --------------------------------------------------------------------------- the model's curve


def partial_dependence(
    model: Any, rows: pd.DataFrame, feature: str, grid: np.ndarray, *, seed: int = 0
) -> np.ndarray:
    """The model's partial dependence on ``feature`` at ``grid`` (brute force).

    :func:`causalinterp.attribute.inspection.partial_dependence` (the mean ICE curve, on the
    outcome scale: for a binary classifier the probability of ``classes_[1]``) over a seeded
    sample of at most :data:`PD_ROWS` ``rows``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> rows = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [1.0, 0, 1, 0]})
    >>> m = LinearRegression().fit(rows, 2 * rows["a"] + rows["b"])
    >>> partial_dependence(m, rows, "a", np.array([0.0, 1.0])).round(3)
    array([0.5, 2.5])
    """
    from causalinterp.attribute.inspection import partial_dependence as mean_ice

    if len(rows) > PD_ROWS:
        rows = rows.sample(PD_ROWS, random_state=seed % 2**32)
    return mean_ice(model, rows, feature, grid)


def shap_dependence(x: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Kernel-smoothed (Gaussian, bandwidth 1.5 grid steps) SHAP values at ``grid``; NaN where
    fewer than 5 effective rows lie near a grid point."""
    x, values = np.asarray(x, float), np.asarray(values, float)
    bandwidth = 1.5 * (grid[-1] - grid[0]) / max(len(grid) - 1, 1)
    weights = np.exp(-0.5 * ((x[None, :] - grid[:, None]) / bandwidth) ** 2)
    mass = weights.sum(axis=1)
    smooth = (weights @ values) / np.where(mass > 0, mass, np.nan)
    return np.where(mass >= 5, smooth, np.nan)


# --------------------------------------------------------------------------- shape comparison


def compare_shapes(
    feature: str, fit: Any, model: np.ndarray, *, outcome: str = "the outcome"
) -> ShapeFinding | None:
    """The shape disagreement between the causal fit and the model's curve on the same grid.

    Both curves' changes over windows of :data:`WINDOW_SHARE` of the range are compared; a
    window disagrees when the difference lies outside the causal change's simultaneous band
    and reaches :data:`MATERIAL_CHANGE` of the larger curve's range. A finding needs
    disagreeing windows over at least :data:`MATERIAL_RANGE` of the range.

    Its kind is claimed only where the numbers it prints show it (:func:`_flat_shown`): a
    threshold or saturation of the causal curve needs the curve's change over the flat
    stretch to be indistinguishable from zero and, with its interval, under
    :data:`FLAT_RATIO` of the model's change there; one of the model's curve needs the
    model's change under that share of the causal change's interval end nearest zero; a
    sign change needs the printed changes to have opposite signs, the causal one beyond its
    interval. Otherwise the finding is a plain ``shape`` disagreement over the window where
    the curves differ most.

    ``fit`` is a curve fit of :mod:`causalinterp.estimate.curves`: its ``grid``, ``theta``
    (the causal curve) with covariance ``cov`` over the grid, the windows' ``starts`` and
    ``ends`` (grid indices), the causal changes ``inc`` over them with standard errors
    ``inc_se`` and simultaneous critical value ``inc_crit``.
    """
    model = np.asarray(model, float)
    if model.shape != fit.theta.shape or not np.all(np.isfinite(model)):
        return None
    grid = fit.grid
    span = grid[-1] - grid[0]
    m_inc = model[fit.ends] - model[fit.starts]
    scale = max(np.ptp(fit.theta), np.ptp(model), 1e-12)
    diff = m_inc - fit.inc
    off = (np.abs(diff) > fit.inc_crit * fit.inc_se) & (np.abs(diff) > MATERIAL_CHANGE * scale)
    if not off.any():
        return None
    opposite = (
        off
        & (np.sign(m_inc) * np.sign(fit.inc) < 0)
        & (np.abs(fit.inc) > fit.inc_crit * fit.inc_se)
        & (np.abs(m_inc) > MATERIAL_CHANGE * scale)
    )
    regions = _regions(grid, fit.starts, fit.ends, off)
    share = sum(b - a for a, b in regions) / span
    if share < MATERIAL_RANGE:
        return None
    z = NormalDist().inv_cdf(0.5 + getattr(fit, "level", 0.95) / 2)
    claim = None
    if opposite.any():
        claim = _sign_change(grid, fit, model, opposite, z)
    if claim is None:
        a, b = max(regions, key=lambda r: r[1] - r[0])
        for kind, flat, at in _patterns(grid, fit.theta, model):
            # The stretch that matters is on the flat side of the break: below it for a
            # threshold, above it for a saturation; it must be there, and long enough. The
            # break is known to a grid step, so the stretch may stop one step short of it.
            lo, hi = (a, min(b, at)) if kind == "threshold" else (max(a, at), b)
            ia, ib = _index(grid, lo), _index(grid, hi)
            for short in (0, 1):
                ja, jb = (ia, ib - short) if kind == "threshold" else (ia + short, ib)
                if grid[jb] - grid[ja] >= MIN_FLAT_SHARE * span and _flat_shown(
                    fit, model, ja, jb, flat, z
                ):
                    claim = kind, flat, at, ja, jb
                    break
            if claim is not None:
                break
    if claim is None:
        # No kind the numbers show: the window where the curves differ most, beyond its band.
        standardised = np.abs(diff) / np.maximum(fit.inc_se, 1e-300)
        worst = int(np.argmax(np.where(off, standardised, -np.inf)))
        claim = "shape", None, math.nan, int(fit.starts[worst]), int(fit.ends[worst])
    kind, flat, at, ia, ib = claim
    causal_change = float(fit.theta[ib] - fit.theta[ia])
    causal_se = _change_se(fit, ia, ib)
    model_change = float(model[ib] - model[ia])
    a, b = float(grid[ia]), float(grid[ib])
    sentence = _sentence(
        feature, outcome, kind, flat, a, b, at, causal_change, causal_se, model_change
    )
    return ShapeFinding(
        kind,
        flat,
        a,
        b,
        float(share),
        float(at),
        causal_change,
        model_change,
        sentence,
        causal_se,
    )


def _index(grid: np.ndarray, x: float) -> int:
    return int(np.argmin(np.abs(grid - x)))


def _change_se(fit: Any, ia: int, ib: int) -> float:
    """Standard error of theta[ib] - theta[ia] (independent errors without a covariance)."""
    cov = getattr(fit, "cov", None)
    if cov is None:
        return float(math.hypot(fit.se[ia], fit.se[ib]))
    var = cov[ia, ia] + cov[ib, ib] - 2.0 * cov[ia, ib]
    return float(math.sqrt(max(var, 0.0)))


def _flat_shown(fit: Any, model: np.ndarray, ia: int, ib: int, flat: str, z: float) -> bool:
    """Whether the data show the claimed flat stretch from grid index ``ia`` to ``ib``.

    ``flat == "causal"``: the causal change is within ``z`` standard errors of zero (flat as
    far as the data can tell) and, with that interval, under :data:`FLAT_RATIO` of the
    model's change (flat against what the model does there). ``flat == "model"``: the
    model's change (exact) is under :data:`FLAT_RATIO` of the causal change's interval end
    nearest zero, which excludes zero (the causal curve keeps moving).
    """
    change = abs(float(fit.theta[ib] - fit.theta[ia]))
    bound = z * _change_se(fit, ia, ib)
    m_change = abs(float(model[ib] - model[ia]))
    if flat == "causal":
        return change <= bound and change + bound <= FLAT_RATIO * m_change
    return change > bound and m_change <= FLAT_RATIO * (change - bound)


def _sign_change(
    grid: np.ndarray, fit: Any, model: np.ndarray, opposite: np.ndarray, z: float
) -> tuple[str, None, float, int, int]:
    """The largest stretch of opposite windows whose end-to-end changes are opposite too (the
    causal one beyond its interval), else the window where they are most opposite."""
    a, b = max(_regions(grid, fit.starts, fit.ends, opposite), key=lambda r: r[1] - r[0])
    ia, ib = _index(grid, a), _index(grid, b)
    causal = float(fit.theta[ib] - fit.theta[ia])
    if causal * float(model[ib] - model[ia]) < 0 and abs(causal) > z * _change_se(fit, ia, ib):
        return "sign_change", None, math.nan, ia, ib
    m_inc = model[fit.ends] - model[fit.starts]
    best = int(np.argmax(np.where(opposite, np.abs(m_inc - fit.inc), -np.inf)))
    return "sign_change", None, math.nan, int(fit.starts[best]), int(fit.ends[best])


def _regions(
    grid: np.ndarray, starts: np.ndarray, ends: np.ndarray, on: np.ndarray
) -> list[tuple[float, float]]:
    """Union of the windows that are ``on``, as disjoint (low, high) stretches."""
    regions: list[list[float]] = []
    for s, e in zip(starts[on], ends[on], strict=True):
        if regions and grid[s] <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], grid[e])
        else:
            regions.append([grid[s], grid[e]])
    return [(float(a), float(b)) for a, b in regions]


def hinge(grid: np.ndarray, curve: np.ndarray) -> tuple[float, float, float]:
    """Best one-break piecewise-linear fit: (break, slope below, slope above).

    Examples
    --------
    >>> g = np.linspace(-2, 2, 21)
    >>> [round(v, 2) + 0.0 for v in hinge(g, np.maximum(g, 0.4))]
    [0.4, 0.0, 1.0]
    """
    best = (math.inf, math.nan, math.nan, math.nan)
    for c in grid[2:-2]:
        design = np.column_stack([np.ones_like(grid), grid, np.maximum(grid - c, 0.0)])
        coef, *_ = np.linalg.lstsq(design, curve, rcond=None)
        sse = float(np.sum((design @ coef - curve) ** 2))
        if sse < best[0] - 1e-12:
            best = (sse, float(c), float(coef[1]), float(coef[1] + coef[2]))
    return best[1], best[2], best[3]


def _shape_of(grid: np.ndarray, curve: np.ndarray) -> tuple[str, float]:
    """``"threshold"`` (flat, then moving), ``"saturation"`` (moving, then flat) or ``""``."""
    at, below, above = hinge(grid, curve)
    if abs(below) < FLAT_RATIO * abs(above):
        return "threshold", at
    if abs(above) < FLAT_RATIO * abs(below):
        return "saturation", at
    return "", at


def _patterns(
    grid: np.ndarray, theta: np.ndarray, model: np.ndarray
) -> list[tuple[str, str, float]]:
    """The threshold/saturation claims the piecewise-linear fits suggest, the causal curve's
    first: ``(kind, flat curve, break)``; each still has to be shown by the numbers."""
    causal, c_at = _shape_of(grid, theta)
    modelled, m_at = _shape_of(grid, model)
    out = []
    if causal and causal != modelled:
        out.append((causal, "causal", c_at))
    if modelled and modelled != causal:
        out.append((modelled, "model", m_at))
    return out


def _sentence(
    feature: str,
    outcome: str,
    kind: str,
    flat: str | None,
    a: float,
    b: float,
    at: float,
    causal: float,
    causal_se: float,
    model: float,
) -> str:
    where = f"from {a:.4g} to {b:.4g}"
    changes = f"(causal curve {causal:+.3g}, s.e. {causal_se:.2g}; model {model:+.3g} {where})"
    head = (
        f"the model's dependence on {feature!r} disagrees in shape with the causal curve "
        f"E[{outcome} | do({feature})]"
    )
    if kind == "sign_change":
        return f"{head}: {where} they move in opposite directions {changes}"
    if kind in ("threshold", "saturation") and flat == "causal":
        what = (
            f"the causal effect starts only near {at:.4g} (a threshold) but the model responds "
            "below it"
            if kind == "threshold"
            else f"the causal effect levels off near {at:.4g} (saturation) but the model keeps "
            "responding"
        )
        return f"{head}: {what} {changes}"
    if kind in ("threshold", "saturation"):
        what = (
            f"the model responds only from {at:.4g} (a threshold) although the causal curve "
            "moves below it"
            if kind == "threshold"
            else f"the model levels off near {at:.4g} (saturation) while the causal curve "
            "keeps moving"
        )
        return f"{head}: {what} {changes}"
    return f"{head} beyond the causal changes' band, most {where} {changes}"
