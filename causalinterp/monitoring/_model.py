"""The reference's model: the default one a labelled reference fits, the check of the user's,
and the one-thread guard their fits and predictions run under. Both the summary
(:mod:`causalinterp.monitoring.reference`) and its file (:mod:`causalinterp.monitoring._store`)
use them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from causalinterp.errors import DataError
from causalinterp.monitoring import _levels

__all__ = ["check_model", "default_model", "one_thread"]


def one_thread():
    """OpenMP on one thread: gradient boosting's threads spin-wait on a busy machine, which
    made a 2,500-row fit take seconds instead of milliseconds; parallelism is per window."""
    # threadpoolctl limits only the OpenMP runtimes already loaded: load scikit-learn's first.
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def default_model(
    labelled: pd.DataFrame,
    features: Sequence[str],
    outcome: str,
    seed: int,
    levels: Mapping[str, tuple[str, ...]] | None = None,
):
    """Histogram gradient boosting on ``labelled`` (text features as codes, one-hot encoded
    in front of the trees, as ``analyze``'s default model takes them)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if len(labelled) < 25:
        raise DataError(
            f"reference: needs the outcome {outcome!r} in at least 50 rows to fit the default "
            "model; pass model= (--model) or a labelled reference"
        )
    y = labelled[outcome].to_numpy(dtype=float)
    binary = len(np.unique(y)) <= 2
    cls = HistGradientBoostingClassifier if binary else HistGradientBoostingRegressor
    model = _levels.one_hot_default(cls(max_iter=100, random_state=seed), features, levels or {})
    return model.fit(labelled[list(features)], y)


def check_model(model: Any, features: Sequence[str], where: str):
    from causalinterp.attribute import _shap

    spec = _shap.check_model(model, list(features))
    return bool(spec.classifier), spec
