"""Stage: SHAP attributions of the user's model on the outcome's scale.

:func:`attribute_model` is the stage's verb (explain the user's model, or fit and explain the
default one); :func:`compute_attributions` explains any fitted model on a frame. The result,
:class:`Attributions`, keeps every explained row's SHAP values, so
:meth:`Attributions.to_explanation` hands them to ``shap.plots`` unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from causalinterp import options
from causalinterp._seeds import seed_sequence
from causalinterp.attribute import _columns, _shap
from causalinterp.attribute._default_model import default_model, fitted_default_model
from causalinterp.attribute.contrasts import LevelContrast, model_level_contrasts
from causalinterp.data import CheckedData
from causalinterp.errors import DataError, OptionError

if TYPE_CHECKING:
    import shap

__all__ = [
    "Attributions",
    "FeatureAttribution",
    "attribute_model",
    "compute_attributions",
    "default_model",
    "user_model_and_rows",
]

#: Rows explained at most by default (the ``max_shap_rows`` option).
_MAX_ROWS = options.default("max_shap_rows")
#: The options table's defaults of attribute_model()'s keywords.
_DEFAULTS = options.defaults()


@dataclass(frozen=True)
class FeatureAttribution:
    """Mean |SHAP|, rank (1 = largest) and attribution slope of one feature.

    Attributes
    ----------
    feature : str
        Feature name.
    mean_abs_shap : float
        Mean absolute SHAP value over the explained rows, on the outcome scale.
    slope : float
        Least-squares slope of the feature's SHAP values on its values: the model's implied
        change of the outcome per unit of the feature (for a 0/1 feature, the mean SHAP
        value at 1 minus that at 0). ``nan`` if the feature is constant in the rows.
    rank : int
        1 for the largest ``mean_abs_shap``; ties go to the feature listed first.
    mean_abs_shap_se : float
        Standard error of ``mean_abs_shap`` from sampling the explained rows out of all rows
        (finite-population corrected: 0 when every row was explained). It does not include
        the variation due to the background sample.
    slope_se : float
        Ordinary least-squares standard error of ``slope`` (``nan`` with fewer than 3 rows
        or a constant feature).
    """

    feature: str
    mean_abs_shap: float
    slope: float
    rank: int
    mean_abs_shap_se: float = math.nan
    slope_se: float = math.nan


@dataclass(frozen=True)
class Attributions:
    """SHAP values of the rows explained, on the outcome scale, and per-feature summaries.

    Attributes
    ----------
    by_feature : Mapping[str, FeatureAttribution]
        Per feature, in ``X``'s column order.
    shap_values : pandas.DataFrame
        Rows explained x features (``X``'s index and column names), on the outcome scale
        (probability of the positive class for classifiers).
    feature_values : pandas.DataFrame
        The same rows' feature values.
    explainer : str
        ``"tree"``, ``"linear"``, ``"native"``, ``"pipeline-tree"``, ``"pipeline-linear"``,
        ``"pipeline-native"`` (fast and exact), or ``"exact"`` / ``"permutation"``
        (model-agnostic; see :mod:`causalinterp.attribute._shap` and ``docs/models.md``).
    scale : str
        ``"probability"`` for classifiers, ``"outcome"`` otherwise.
    rows_explained : int
        Rows explained (a seeded random sample when ``X`` has more than ``max_rows``).
    rows_total : int
        Rows of ``X``.
    base_value : float
        Mean prediction over the background sample: each row's prediction is
        ``base_value`` plus the sum of its SHAP values.
    background_rows : int
        Background rows the SHAP values average over: the whole sample drawn, except for
        log-odds tree ensembles explained on the probability scale (SHAP's pairwise
        algorithm, 100 rows) and native TreeSHAP (0: path-dependent, no background).
    note : str
        What the explainer computed beyond the plain interventional SHAP values (native
        TreeSHAP is path-dependent), or why no fast explainer applied, what the
        model-agnostic one cost and how many rows the time budget left; ``""`` otherwise.
    level_contrasts : Mapping[str, tuple of LevelContrast]
        Per categorical feature (filled by :func:`attribute_model`), the model's contrast of
        each level against the reference level on the outcome scale, with its interval.
    contrast_notes : Mapping[str, str]
        Per categorical feature whose contrasts could not be computed, why.
    """

    by_feature: Mapping[str, FeatureAttribution]
    shap_values: pd.DataFrame
    feature_values: pd.DataFrame
    explainer: str
    scale: str
    rows_explained: int
    rows_total: int
    base_value: float = math.nan
    background_rows: int = 0
    note: str = ""
    #: Per categorical feature, the model's contrast of each level against the reference
    #: (:mod:`causalinterp.attribute.contrasts`): what the verdict compares with the causal
    #: level effects, as it compares ``slope`` with a continuous feature's effect.
    level_contrasts: Mapping[str, tuple[LevelContrast, ...]] = dataclasses.field(
        default_factory=dict
    )
    #: Per categorical feature without contrasts: why (one line).
    contrast_notes: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def to_explanation(self) -> shap.Explanation:
        """The explained rows' SHAP values as a ``shap.Explanation``, for ``shap.plots``.

        Returns
        -------
        shap.Explanation
            ``values``: :attr:`shap_values` (rows explained x features, on the outcome's
            scale: probabilities for classifiers); ``base_values``: :attr:`base_value` for
            every row; ``data``: :attr:`feature_values` (level codes for categorical
            features); ``feature_names``: the features, in order.

        Examples
        --------
        >>> import shap  # doctest: +SKIP
        >>> explanation = report.attributions.to_explanation()  # doctest: +SKIP
        >>> shap.plots.beeswarm(explanation, show=False)  # doctest: +SKIP
        """
        import shap

        return shap.Explanation(
            values=self.shap_values.to_numpy(dtype=np.float64, copy=True),
            base_values=np.full(len(self.shap_values), self.base_value, dtype=np.float64),
            data=self.feature_values.to_numpy(dtype=np.float64, copy=True),
            feature_names=[str(c) for c in self.shap_values.columns],
        )


def _background_rows(value: Any) -> int:
    # Not a user option (the pipeline keeps the default): a bad value is a programming error.
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise OptionError(f"background_rows: {value!r} is not a positive integer")
    return int(value)


def _sample(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of ``k`` of ``n`` rows drawn without replacement (all if k >= n)."""
    if k >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=k, replace=False))


def compute_attributions(
    model: Any,
    X: pd.DataFrame,
    *,
    seed: int | np.random.SeedSequence = 0,
    max_rows: int = _MAX_ROWS,
    background_rows: int = 200,
    max_seconds: float | None = None,
    progress: bool | None = None,
    n_jobs: int | None = _DEFAULTS["n_jobs"],
    backend: str | None = _DEFAULTS["backend"],
) -> Attributions:
    """SHAP attributions of a fitted model on the outcome scale, per feature.

    Parameters
    ----------
    model : estimator
        Fitted binary classifier with ``predict_proba`` or single-output regressor (or a
        Pipeline), fitted on the columns of ``X``.
    X : pandas.DataFrame
        Feature values, numeric, without missing values; one column per model feature.
    seed : int or numpy.random.SeedSequence
        Seeds the row sample, the background sample and (for many features) the
        permutation explainer; the same seed gives identical results.
    max_rows : int, default 2000
        Rows explained at most (the ``max_shap_rows`` option, at least 10): a random sample
        of this many rows when ``X`` is larger.
    background_rows : int, default 200
        Rows of ``X`` drawn as the background sample that absent features are taken from.
    max_seconds : float, optional
        Time budget of a model-agnostic explanation (no fast explainer applies): fewer rows
        are explained when it would take longer, which widens ``mean_abs_shap_se``.
    progress : bool, optional
        For a model-agnostic explanation: announce it on standard error and show a progress
        bar (True), announce it and show the bar only on a terminal (None), or stay silent
        (False; :attr:`Attributions.note` still says what ran).
    n_jobs, backend : optional
        Parallel workers and joblib backend for a slow tree explanation (SHAP's pairwise
        algorithm, split over row chunks: the same values); None keeps the active
        ``joblib.parallel_config``.

    Returns
    -------
    Attributions
        Per-feature mean |SHAP|, rank and attribution slope, and the SHAP values and
        feature values of the rows explained.

    Raises
    ------
    ModelError
        The model cannot be explained (unfitted, other columns, multiclass, ...).
    DataError
        ``X`` is not a non-empty numeric DataFrame without missing values.
    OptionError
        ``seed``, ``max_rows`` or ``background_rows`` is invalid.

    Notes
    -----
    Cost: tree ensembles take seconds (about rows x background rows x trees x leaves);
    models without a dedicated explainer need ``2**p x background_rows`` predictions per
    row for p <= 8 features and ``10 (p - 1) x background_rows`` above, which is slow for
    models with costly predictions (kernel machines, nearest neighbours).
    """
    max_rows = options.validate({"max_shap_rows": max_rows})["max_shap_rows"]
    background_rows = _background_rows(background_rows)
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"X: expected a pandas DataFrame, got {type(X).__name__}; pass the feature columns"
            " as a DataFrame"
        )
    if len(X) == 0 or X.shape[1] == 0:
        raise DataError("X: has no rows or no columns; pass the feature columns")
    rows_seed, background_seed, explain_seed = seed_sequence(seed).spawn(3)
    n = len(X)
    rows = _sample(n, max_rows, np.random.default_rng(rows_seed))
    background = _sample(n, background_rows, np.random.default_rng(background_seed))

    explained = X.iloc[rows]
    result = _shap.explain(
        model,
        explained,
        background=X.iloc[background],
        seed=explain_seed,
        max_seconds=max_seconds,
        progress=progress,
        n_jobs=n_jobs,
        backend=backend,
    )
    if result.rows is not None:  # the time budget left room for only some rows
        rows = rows[result.rows]
        explained = X.iloc[rows]

    features = [str(c) for c in X.columns]
    values = result.values
    x = explained.to_numpy(dtype=np.float64)
    m = len(rows)
    abs_values = np.abs(values)
    mean_abs = abs_values.mean(axis=0)
    if m > 1:
        finite_population = math.sqrt(max(0.0, 1.0 - m / n))
        mean_abs_se = abs_values.std(axis=0, ddof=1) / math.sqrt(m) * finite_population
    else:
        mean_abs_se = np.full(len(features), math.nan)
    slopes, slope_ses = _ols_slopes(x, values)
    # Rank 1 = largest mean |SHAP|; the stable sort keeps feature order among ties.
    order = np.argsort(-mean_abs, kind="stable")
    ranks = np.empty(len(features), dtype=int)
    ranks[order] = np.arange(1, len(features) + 1)

    by_feature = {
        f: FeatureAttribution(
            feature=f,
            mean_abs_shap=float(mean_abs[j]),
            slope=float(slopes[j]),
            rank=int(ranks[j]),
            mean_abs_shap_se=float(mean_abs_se[j]),
            slope_se=float(slope_ses[j]),
        )
        for j, f in enumerate(features)
    }
    return Attributions(
        by_feature=by_feature,
        shap_values=pd.DataFrame(values, index=explained.index.copy(), columns=features),
        feature_values=pd.DataFrame(x, index=explained.index.copy(), columns=features),
        explainer=result.explainer,
        scale=result.scale,
        rows_explained=int(m),
        rows_total=int(n),
        base_value=float(result.base_value),
        background_rows=result.background_rows,
        note=result.note,
    )


def _ols_slopes(x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column j, the least-squares slope of s[:, j] on x[:, j] and its standard error."""
    m = x.shape[0]
    xc = x - x.mean(axis=0)
    sc = s - s.mean(axis=0)
    sxx = (xc * xc).sum(axis=0)
    # A feature is constant when its spread is at rounding level relative to its size.
    scale = np.maximum(np.abs(x).max(axis=0), 1.0) if m else np.ones(x.shape[1])
    constant = sxx <= (1e-12 * scale) ** 2 * max(m, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(constant, np.nan, (xc * sc).sum(axis=0) / np.where(constant, 1.0, sxx))
        if m > 2:
            resid = sc - xc * np.where(constant, 0.0, slope)
            sigma2 = (resid * resid).sum(axis=0) / (m - 2)
            se = np.where(constant, np.nan, np.sqrt(sigma2 / np.where(constant, 1.0, sxx)))
        else:
            se = np.full(x.shape[1], np.nan)
    return slope, se


def attribute_model(
    model: Any,
    data: pd.DataFrame,
    checked: CheckedData,
    *,
    model_seed: int | np.random.SeedSequence,
    seed: int | np.random.SeedSequence = _DEFAULTS["seed"],
    max_shap_rows: int = _DEFAULTS["max_shap_rows"],
    max_shap_seconds: float | None = _DEFAULTS["max_shap_seconds"],
    progress: bool | None = _DEFAULTS["progress"],
    n_jobs: int | None = _DEFAULTS["n_jobs"],
    backend: str | None = _DEFAULTS["backend"],
) -> Attributions:
    """Explain the user's model on the analysed rows, or fit the default model and explain it.

    Categorical features are explained as wholes (their columns' SHAP values summed) and get
    no slope: their level codes have no unit.

    Parameters
    ----------
    model : fitted estimator or None
        The user's fitted regressor or binary classifier (a Pipeline included), fitted on the
        columns ``checked.features`` of ``data``; None fits :func:`default_model` on them.
    data : pandas.DataFrame
        The user's data, as given to :func:`causalinterp.data.check_data` (the model sees
        its own column values; rows dropped by the check are left out).
    checked : CheckedData
        The checked data: features, outcome, kinds and the rows analysed.
    model_seed : int or numpy.random.SeedSequence
        Seeds the default model (unused when ``model`` is given).
    seed : int or numpy.random.SeedSequence, default 0
        Seeds the sample of rows explained, the background sample and the explainer.
    max_shap_rows : int, default 2000
        Rows explained at most (at least 10): a seeded sample when there are more.
    max_shap_seconds : float, optional
        Time budget of a model-agnostic explanation of the user's model (the default model
        always has a fast explainer).
    progress : bool, optional
        As in :func:`compute_attributions` (``analyze()`` passes its ``progress``).
    n_jobs, backend : optional
        As in :func:`compute_attributions` (``analyze()`` passes its own).

    Returns
    -------
    Attributions
        Per feature, mean |SHAP|, its rank and the attribution slope, and the SHAP values of
        the rows explained (:meth:`Attributions.to_explanation` for ``shap.plots``).

    Raises
    ------
    OptionError
        For an invalid ``max_rows`` or seed.
    ModelError
        The model cannot be explained (unfitted, other columns, multiclass, ...).

    Examples
    --------
    >>> from causalinterp.attribute import attribute_model
    >>> from causalinterp.data import check_data
    >>> from causalinterp.simulators import retention_model
    >>> sim = retention_model()
    >>> data = sim.sample(2000, seed=0)
    >>> checked = check_data(data, sim.graph, "churned", features=["tenure_years", "support_calls"])
    >>> attributions = attribute_model(None, data, checked, model_seed=0, seed=0, max_shap_rows=500)
    >>> attributions.explainer, attributions.scale, attributions.rows_explained
    ('tree', 'probability', 500)
    >>> sorted(attributions.by_feature, key=lambda f: attributions.by_feature[f].rank)
    ['tenure_years', 'support_calls']
    """
    checked_options = options.validate(
        {"max_shap_rows": max_shap_rows, "max_shap_seconds": max_shap_seconds}
    )
    max_rows, max_seconds = checked_options["max_shap_rows"], checked_options["max_shap_seconds"]
    if model is None:
        explained = fitted_default_model(checked, model_seed=model_seed)
        rows = checked.frame[list(checked.features)]
    else:
        explained, rows = user_model_and_rows(model, data, checked)
    attributions = compute_attributions(
        explained,
        rows,
        seed=seed,
        max_rows=max_rows,
        max_seconds=None if model is None else max_seconds,
        progress=None if model is None else progress,
        n_jobs=n_jobs,
        backend=backend,
    )
    attributions = _without_categorical_slopes(attributions, checked)
    if not any(checked.kinds.get(f) == "categorical" for f in checked.features):
        return attributions
    # Categorical features are judged level by level on the model's own contrasts.
    contrast_seed = int(seed_sequence(seed).generate_state(1)[0])
    contrasts, notes = model_level_contrasts(explained, rows, checked, seed=contrast_seed)
    return dataclasses.replace(attributions, level_contrasts=contrasts, contrast_notes=notes)


def user_model_and_rows(
    model: Any, data: pd.DataFrame, checked: CheckedData
) -> tuple[Any, pd.DataFrame]:
    """The user's model and the rows to explain it on, as the model expects them.

    Every stage that evaluates a user's model on the analysed rows (attributions, the domain
    check, the curves, ``explain``) takes them from here, so they all see the same inputs.

    Returns
    -------
    model, rows : estimator, pandas.DataFrame
        The model (wrapped to decode level codes when the data has text columns) and the
        checked rows, indexed 0..n-1.

    Text and ``category`` columns are explained as their level codes (SHAP needs numbers);
    the model, fitted on the user's own values, gets them back through :class:`_LevelDecoder`.
    """
    features = list(checked.features)
    columns = {str(c): c for c in data.columns}
    raw = data.loc[:, [columns[f] for f in features]].set_axis(features, axis=1)
    if checked.rows is not None:
        raw = raw.loc[checked.rows]  # unique labels: analyze() resets a repeated index
    # Text read from a CSV file takes the categories the model file stored (LightGBM,
    # XGBoost); any other type or level the model was not fitted on would fail deep inside
    # its library (or pass silently): name the column, the type expected and the type given.
    raw = _columns.conform_to_model(model, raw)
    _columns.check_column_types(model, raw, name=_shap.model_name(model))
    rows = raw.reset_index(drop=True)
    coded = [f for f in features if f in checked.levels]
    if not coded:
        return model, rows
    decode = {}
    for name in coded:
        rows[name] = checked.frame[name].to_numpy()
        dtype = raw[name].dtype
        by_label = (
            {str(c): c for c in dtype.categories}
            if isinstance(dtype, pd.CategoricalDtype)
            else {str(v): v for v in raw[name].dropna().unique()}
        )
        decode[name] = (np.array([by_label[label] for label in checked.levels[name]]), dtype)
    order = list(_shap.check_model(model, features).columns)
    return _LevelDecoder(model, order, decode), rows


class _LevelDecoder:
    """A user's model that takes level codes in place of its text or ``category`` columns.

    SHAP explains numeric inputs; the model was fitted on the user's own values. Each call
    turns the codes back into those values (with the original dtype) and calls the model.
    """

    def __init__(
        self, model: Any, columns: list[str], decode: Mapping[str, tuple[np.ndarray, Any]]
    ) -> None:
        self.model = model
        self.columns = columns
        self.decode = dict(decode)
        self.feature_names_in_ = np.array(columns, dtype=object)
        self.n_features_in_ = len(columns)
        if _shap.is_classifier(model):
            self._estimator_type = "classifier"
            self.classes_ = model.classes_

    def _frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):  # named columns (partial dependence): by name
            X = X[self.columns]
        frame = pd.DataFrame(np.asarray(X, dtype=float), columns=self.columns)
        for name, (values, dtype) in self.decode.items():
            codes = frame[name].to_numpy().astype(int)
            frame[name] = pd.Series(values[codes], dtype=dtype)
        return frame

    def predict(self, X: Any) -> np.ndarray:
        return self.model.predict(self._frame(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model.predict_proba(self._frame(X))


def _without_categorical_slopes(attributions: Attributions, checked: CheckedData) -> Attributions:
    """A categorical feature's codes have no unit: its attribution slope is undefined (NaN);
    its mean |SHAP| and rank stand."""
    by_feature = dict(attributions.by_feature)
    changed = False
    for name, attribution in by_feature.items():
        if checked.kinds.get(name) == "categorical":
            by_feature[name] = dataclasses.replace(attribution, slope=math.nan, slope_se=math.nan)
            changed = True
    return dataclasses.replace(attributions, by_feature=by_feature) if changed else attributions
