"""The reference summary, cached by content: a daily job does not summarise the same rows twice.

:func:`cached_summary` names a summary by a SHA-256 hash of everything it depends on: the
reference's rows (the graph's columns and the features, values and types, through pandas'
``hash_pandas_object``), the graph, the outcome, the features, the model (``joblib.hash`` of
your model, or ``"default"``), the seed, the sample sizes, the summary format's version and
causalinterp's version. A file of that name in the cache folder is loaded (the model's
predictions on the saved background rows are checked as for any saved summary); else the
reference is summarised and the summary saved there (atomically, so concurrent runs at worst
both compute it). A change of any input is a new name: nothing stale is ever reused.

The folder is the option ``reference_cache_dir``, else ``$CAUSALINTERP_CACHE_DIR``, else
``~/.cache/causalinterp/monitor``; ``reference_cache=False`` turns the cache off. Files are
the ``.npz`` summaries of :mod:`causalinterp.monitoring._store` (no pickle); delete the folder
to empty it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from causalinterp.errors import CausalInterpError
from causalinterp.graph import CausalGraph

#: The environment variable naming the cache folder when ``reference_cache_dir`` is not given.
ENVIRONMENT = "CAUSALINTERP_CACHE_DIR"


def cache_dir(folder: str | Path | None = None) -> Path:
    """The cache folder: ``folder``, else ``$CAUSALINTERP_CACHE_DIR``, else
    ``~/.cache/causalinterp/monitor``."""
    if folder is not None:
        return Path(folder)
    if os.environ.get(ENVIRONMENT):
        return Path(os.environ[ENVIRONMENT])
    return Path.home() / ".cache" / "causalinterp" / "monitor"


def summary_key(
    reference: pd.DataFrame,
    graph: CausalGraph,
    outcome: str,
    *,
    model: Any,
    features: Sequence[str] | None,
    seed: int,
    sizes: dict[str, int],
) -> str | None:
    """The content hash naming a summary; None when the model cannot be hashed."""
    import joblib

    from causalinterp import __version__
    from causalinterp.monitoring._store import FORMAT, VERSION

    try:
        model_hash = "default" if model is None else joblib.hash(model)
    except Exception:  # a model that cannot be pickled is simply not cached
        return None
    used = [c for c in reference.columns if str(c) in graph or str(c) in (features or ())]
    frame = reference[used]
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    described = {
        "format": FORMAT,
        "version": VERSION,
        "causalinterp": __version__,
        "columns": [[str(c), str(frame[c].dtype)] for c in frame.columns],
        "rows": len(frame),
        "graph": graph.to_dot(),
        "outcome": outcome,
        "features": None if features is None else [str(f) for f in features],
        "model": model_hash,
        "seed": seed,
        "sizes": dict(sorted(sizes.items())),
    }
    digest.update(json.dumps(described, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:32]


def cached_summary(
    reference: pd.DataFrame,
    graph: Any,
    outcome: str,
    *,
    model: Any,
    features: Sequence[str] | None,
    seed: int,
    sizes: dict[str, int],
    folder: str | Path | None = None,
) -> tuple[Any, Path | None, bool]:
    """The reference's summary from the cache, or computed and saved there.

    Returns
    -------
    (ReferenceSummary, path, hit)
        ``path`` is the cache file (None when the model cannot be hashed); ``hit`` whether
        it was loaded rather than computed.
    """
    from causalinterp.monitoring.reference import ReferenceSummary, summarize_reference

    graph = graph if isinstance(graph, CausalGraph) else CausalGraph.parse(graph)

    def compute() -> Any:
        return summarize_reference(
            reference, graph, outcome, model=model, features=features, seed=seed, **sizes
        )

    if not isinstance(reference, pd.DataFrame):
        return compute(), None, False
    key = summary_key(
        reference, graph, outcome, model=model, features=features, seed=seed, sizes=sizes
    )
    if key is None:
        return compute(), None, False
    path = cache_dir(folder) / f"reference-{key}.npz"
    if path.is_file():
        try:
            return ReferenceSummary.load(path, model=model), path, True
        except CausalInterpError:
            pass  # damaged, or written by another version: summarised again below
    summary = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        summary.save(path)
    except OSError:
        return summary, None, False  # a read-only cache costs speed, not the run
    return summary, path, False
