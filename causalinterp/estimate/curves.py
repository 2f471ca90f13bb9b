"""Stage: dose-response curves E[Y | do(X = x)] beside the model's dependence, and heterogeneity.

A feature's average effect is one number; the model can match it and still get the shape of
the dependence wrong (a threshold, a saturation, the wrong sign over part of the range). For
every continuous feature whose effect is identified by the back-door criterion this stage
estimates the interventional curve on a grid over the feature's observed range (its 1st to
99th percentile), compares it with the model's partial dependence, and says where the two
disagree in shape by more than the curve's uncertainty.

Estimator (see ``docs/curves.md``): a partially linear model with a spline in the feature,
``Y = f(X) + g(W) + e`` with ``W`` the adjustment set. Each spline basis column ``B_k(X)`` and
``Y`` are residualised on ``W`` with the effects stage's nuisance learners (cross-fitted, as
in double ML); the residualised regression gives the spline coefficients, and
``E[Y | do(X = x)] = E[Y] - E[f(X)] + f(x)``. Pointwise intervals come from the estimator's
influence function; uniform bands (and the simultaneous comparison of shapes) from a Gaussian
multiplier bootstrap of the same influence function. Assumptions: the back-door set is
sufficient (as for the average effect), positivity over the grid, and additivity of ``f`` and
``g`` (no interaction between the feature and the controls); with heterogeneous effects the
curve is a variance-weighted average of the units' curves. The spline's knots grow with the
number of rows (under-smoothing), so the smoothing bias stays small against the interval.

The model's dependence is its partial dependence on the same grid (brute force over a seeded
sample of rows, as ``sklearn.inspection.partial_dependence(method="brute")``): under the
back-door criterion it is the model's own answer to the same interventional question (Zhao &
Hastie 2021). Without a model to call, the SHAP dependence (base value plus the feature's
SHAP values, kernel-smoothed) stands in.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from sklearn.preprocessing import SplineTransformer

from causalinterp._progress import Lazy, run_parallel
from causalinterp.data import CheckedData
from causalinterp.errors import OptionError, first_line
from causalinterp.estimate import _learners
from causalinterp.estimate.effects import Effects
from causalinterp.estimate.enums import EffectStatus, Strategy
from causalinterp.estimate.heterogeneity import Heterogeneity, heterogeneity_test
from causalinterp.estimate.shapes import (
    WINDOW_SHARE,
    ShapeFinding,
    compare_shapes,
    partial_dependence,
    shap_dependence,
)

__all__ = ["Curves", "FeatureCurve", "ShapeFinding", "estimate_curves", "estimate_curves_safely"]

#: Grid over the observed range: these quantiles of the feature (thin tails left out).
RANGE_QUANTILES = (0.01, 0.99)
#: Multiplier-bootstrap draws for the uniform band and the simultaneous shape comparison.
N_MULTIPLIER = 1000
#: Residuals of X's regression on the controls averaged over for E[B(X) | W].
N_RESIDUALS = 500
#: Spline knots: 3 n^(1/5), between these bounds (more knots than the MSE-optimal rate, so the
#: smoothing bias is small against the standard error; with 2 n^(1/5) and at most 10, the
#: uniform band of a sine covered 80% at 4,000 rows; see docs/performance.md).
KNOTS = (5, 16)


@dataclass(frozen=True)
class FeatureCurve:
    """One feature's interventional curve, the model's dependence and the comparison.

    Attributes
    ----------
    feature : str
    x : tuple of float
        The grid (equally spaced from the 1st to the 99th percentile).
    estimate, ci_low, ci_high : tuple of float
        E[Y | do(X = x)] and its pointwise interval at ``level``.
    band_low, band_high : tuple of float
        Uniform (simultaneous) band at ``level`` over the grid.
    model : tuple of float
        The model's partial dependence on the grid (or its smoothed SHAP dependence, see
        ``model_curve``); empty when neither is available.
    model_curve : {"partial_dependence", "shap_dependence", ""}
    model_curve_note : str
        Why the partial dependence was not used although a model was at hand (it could not
        be called on the rows, or its prediction failed); ``""`` otherwise.
    shap : tuple of float
        Base value plus the feature's SHAP values, kernel-smoothed on the grid (NaN where
        too few rows lie near a grid point); empty without attributions.
    level : float
        Confidence level of the intervals.
    knots : int
        Spline knots used.
    n_rows : int
    finding : ShapeFinding or None
        The shape disagreement, or None when the shapes agree within the band.
    """

    feature: str
    x: tuple[float, ...]
    estimate: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    band_low: tuple[float, ...]
    band_high: tuple[float, ...]
    model: tuple[float, ...] = ()
    model_curve: str = ""
    model_curve_note: str = ""
    shap: tuple[float, ...] = ()
    level: float = 0.95
    knots: int = 0
    n_rows: int = 0
    finding: ShapeFinding | None = None
    method: str = "partially linear spline, cross-fitted (double ML)"


@dataclass(frozen=True)
class Curves:
    """The curves stage's result: per feature a curve, a heterogeneity test, or why not.

    Attributes
    ----------
    by_feature : Mapping[str, FeatureCurve]
        Continuous back-door features whose curve was estimated.
    heterogeneity : Mapping[str, Heterogeneity]
        Back-door features (any treatment kind) whose heterogeneity was tested.
    skipped : Mapping[str, str]
        Features with neither or with a failure, and why (one line each).
    seconds : float
    """

    by_feature: Mapping[str, FeatureCurve] = field(default_factory=dict)
    heterogeneity: Mapping[str, Heterogeneity] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def reason(self, feature: str) -> str:
        """The verdict's sentence on the feature's shape, or ``""`` when shapes agree."""
        curve = self.by_feature.get(feature)
        return curve.finding.sentence if curve is not None and curve.finding else ""

    def feature_json(self, feature: str) -> dict[str, Any]:
        """The ``curve`` and ``heterogeneity`` objects of the feature in ``report.json``.

        Examples
        --------
        >>> Curves().feature_json("x")
        {'curve': None, 'heterogeneity': None}
        """
        curve = self.by_feature.get(feature)
        het = self.heterogeneity.get(feature)
        return {
            "curve": None if curve is None else _curve_json(curve),
            "heterogeneity": None if het is None else het.to_dict(),
        }

    def section_json(self) -> dict[str, Any]:
        """The top-level ``curves`` section of ``report.json``.

        The features whose shape disagrees, those whose effect varies, and why the others
        have no curve.

        Examples
        --------
        >>> Curves(skipped={"x": "not continuous"}).section_json()["skipped"]
        {'x': 'not continuous'}
        """
        return {
            "shape_disagreements": [f for f, c in self.by_feature.items() if c.finding],
            "heterogeneous": [f for f, h in self.heterogeneity.items() if h.varies],
            "skipped": dict(self.skipped),
        }


def _curve_json(curve: FeatureCurve) -> dict[str, Any]:
    f = curve.finding
    return {
        "x": list(curve.x),
        "estimate": list(curve.estimate),
        "ci_low": list(curve.ci_low),
        "ci_high": list(curve.ci_high),
        "band_low": list(curve.band_low),
        "band_high": list(curve.band_high),
        "model": list(curve.model),
        "model_curve": curve.model_curve,
        "model_curve_note": curve.model_curve_note or None,
        "level": curve.level,
        "method": curve.method,
        "knots": curve.knots,
        "shape": None
        if f is None
        else {
            "kind": f.kind,
            "flat": f.flat,
            "x_low": f.x_low,
            "x_high": f.x_high,
            "share": f.share,
            "at": f.at,
            "causal_change": f.causal_change,
            "causal_change_se": f.causal_change_se,
            "model_change": f.model_change,
            "sentence": f.sentence,
        },
    }


# --------------------------------------------------------------------------- estimation


@dataclass(frozen=True)
class _Task:
    feature: str
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray | None
    points: int
    level: float
    n_folds: int
    nuisance: Any
    seed: int
    #: Out-of-fold E[Y | W] and E[X | W] of the effects stage (None: fitted here).
    y_hat: np.ndarray | None = None
    x_hat: np.ndarray | None = None


def _cross_fit(task: _Task) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions of y and x from the controls."""
    y_hat, x_hat = np.empty(len(task.y)), np.empty(len(task.y))
    folds = KFold(task.n_folds, shuffle=True, random_state=task.seed % 2**32)
    for train, test in folds.split(task.w):
        for target, out, offset in ((task.y, y_hat, 0), (task.x, x_hat, 1)):
            learner = _learners.make_regressor(task.nuisance, task.seed + offset)
            learner.fit(task.w[train], target[train])
            out[test] = learner.predict(task.w[test])
    return y_hat, x_hat


@dataclass(frozen=True)
class _Fit:
    """What the main process needs of one curve fit (small, picklable)."""

    grid: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    crit: float  # uniform band: theta +- crit * se
    starts: np.ndarray  # window start and end indices on the grid
    ends: np.ndarray
    inc: np.ndarray  # causal change over each window
    inc_se: np.ndarray
    inc_crit: float  # simultaneous over windows
    knots: int
    #: Covariance of theta over the grid (from the influence functions): the standard error
    #: of the change between any two grid points, which a claimed flat stretch is tested by.
    cov: np.ndarray | None = None
    level: float = 0.95


def fit_curve(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None = None,
    *,
    points: int = 20,
    level: float = 0.95,
    n_folds: int = 3,
    nuisance: Any = "auto",
    seed: int = 0,
) -> FeatureCurve:
    """Estimate E[Y | do(X = x)] on a grid, adjusting for ``w`` (see the module docstring).

    Parameters
    ----------
    x, y : numpy.ndarray
        The feature (continuous) and the outcome, one value per row.
    w : numpy.ndarray, optional
        The back-door adjustment set, rows x columns; None when none is needed.
    points : int, default 20
        Grid points from the 1st to the 99th percentile of ``x``.
    level : float, default 0.95
    n_folds : int, default 3
        Cross-fitting folds of the nuisance regressions.
    nuisance : {"auto", "linear"} or estimator, default "auto"
        The nuisance learners (as in :func:`causalinterp.estimate.estimate_effects`).
    seed : int, default 0

    Returns
    -------
    FeatureCurve
        Without the model's curve (see :func:`estimate_curves` for the comparison).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w = rng.normal(size=2000)
    >>> x = w + rng.normal(size=2000)
    >>> y = np.sin(x) + w + rng.normal(size=2000)
    >>> c = fit_curve(x, y, w[:, None], nuisance="linear", points=5)
    >>> truth = np.sin(c.x)  # E[Y | do(X = x)] = sin(x) + E[W]
    >>> bool(np.max(np.abs(np.array(c.estimate) - truth)) < 0.3)
    True
    """
    task = _Task(
        "x",
        np.asarray(x, float),
        np.asarray(y, float),
        w,
        points,
        level,
        n_folds,
        nuisance,
        int(seed),
    )
    return _as_curve("x", _fit(task), level, len(task.y))


def _fit(task: _Task) -> _Fit:
    x, y, n = task.x, task.y, len(task.y)
    rng = np.random.default_rng(task.seed)
    knots = int(np.clip(round(3 * n**0.2), *KNOTS))
    low, high = np.quantile(x, RANGE_QUANTILES)
    if not high > low:
        raise ValueError("the feature is (almost) constant over the rows")
    grid = np.linspace(low, high, task.points)
    spline = SplineTransformer(
        n_knots=knots, degree=3, knots="quantile", extrapolation="linear", include_bias=False
    ).fit(x[:, None])
    basis = spline.transform(x[:, None])
    at_grid = spline.transform(grid[:, None])

    # Cross-fitted residuals of y and of every basis column on the controls. E[B(X) | W] comes
    # from X's regression on W and its residuals' empirical distribution (X = m(W) + r):
    # two nuisance fits per fold, the same as the average effect's, which the stage reuses.
    reused = task.y_hat is not None and task.x_hat is not None
    if not reused and (task.w is None or task.w.shape[1] == 0):
        y_hat = np.full(n, y.mean())
        b_hat = np.broadcast_to(basis.mean(axis=0), basis.shape)
    else:
        y_hat, x_hat = task.y_hat, task.x_hat
        if y_hat is None or x_hat is None:
            y_hat, x_hat = _cross_fit(task)
        r = x - x_hat
        r = rng.choice(r, size=min(len(r), N_RESIDUALS), replace=False)
        # E[B(m + r)] tabulated on a fine grid of m and interpolated: exact up to the grid's
        # resolution, and independent of the number of rows.
        m_grid = np.linspace(x_hat.min(), x_hat.max(), 256)
        shifted = (m_grid[:, None] + r[None, :]).reshape(-1, 1)
        table = spline.transform(shifted).reshape(len(m_grid), len(r), -1).mean(axis=1)
        # Linear interpolation of every column at once: one search for the n rows.
        at = np.clip(np.searchsorted(m_grid, x_hat) - 1, 0, len(m_grid) - 2)
        share = np.clip((x_hat - m_grid[at]) / (m_grid[at + 1] - m_grid[at]), 0.0, 1.0)
        below = table[at]
        b_hat = below + share[:, None] * (table[at + 1] - below)
    y_res, b_res = y - y_hat, basis - b_hat

    gram = b_res.T @ b_res / n
    gram_inv = np.linalg.pinv(gram)
    beta = gram_inv @ (b_res.T @ y_res) / n
    eps = y_res - b_res @ beta

    # theta(x) = mean(y - B beta) + B(x) beta; its influence adds the mean's own term.
    fitted = y - basis @ beta
    level_term = fitted - fitted.mean()
    contrast = at_grid - basis.mean(axis=0)
    theta = fitted.mean() + at_grid @ beta

    # Windows spanning WINDOW_SHARE of the range: their changes are the shape compared.
    step = max(1, round((task.points - 1) * WINDOW_SHARE))
    starts = np.arange(0, task.points - step)
    ends = starts + step
    window = at_grid[ends] - at_grid[starts]
    inc = window @ beta

    # Every influence function here, of the curve at each grid point and of each window's
    # change, is [level term, (b_res * eps) gram_inv] times a fixed matrix: their centred
    # gram is that matrix's sandwich of one (K + 1)-column gram, without the n x (G + W)
    # influence matrices.
    g = len(grid)
    loadings = np.zeros((1 + gram_inv.shape[0], g + len(window)))
    loadings[0, :g] = 1.0
    loadings[1:] = gram_inv @ np.hstack([contrast.T, window.T])
    gram = loadings.T @ _centred_gram(np.column_stack([level_term, b_res * eps[:, None]]))
    gram = gram @ loadings  # sum of psi psi' over rows, psi centred
    ses = np.sqrt(np.clip(np.diag(gram), 0.0, None)) / n
    se, inc_se = ses[:g], ses[g:]
    crit, inc_crit = _sup_quantiles(rng, gram, n, [se, inc_se], task.level)
    cov = gram[:g, :g] / (n * n)
    return _Fit(
        grid, theta, se, crit, starts, ends, inc, inc_se, inc_crit, knots, cov, task.level
    )


def _centred_gram(psi: np.ndarray) -> np.ndarray:
    """sum_i (psi_i - mean psi)(psi_i - mean psi)' of the rows of ``psi``, without a centred
    copy of the n-row matrix."""
    mean = psi.mean(axis=0)
    return psi.T @ psi - psi.shape[0] * np.outer(mean, mean)


def _sup_quantiles(
    rng: np.random.Generator, gram: np.ndarray, n: int, ses: list[np.ndarray], level: float
) -> list[float]:
    """Per block of influence functions (``ses`` gives each block's standard errors, in
    ``gram``'s column order), the ``level`` quantile of max_g |sum_i xi_i psi_i(g)| / (n se_g)
    under Gaussian multipliers xi, one draw of xi shared by every block.

    Given the data, sum_i xi_i psi_i is exactly Gaussian with covariance ``gram`` =
    sum_i psi_i psi_i' (psi centred), so the draws are taken from that G x G covariance
    instead of drawing n multipliers per draw: the same distribution, in O(G^2) memory rather
    than an N_MULTIPLIER x n matrix (8 GB at a million rows).
    """
    values, vectors = np.linalg.eigh(gram)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))  # root @ root.T = gram
    sums = rng.standard_normal((N_MULTIPLIER, len(values))) @ root.T  # N_MULTIPLIER x G
    quantiles, start = [], 0
    for se in ses:
        block = sums[:, start : start + len(se)]
        start += len(se)
        safe = np.where(se > 0, se, np.inf)
        stats = np.abs(block) / n / safe
        quantiles.append(float(np.quantile(stats.max(axis=1), level)))
    return quantiles


def _as_curve(feature: str, fit: _Fit, level: float, n: int) -> FeatureCurve:
    z = NormalDist().inv_cdf(0.5 + level / 2)
    t = tuple
    return FeatureCurve(
        feature=feature,
        x=t(map(float, fit.grid)),
        estimate=t(map(float, fit.theta)),
        ci_low=t(map(float, fit.theta - z * fit.se)),
        ci_high=t(map(float, fit.theta + z * fit.se)),
        band_low=t(map(float, fit.theta - fit.crit * fit.se)),
        band_high=t(map(float, fit.theta + fit.crit * fit.se)),
        level=level,
        knots=fit.knots,
        n_rows=n,
    )


def _run(task: _Task) -> tuple[str, _Fit | str]:
    """One feature's fit; a failure becomes its one-line message (never raises)."""
    try:
        return task.feature, _fit(task)
    except Exception as exc:
        return task.feature, f"curve not estimated: {type(exc).__name__}: {exc}".splitlines()[0]


def _not_tested(exc: BaseException) -> str:
    return f"heterogeneity not tested: {exc}".splitlines()[0]


def _test_heterogeneity(job: tuple) -> tuple[str, Heterogeneity | str]:
    """One feature's heterogeneity test; a failure becomes its one-line message."""
    feature, inputs = job
    if isinstance(inputs, str):  # its design matrix could not be built
        return feature, inputs
    nuisances, z, names, alpha = inputs
    try:
        return feature, heterogeneity_test(nuisances, z, names, feature=feature, alpha=alpha)
    except Exception as exc:
        return feature, _not_tested(exc)


# --------------------------------------------------------------------------- the stage


def estimate_curves(
    checked: CheckedData,
    effects: Effects,
    attributions: Any = None,
    *,
    model: Any = None,
    data: pd.DataFrame | None = None,
    model_seed: int | None = None,
    curve_points: int = 20,
    level: float = 0.95,
    heterogeneity: bool = True,
    seed: int = 0,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = None,
) -> Curves:
    """Dose-response curves of the continuous back-door features, and heterogeneity tests.

    Parameters
    ----------
    checked : CheckedData
    effects : Effects
        The effects stage's result: identification, nuisance learners, folds and (for the
        heterogeneity tests) the cross-fitted nuisances are read from it.
    attributions : Attributions, optional
        For the SHAP dependence curve (and the model's curve when no model can be called).
    model : fitted estimator, optional
        The user's model, for its partial dependence (it is given ``data``'s columns).
        None: the default model is re-fitted with ``model_seed`` when that is given (the same
        fit as the attribution stage's), else the SHAP dependence stands in.
    data : pandas.DataFrame, optional
        The user's data (needed with ``model``).
    model_seed : int, optional
        The attribution stage's model seed (``stage_seeds(seed).model``).
    curve_points : int, default 20
        Grid points per curve.
    level : float, default 0.95
        Level of the intervals and of the shape comparison's band.
    heterogeneity : bool, default True
        Also test every back-door effect for heterogeneity (cheap: reuses the nuisances).
    seed : int, default 0
    n_jobs, backend, progress
        As for the other stages (``_progress.run_parallel``).

    Returns
    -------
    Curves
        A feature whose curve fails is listed in ``skipped`` with the reason; the others and
        the rest of the report are unaffected.

    Examples
    --------
    >>> from causalinterp.data import check_data
    >>> from causalinterp.estimate import estimate_effects
    >>> from causalinterp.simulators import retention_model
    >>> sim = retention_model()
    >>> data = sim.sample(2000, seed=0)
    >>> checked = check_data(data, sim.graph, "churned")
    >>> effects = estimate_effects(checked, sim.graph, seed=0, nuisance="linear")
    >>> curves = estimate_curves(checked, effects, seed=0)  # doctest: +SKIP
    >>> curves.feature_json("tenure_years")["curve"]["x"][:2]  # doctest: +SKIP
    """
    if (
        not isinstance(curve_points, int | np.integer)
        or isinstance(curve_points, bool)
        or curve_points < 5
    ):
        raise OptionError(f"curve_points: {curve_points!r} is too few; pass e.g. curve_points=20")
    started = time.perf_counter()
    frame = checked.frame
    y = frame[checked.outcome].to_numpy(dtype=float)
    root = np.random.SeedSequence(entropy=int(seed), spawn_key=(0xC0,))  # distinct from stages
    tasks, skipped = [], {}
    for feature, child in zip(checked.features, root.spawn(len(checked.features)), strict=True):
        effect = effects.by_feature.get(feature)
        why = _why_no_curve(checked, effect)
        if why:
            skipped[feature] = why
            continue
        adjustment = effect.identification.adjustment_set
        x = frame[feature].to_numpy(dtype=float)
        kept = effects.nuisances.get(feature)
        y_hat = x_hat = None
        if adjustment and hasattr(kept, "t_res") and len(kept.t_res) == len(x):
            # The average effect's out-of-fold nuisances: no new fit (see the module docstring).
            y_hat, x_hat = y - np.asarray(kept.y_res, float), x - np.asarray(kept.t_res, float)
        tasks.append(
            _Task(
                feature,
                x,
                y,
                # The controls only when the nuisances must be fitted here (a copy of n rows).
                checked.design(adjustment, frame) if adjustment and y_hat is None else None,
                int(curve_points),
                float(level),
                effects.n_folds,
                effects.nuisance,
                int(child.generate_state(1)[0]),
                y_hat,
                x_hat,
            )
        )
    results = run_parallel(
        _run,
        tasks,
        n_jobs=n_jobs,
        backend=backend,
        progress=progress,
        desc="dose-response curves",
        unit="feature",
    )
    fits = {}
    for feature, result in results:
        if isinstance(result, str):
            skipped[feature] = result
        else:
            fits[feature] = result

    predict, rows, caller_note = _model_caller(checked, model, data, model_seed)
    by_feature = {}
    for feature, fit in fits.items():
        curve = _as_curve(feature, fit, level, checked.n_rows)
        shap_curve: np.ndarray | None = None
        if attributions is not None and feature in getattr(attributions, "shap_values", {}):
            shap_curve = attributions.base_value + shap_dependence(
                attributions.feature_values[feature],
                attributions.shap_values[feature],
                fit.grid,
            )
        model_curve, source, note = None, "", caller_note
        try:
            if predict is not None:
                model_curve = partial_dependence(predict, rows, feature, fit.grid, seed=seed)
                source = "partial_dependence"
        except Exception as error:  # say why, and fall back to the SHAP dependence
            model_curve = None
            note = f"partial dependence failed ({type(error).__name__}: {first_line(error)})"
        if model_curve is None and shap_curve is not None:
            model_curve, source = shap_curve, "shap_dependence"
        finding = (
            compare_shapes(feature, fit, model_curve, outcome=checked.outcome)
            if model_curve is not None
            else None
        )
        by_feature[feature] = _replace(
            curve,
            model=() if model_curve is None else tuple(map(float, model_curve)),
            model_curve=source,
            model_curve_note=note if source != "partial_dependence" else "",
            shap=() if shap_curve is None else tuple(map(float, shap_curve)),
            finding=finding,
        )

    tested = {}
    if heterogeneity:
        specs = []
        for feature in checked.features:
            effect = effects.by_feature.get(feature)
            nuis = effects.nuisances.get(feature)
            if (
                effect is not None
                and nuis is not None
                and effect.identification.strategy == Strategy.BACKDOOR
            ):
                specs.append((feature, nuis, effect.identification.adjustment_set))

        def job(spec: tuple) -> tuple:
            # Built as a worker takes it: the design matrix is n rows of every control.
            feature, nuis, adjustment = spec
            try:
                z = checked.design(adjustment, frame) if adjustment else None
                names = _design_names(checked, adjustment)
            except Exception as exc:
                return feature, _not_tested(exc)
            return feature, (nuis, z, names, 1 - level)

        # Features in parallel: on large data each test is a few passes over every row.
        for feature, result in run_parallel(
            _test_heterogeneity,
            Lazy(specs, job),
            n_jobs=n_jobs,
            backend=backend,
            progress=progress,
            desc="heterogeneity tests",
            unit="feature",
        ):
            if isinstance(result, str):
                skipped.setdefault(feature, result)
            else:
                tested[feature] = result
    return Curves(by_feature, tested, skipped, round(time.perf_counter() - started, 3))


def _replace(curve: FeatureCurve, **changes: Any) -> FeatureCurve:
    import dataclasses

    return dataclasses.replace(curve, **changes)


def _why_no_curve(checked: CheckedData, effect: Any) -> str:
    if effect is None or effect.status != EffectStatus.ESTIMATED:
        return "no curve: the effect was not estimated"
    if effect.identification.strategy != Strategy.BACKDOOR:
        return "no curve: only back-door effects have an interventional curve here"
    if checked.kinds.get(effect.feature) != "continuous":
        return "no curve: the feature is not continuous"
    return ""


def _design_names(checked: CheckedData, names: tuple[str, ...]) -> tuple[str, ...]:
    """Column names of ``checked.design(names)``: ``name=level`` for one-hot columns."""
    out = []
    for name in names:
        if checked.kinds.get(name) == "categorical":
            labels, ref = checked.level_codes(name)
            out.extend(f"{name}={label}" for code, label in enumerate(labels) if code != ref)
        else:
            out.append(name)
    return tuple(out)


def _model_caller(
    checked: CheckedData, model: Any, data: pd.DataFrame | None, model_seed: int | None
) -> tuple[Any, pd.DataFrame | None, str]:
    """A callable model, the rows (as it expects them) for the partial dependence, and why
    there is none when a model was expected (``""`` otherwise)."""
    try:
        if model is not None and data is not None:
            from causalinterp.attribute import user_model_and_rows as _user_model_and_rows

            return *_user_model_and_rows(model, data, checked), ""
        if model is None and model_seed is not None:
            # The default model attribute_model fitted (kept, not fitted again).
            from causalinterp.attribute._default_model import fitted_default_model

            fitted = fitted_default_model(checked, model_seed=model_seed)
            return fitted, checked.frame[list(checked.features)], ""
    except Exception as error:  # say why, and fall back to the SHAP dependence
        return None, None, f"the model could not be called ({first_line(error)})"
    return None, None, ""


def estimate_curves_safely(
    checked: CheckedData, effects: Effects, *args: Any, **kwargs: Any
) -> Curves:
    """:func:`estimate_curves`, with an unexpected failure recorded instead of raised.

    The report then has no curves, and ``Curves.skipped`` says why for every feature; the
    other stages' results are unaffected.

    Examples
    --------
    >>> estimate_curves_safely(None, None).skipped["*"].startswith("curves not estimated")
    True
    """
    try:
        return estimate_curves(checked, effects, *args, **kwargs)
    except OptionError:
        raise
    except Exception as exc:
        message = f"curves not estimated: {type(exc).__name__}: {exc}".splitlines()[0]
        return Curves(skipped={"*": message})
