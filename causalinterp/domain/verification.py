"""Check a fitted model against the directions its features must follow.

For each feature with a direction, every sampled row's individual conditional expectation
(ICE) curve is computed on a grid over the feature's observed range: the row's prediction as
the feature alone moves (the same curves as scikit-learn's
``partial_dependence(kind="individual", method="brute")``, computed here in one prediction call
per feature so that any model with ``predict``/``predict_proba`` can be checked). A row
violates the direction when its curve moves against it anywhere by more than the threshold
(``tolerance`` times the standard deviation of the model's predictions on the sampled rows);
the largest such move (the curve's largest fall, for ``"+"``, from any grid point to a later
one) is the row's violation.

Tree ensembles (scikit-learn trees, forests, gradient boosting and histogram gradient
boosting; LightGBM; XGBoost) are also checked exactly: their prediction along one feature is
a step function that can change only at the split thresholds, so evaluating each sampled row
once per step finds every violation of those rows, not only those on the grid. A structural
condition on the trees can further *prove* the model monotone for every input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causalinterp import options
from causalinterp._progress import resolve_progress, run_parallel
from causalinterp._seeds import seed_sequence
from causalinterp.attribute.inspection import ice_curves, is_classifier, outcome_predictor
from causalinterp.domain import _trees
from causalinterp.domain.directions import Directions, directions_from
from causalinterp.errors import DataError, ModelError, OptionError

#: Past this many distinct thresholds on one feature the exact check is skipped (it would
#: evaluate every sampled row at each of them).
MAX_EXACT_POINTS = 4096

#: Moves up to this size are float rounding, never violations (even with tolerance 0).
_FLOAT_ROUNDING = 1e-9


@dataclass(frozen=True)
class ExactCheck:
    """The exact check of one feature of a tree ensemble.

    Attributes
    ----------
    status : {"monotone", "violated", "inconclusive"}
        ``"monotone"``: proved for every input by the trees' structure. ``"violated"``: a
        sampled row's prediction moves against the direction between two split thresholds.
        ``"inconclusive"``: no violation for the sampled rows at any threshold, but the
        structure does not prove monotonicity for all inputs.
    points : int
        Evaluation points (one per step of the step function within the observed range).
    violation_share, max_violation : float
        As in :class:`FeatureCheck`, over all the steps rather than the grid.
    max_violation_at : tuple of float or None
        Feature values between which the largest violation happens.
    """

    status: str
    points: int
    violation_share: float
    max_violation: float
    max_violation_at: tuple[float, float] | None


@dataclass(frozen=True)
class FeatureCheck:
    """One feature's ICE curves against its direction.

    Attributes
    ----------
    feature : str
    direction : {"+", "-"}
    grid : tuple of float
        Evaluation points, evenly spaced over the observed range (the distinct values when
        there are fewer).
    rows_checked : int
    violation_share : float
        Share of sampled rows whose ICE curve moves against the direction.
    max_violation : float
        Largest move against the direction, on the prediction scale (probability for
        classifiers).
    max_violation_at : tuple of float or None
        Feature values (from, to) of that move.
    interval_shares : tuple of float
        For each grid step, the share of rows whose curve moves against the direction there:
        where in the range the violations happen.
    exact : ExactCheck or None
        The exact check, for tree ensembles.
    curves : numpy.ndarray
        ICE curves, one row per sampled row (for plots; not compared).
    violating : numpy.ndarray
        Per sampled row, whether its curve violates the direction.
    """

    feature: str
    direction: str
    grid: tuple[float, ...]
    rows_checked: int
    violation_share: float
    max_violation: float
    max_violation_at: tuple[float, float] | None
    interval_shares: tuple[float, ...]
    exact: ExactCheck | None = None
    curves: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False,
                               compare=False)
    violating: np.ndarray = field(default_factory=lambda: np.empty(0, bool), repr=False,
                                  compare=False)

    @property
    def violated(self) -> bool:
        """Whether any check found a violation."""
        exact = self.exact is not None and self.exact.status == "violated"
        return self.violation_share > 0 or exact


@dataclass(frozen=True)
class Verification:
    """Every checked feature of one model.

    ``scale`` is ``"probability"`` (of the positive class) or ``"prediction"``.
    ``tolerance`` is relative (a share of the standard deviation of the model's predictions
    on the sampled rows); ``threshold`` is the move on ``scale`` it amounts to: larger moves
    against a direction are violations.
    """

    model: str
    scale: str
    by_feature: Mapping[str, FeatureCheck]
    n_rows: int
    n_grid: int
    tolerance: float
    threshold: float = 0.0

    @property
    def violated(self) -> tuple[str, ...]:
        """Features with a violation."""
        return tuple(name for name, check in self.by_feature.items() if check.violated)


def prediction_function(model: Any, columns: list[str]) -> tuple[Callable, str]:
    """The model's prediction on the outcome scale as a function of a float matrix, and the
    scale's name (:func:`causalinterp.attribute.inspection.outcome_predictor`)."""
    predict = outcome_predictor(model, columns, checked=True)
    return predict, "probability" if is_classifier(model) else "prediction"


def model_columns(model: Any, features: Iterable[str] | None) -> list[str]:
    """The model's feature columns in its order: ``feature_names_in_`` or ``features``."""
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is not None:
        return [str(c) for c in fitted]
    if features is None:
        raise ModelError(
            f"model {type(model).__name__}: has no feature_names_in_; pass features=[...] in "
            "the order the model was fitted on"
        )
    return [str(c) for c in features]


def verify(
    model: Any,
    data: pd.DataFrame,
    directions: Directions | Mapping[str, Any],
    *,
    features: Iterable[str] | None = None,
    ice_rows: int = 200,
    ice_grid: int = 50,
    seed: int | np.random.SeedSequence = 0,
    ice_tolerance: float = 0.01,
    exact: bool = True,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = None,
) -> Verification:
    """Check a fitted model's ICE curves against each feature's direction.

    Parameters
    ----------
    model : fitted estimator
        A regressor or binary classifier with ``predict``/``predict_proba`` on a DataFrame.
    data : pandas.DataFrame
        Rows to sample and whose ranges define the grids; must hold the model's columns.
    directions : Directions or mapping feature -> "+", "-" or None
        What to check; features without a direction are skipped.
    features : iterable of str, optional
        The model's columns in order, when it has no ``feature_names_in_``.
    ice_rows : int, default 200
        Rows sampled (seeded) for ICE curves; all rows when there are fewer.
    ice_grid : int, default 50
        Grid points over each feature's observed range.
    seed : int or SeedSequence, default 0
        Seeds the row sample.
    ice_tolerance : float, default 0.01
        Moves against the direction up to this share of the standard deviation of the
        model's predictions on the sampled rows are not violations, so that small wiggles
        of a boosting model are not read as a reversed direction; 0 counts every move
        (beyond float rounding, 1e-9).
    exact : bool, default True
        Also run the exact check on tree ensembles.
    n_jobs, backend, progress
        Parallel features (joblib semantics) and the progress bar (default: when standard
        error is a terminal).

    Returns
    -------
    Verification

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.ensemble import HistGradientBoostingRegressor
    >>> x = np.linspace(0, 1, 300)
    >>> df = pd.DataFrame({"x": x, "y": np.sin(6 * x)})
    >>> m = HistGradientBoostingRegressor(max_iter=50).fit(df[["x"]], df["y"])
    >>> verify(m, df, {"x": "+"}).by_feature["x"].violation_share > 0.9
    True
    """
    options.validate({"ice_rows": ice_rows, "ice_grid": ice_grid, "ice_tolerance": ice_tolerance,
                      "n_jobs": n_jobs, "backend": backend, "progress": progress})
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data: expected a pandas DataFrame, got {type(data).__name__}; "
                        "load it with pandas.read_csv")
    wanted = directions_from(directions)
    columns = model_columns(model, features)
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise DataError(f"data: the model's column(s) {', '.join(map(repr, absent))} are not "
                        "in the data; pass the data the model was fitted on")
    unknown = [f for f, s in wanted.items() if s is not None and f not in columns]
    if unknown:
        raise OptionError(f"directions: {', '.join(map(repr, unknown))} not among the model's "
                          f"features ({', '.join(columns)}); direct only the model's features")
    predict, scale = prediction_function(model, columns)
    rng = np.random.default_rng(seed_sequence(seed))
    n = len(data)
    rows = np.sort(rng.choice(n, size=min(ice_rows, n), replace=False))
    frame = data[columns]
    checked = [c for c in columns if wanted.get(c) is not None]
    for c in checked:
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]):
            raise DataError(f"data: column {c!r} is not numeric, so it has no direction; "
                            "remove it from the directions")
    sample = frame.iloc[rows].to_numpy(dtype=float)
    spread = float(np.std(predict(sample))) if checked else 0.0
    threshold = max(float(ice_tolerance) * spread, _FLOAT_ROUNDING)
    ens = _trees.ensemble(model, columns) if exact else None
    tasks = [
        _Task(c, columns.index(c), wanted[c] or "+", _grid(frame[c].to_numpy(float), ice_grid),
              sample, predict, threshold, ens)
        for c in checked
    ]
    results = run_parallel(
        _check, tasks, n_jobs=n_jobs, backend=backend, progress=resolve_progress(progress),
        desc="checking directions", unit="feature",
    )
    return Verification(
        model=type(model).__name__,
        scale=scale,
        by_feature={r.feature: r for r in results},
        n_rows=len(rows),
        n_grid=ice_grid,
        tolerance=float(ice_tolerance),
        threshold=threshold,
    )


@dataclass(frozen=True)
class _Task:
    feature: str
    column: int
    sign: str
    grid: np.ndarray
    sample: np.ndarray
    predict: Callable[[np.ndarray], np.ndarray]
    threshold: float  # on the prediction scale
    ensemble: _trees.Ensemble | None


def _grid(values: np.ndarray, size: int) -> np.ndarray:
    distinct = np.unique(values)
    if len(distinct) <= size:
        return distinct
    return np.linspace(distinct[0], distinct[-1], size)


def against(curves: np.ndarray, sign: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the largest move against ``sign`` and the (from, to) indices where it happens.

    For ``"+"`` that is the curve's largest fall from any point to a later one.
    """
    c = curves if sign == "+" else -curves
    peak = np.maximum.accumulate(c, axis=1)
    fall = peak - c
    end = fall.argmax(axis=1)
    size = fall[np.arange(len(c)), end]
    masked = np.where(np.arange(c.shape[1])[None, :] <= end[:, None], c, -np.inf)
    start = masked.argmax(axis=1)
    return size, start, end


def _summary(curves: np.ndarray, points: np.ndarray, sign: str, tol: float):
    size, start, end = against(curves, sign)
    bad = size > tol
    share = float(bad.mean()) if len(bad) else 0.0
    if not bad.any():
        return bad, share, 0.0, None
    worst = int(size.argmax())
    at = (float(points[start[worst]]), float(points[end[worst]]))
    return bad, share, float(size[worst]), at


def _check(task: _Task) -> FeatureCheck:
    curves = ice_curves(task.predict, task.sample, task.column, task.grid)
    bad, share, largest, at = _summary(curves, task.grid, task.sign, task.threshold)
    steps = np.diff(curves, axis=1) * (1 if task.sign == "+" else -1)
    interval = (steps < -task.threshold).mean(axis=0) if len(curves) else np.zeros(0)
    return FeatureCheck(
        feature=task.feature,
        direction=task.sign,
        grid=tuple(float(g) for g in task.grid),
        rows_checked=len(curves),
        violation_share=share,
        max_violation=largest,
        max_violation_at=at,
        interval_shares=tuple(float(s) for s in interval),
        exact=_exact(task) if task.ensemble is not None else None,
        curves=curves.astype(np.float32),
        violating=bad,
    )


def _exact(task: _Task) -> ExactCheck | None:
    cuts = _trees.thresholds(task.ensemble, task.column)
    if cuts is None:
        return None
    low, high = float(task.grid[0]), float(task.grid[-1])
    inside = cuts[(cuts > low) & (cuts < high)]
    if len(inside) + 2 > MAX_EXACT_POINTS:
        return None
    # One point per piece of the step function within [low, high]: the ends and the midpoint
    # between consecutive thresholds (a point on a threshold could fall on either side of it,
    # as the libraries compare with < or <= in 32- or 64-bit floats).
    edges = np.concatenate([[low], inside, [high]])
    points = np.unique(np.concatenate([[low, high], (edges[:-1] + edges[1:]) / 2]))
    curves = ice_curves(task.predict, task.sample, task.column, points)
    _, share, largest, at = _summary(curves, points, task.sign, task.threshold)
    if share > 0:
        status = "violated"
    elif _trees.proves_monotone(task.ensemble, task.column, task.sign):
        status = "monotone"
    else:
        status = "inconclusive"
    return ExactCheck(status, len(points), share, largest, at)


