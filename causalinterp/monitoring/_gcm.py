"""DoWhy ``gcm`` adapter: the only module that imports :mod:`dowhy.gcm`.

How much of the change in the outcome's mean between the reference and a window each causal
mechanism accounts for: Shapley values over the mechanisms ``P(node | parents)`` of the
outcome and its observed ancestors, by the multiply-robust estimator of
``gcm.distribution_change_robust`` (Quintas-Martinez et al., *Multiply-Robust Causal Change
Attribution*, ICML 2024). The contributions add up to the observed change of the mean. The
nuisances are gcm's defaults (linear regressions, logistic classifiers for the reweighting),
cross-fitted on 5 folds with a fixed split.

gcm draws from numpy's global random generator (the Shapley approximation beyond
:data:`EXACT_UP_TO` nodes); the adapter seeds it from the window's seed and puts the caller's
state back afterwards, so that nothing outside sees the difference.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: Up to this many nodes the Shapley values are exact (2**n subsets); above, gcm samples
#: permutations (seeded).
EXACT_UP_TO = 8


def mean_change_shapley(
    edges: Iterable[tuple[str, str]],
    old: pd.DataFrame,
    new: pd.DataFrame,
    target: str,
    *,
    seed: int,
) -> dict[str, float]:
    """Each node's Shapley contribution to ``new[target].mean() - old[target].mean()``.

    ``edges`` are the DAG's edges among the columns of ``old`` and ``new`` (numeric, without
    missing values), which hold ``target`` and its ancestors.
    """
    import networkx as nx
    from dowhy import gcm

    graph = nx.DiGraph()
    graph.add_nodes_from(old.columns)
    graph.add_edges_from(edges)
    model = gcm.ProbabilisticCausalModel(graph)
    method = (
        gcm.shapley.ShapleyApproximationMethods.EXACT
        if graph.number_of_nodes() <= EXACT_UP_TO
        else gcm.shapley.ShapleyApproximationMethods.AUTO
    )
    config = gcm.shapley.ShapleyConfig(approximation_method=method, n_jobs=1)
    state = np.random.get_state()
    progress = gcm.config.show_progress_bars
    try:
        np.random.seed(seed % 2**32)
        gcm.config.disable_progress_bars()
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            # Overlap warnings of the reweighting classifier: the regression part of the
            # multiply-robust estimate carries the contribution where they would apply.
            warnings.simplefilter("ignore")
            contributions = gcm.distribution_change_robust(
                model, old, new, target, split_random_state=seed % 2**32, shapley_config=config
            )
    finally:
        np.random.set_state(state)
        if progress:
            gcm.config.enable_progress_bars()
    return {str(node): float(value) for node, value in contributions.items()}
