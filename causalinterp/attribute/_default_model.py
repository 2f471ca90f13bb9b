"""The model causalinterp fits when the user brings none, and the one fit per analysis.

:func:`default_model` is the estimator (histogram gradient boosting); :func:`fitted_default_model`
fits it on an analysis' feature columns as the attribution stage explains it, wrapped in a
Pipeline that one-hot encodes the level codes of categorical features, and keeps the last fit
so that the domain check, the curves and ``explain`` reuse it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from causalinterp._seeds import seed_sequence
from causalinterp.data import CheckedData
from causalinterp.errors import OptionError

__all__ = ["default_model", "fitted_default_model"]


# The last default model fitted, with what it was fitted on: the domain check, the curves
# and explain reuse the attribution stage's fit instead of repeating it. A weak reference to
# the CheckedData: the cache neither keeps a large frame alive nor mistakes another object
# for it.
_LAST_DEFAULT_FIT: tuple[weakref.ref, tuple, Any] | None = None


def fitted_default_model(
    checked: CheckedData, *, model_seed: int | np.random.SeedSequence
) -> Any:
    """The default model fitted on ``checked``'s feature columns, as
    :func:`attribute_model` fits and explains it.

    Without categorical features it is :func:`default_model` itself. With them it is a
    scikit-learn ``Pipeline`` whose first step turns each categorical feature's level codes
    (the columns of ``checked.frame``) into one 0/1 column per level, in place: the trees
    split on levels, the attributions are explained on those columns and summed back into
    each feature (exact for one-hot groups), and every caller passes the same coded columns.

    The fit is deterministic given the seed, and the last one is kept: the domain check, the
    dose-response curves and :func:`causalinterp.explain` get the attribution stage's model
    without fitting it again.
    """
    global _LAST_DEFAULT_FIT
    features = list(checked.features)
    sequence = seed_sequence(model_seed)
    key = (id(checked), sequence.entropy, tuple(sequence.spawn_key))
    cached = _LAST_DEFAULT_FIT
    if cached is not None and cached[1] == key and cached[0]() is checked:
        return cached[2]
    model = default_model(checked.outcome_kind, seed=model_seed)
    levels = {
        j: len(checked.level_codes(name)[0])
        for j, name in enumerate(features)
        if checked.kinds.get(name) == "categorical"
    }
    if levels:
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        names: list[str] = []
        for j, name in enumerate(features):
            if j not in levels:
                names.append(name)
                continue
            for label in checked.level_codes(name)[0]:
                column = f"{name}={label}"
                while column in names or column in features:
                    column += "_"
                names.append(column)
        one_hot = FunctionTransformer(
            _one_hot_codes,
            kw_args={"levels": levels},
            feature_names_out=_NamesOut(tuple(names)),
        )
        model = Pipeline([("one_hot_levels", one_hot), ("model", model)])
    model.fit(checked.frame[features], checked.frame[checked.outcome])
    _LAST_DEFAULT_FIT = (weakref.ref(checked), key, model)
    return model


def _one_hot_codes(codes: Any, *, levels: Mapping[int, int]) -> np.ndarray:
    """Level-code columns (positions in ``levels``, with their number of levels) as one 0/1
    column per level, in place; the other columns unchanged."""
    a = np.asarray(codes, dtype=np.float64)
    out = []
    for j in range(a.shape[1]):
        if j in levels:
            out.extend((a[:, j] == code).astype(np.float64) for code in range(levels[j]))
        else:
            out.append(a[:, j])
    return np.column_stack(out)


@dataclass(frozen=True)
class _NamesOut:
    """``feature_names_out`` of the one-hot step: ``name=level`` per level column."""

    names: tuple[str, ...]

    def __call__(self, transformer: Any, input_features: Any) -> np.ndarray:
        return np.asarray(self.names, dtype=object)


def default_model(outcome_kind: str, *, seed: int | np.random.SeedSequence) -> Any:
    """The model fitted when the user brings none: histogram gradient boosting.

    Settings: at most 200 boosting iterations, learning rate 0.1, 31 leaves per tree, at
    least 20 rows per leaf, no L2 penalty, and early stopping always on (10% of the rows
    held out for validation; stop after 10 iterations without improvement of the loss).
    Early stopping keeps the ensemble as small as the signal allows, which keeps both the
    fit and the tree SHAP explanation fast; histogram binning (255 bins, thresholds from a
    200,000-row subsample) keeps fitting fast at a million rows. Randomness (the binning
    subsample and the validation split) comes only from ``random_state``, so refits with
    the same seed are identical.

    Parameters
    ----------
    outcome_kind : {"binary", "continuous"}
        ``"binary"`` gives a classifier (explained on the probability scale),
        ``"continuous"`` a squared-error regressor.
    seed : int or numpy.random.SeedSequence
        Seed for ``random_state``.

    Returns
    -------
    sklearn.ensemble.HistGradientBoostingClassifier or HistGradientBoostingRegressor
        Unfitted.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    random_state = int(seed_sequence(seed).generate_state(1)[0])
    settings = {
        "learning_rate": 0.1,
        "max_iter": 200,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
        "early_stopping": True,
        "validation_fraction": 0.1,
        "n_iter_no_change": 10,
        "random_state": random_state,
    }
    if outcome_kind == "binary":
        return HistGradientBoostingClassifier(**settings)
    if outcome_kind == "continuous":
        return HistGradientBoostingRegressor(loss="squared_error", **settings)
    raise OptionError(
        f"outcome_kind: {outcome_kind!r} has no default model; use 'binary' or 'continuous' "
        "(or pass a fitted model)"
    )
