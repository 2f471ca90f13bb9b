"""The reference, summarised once: column summaries, ranges, novelty, mechanisms, the model.

:func:`summarize_reference` reads the reference rows once; the :class:`ReferenceSummary` it
returns is all that :func:`causalinterp.monitor` needs, and can be saved
(``--save-reference``) so that a scheduled job does not re-read a million rows every day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalinterp import options as _options
from causalinterp._seeds import seed_sequence
from causalinterp.errors import DataError
from causalinterp.graph import CausalGraph
from causalinterp.monitoring import _levels, _store
from causalinterp.monitoring import attribution as _attr
from causalinterp.monitoring import performance as _perf
from causalinterp.monitoring._model import check_model as _check_model
from causalinterp.monitoring._model import default_model as _default_model
from causalinterp.monitoring._model import one_thread as _one_thread
from causalinterp.monitoring.changes import change_nodes
from causalinterp.monitoring.drift import ColumnReference, summarize_column
from causalinterp.monitoring.mechanisms import (
    MechanismReference,
    categorical_mechanism,
    fit_mechanism,
)
from causalinterp.monitoring.support import NoveltyReference, fit_novelty

#: Options fixed when the reference is summarised.
SUMMARY_OPTIONS = ("reference_rows", "mechanism_rows", "max_shap_rows")


@dataclass(frozen=True)
class ReferenceSummary:
    """Everything monitoring needs from the reference, computed once.

    Save it with :meth:`save` and pass the file (or the object) as ``reference``. The file is
    an ``.npz`` archive of plain arrays and JSON, read without unpickling anything (see
    :mod:`causalinterp.monitoring._store`); it does not hold your model: pass the model again
    when you load it.

    ``default_fit`` holds the rows the default model was fitted on (None when you passed a
    model), ``model_seed`` its seed, and ``fingerprint`` the model's predictions on the
    background rows, which a loaded summary checks its model against. ``change_sample`` is
    a labelled sample of the outcome and its numeric ancestors (up to ``mechanism_rows``
    rows), for the ``outcome_change`` figure (None without labelled rows).

    ``levels`` holds each text feature's reference levels: ``background``, ``explained`` and
    ``default_fit`` hold such features as codes (see :mod:`causalinterp.monitoring._levels`),
    and :meth:`coded_model` is the model that takes them.
    """

    outcome: str
    features: tuple[str, ...]
    graph: CausalGraph
    columns: Mapping[str, ColumnReference]
    novelty: NoveltyReference | None
    mechanisms: Mapping[str, MechanismReference]
    model: Any
    model_name: str
    classifier: bool
    background: pd.DataFrame
    explained: pd.DataFrame
    reference_abs: np.ndarray
    performance: dict[str, float] | None
    n_rows: int
    settings: Mapping[str, Any]
    default_fit: pd.DataFrame | None = None
    model_seed: int = 0
    fingerprint: np.ndarray | None = None
    change_sample: pd.DataFrame | None = None
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def coded_model(self, new: Mapping[str, tuple[str, ...]] | None = None) -> Any:
        """The model taking text features as codes (``new``: a window's unseen levels)."""
        if self.default_fit is not None or not self.levels:
            return self.model  # the default model is fitted on the codes
        return _levels.model_on_codes(self.model, self.features, self.levels, new)

    def save(self, path: str | Path) -> Path:
        """Write the summary to ``path`` (atomically; an ``.npz`` archive, no pickle).

        Examples
        --------
        >>> import tempfile
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=400)
        >>> ref = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=400)})
        >>> path = summarize_reference(ref, "x -> y", "y").save(tempfile.mkdtemp() + "/ref")
        >>> ReferenceSummary.load(path).n_rows
        400
        """
        return _store.save_summary(self, path)

    @classmethod
    def load(cls, path: str | Path, *, model: Any = None) -> ReferenceSummary:
        """Read a summary written by :meth:`save`.

        Parameters
        ----------
        path : str or pathlib.Path
            The file.
        model : fitted estimator, optional
            The model the summary was made with; needed unless it was the default model.

        Raises
        ------
        DataError
            Not a summary, or one of another version.
        ModelError
            The model is missing, or its predictions differ from the summary's model's.

        Examples
        --------
        See :meth:`save`.
        """
        return cls(**_store.load_summary(path, model=model))


def _graph(graph: Any) -> CausalGraph:
    return graph if isinstance(graph, CausalGraph) else CausalGraph.parse(graph)


def _features(
    reference: pd.DataFrame,
    graph: CausalGraph,
    outcome: str,
    model: Any,
    features: Sequence[str] | None,
) -> tuple[str, ...]:
    if features is None and model is not None and hasattr(model, "feature_names_in_"):
        features = [str(f) for f in model.feature_names_in_]
    if features is None:
        features = [n for n in graph.nodes if n in reference.columns and n != outcome]
    features = tuple(str(f) for f in features)
    missing = [f for f in features if f not in reference.columns]
    if missing:
        raise DataError(
            f"reference: lacks the model's feature(s) {', '.join(missing)}; pass data with "
            "every feature column"
        )
    if not features:
        raise DataError("reference: no feature columns; pass features= or data with graph nodes")
    return features


def summarize_reference(
    reference: pd.DataFrame,
    graph: Any,
    outcome: str,
    *,
    model: Any = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
    reference_rows: int = 100_000,
    mechanism_rows: int = 5000,
    max_shap_rows: int = 2000,
) -> ReferenceSummary:
    """Summarise the reference for :func:`monitor` (once; save it with ``.save(path)``).

    Parameters
    ----------
    reference : pandas.DataFrame
        The rows the model and its causal analysis are trusted on (held-out data, ideally).
    graph : CausalGraph or graph source
        The causal DAG (text, file or :class:`~causalinterp.graph.CausalGraph`).
    outcome : str
        The outcome column.
    model : fitted estimator, optional
        The deployed model. Default: a histogram gradient-boosting model fitted here on the
        reference (needs the outcome in the reference).
    features : sequence of str, optional
        The model's features (default: its ``feature_names_in_``, else every observed node
        except the outcome).
    seed : int
        Root seed of every sample and fit.
    reference_rows, mechanism_rows, max_shap_rows : int
        Sample sizes (see the options table).

    Returns
    -------
    ReferenceSummary

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> ref = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=400)})
    >>> summary = summarize_reference(ref, "x -> y", "y")
    >>> summary.features, sorted(summary.mechanisms)
    (('x',), ['x', 'y'])
    """
    with _one_thread():
        return _summarize(
            reference,
            graph,
            outcome,
            model=model,
            features=features,
            seed=seed,
            reference_rows=reference_rows,
            mechanism_rows=mechanism_rows,
            max_shap_rows=max_shap_rows,
        )


def _summarize(
    reference,
    graph,
    outcome,
    *,
    model,
    features,
    seed,
    reference_rows,
    mechanism_rows,
    max_shap_rows,
) -> ReferenceSummary:
    values = _options.validate(
        {
            "seed": seed,
            "reference_rows": reference_rows,
            "mechanism_rows": mechanism_rows,
            "max_shap_rows": max_shap_rows,
        }
    )
    graph = _graph(graph)
    if not isinstance(reference, pd.DataFrame):
        raise DataError(
            f"reference: expected a DataFrame or a saved summary, got {type(reference).__name__}"
            "; load it with pandas"
        )
    if len(reference) == 0:
        raise DataError("reference: has no rows; pass the rows the model is trusted on")
    if outcome not in graph:
        raise DataError(f"outcome: {outcome!r} is not a node of the graph; name a graph node")
    features = _features(reference, graph, outcome, model, features)
    observed = [n for n in graph.nodes if n in reference.columns]
    if not reference[observed].drop(columns=[outcome], errors="ignore").notna().all().all():
        column = next(c for c in observed if c != outcome and reference[c].isna().any())
        raise DataError(
            f"reference: column {column!r} has missing values; drop or impute those rows first"
        )
    children = seed_sequence(values["seed"]).spawn(7)
    rng = np.random.default_rng(children[0])
    sample = reference[observed]
    if len(sample) > values["reference_rows"]:
        sample = sample.iloc[
            np.sort(rng.choice(len(sample), values["reference_rows"], replace=False))
        ]
    columns = {
        name: summarize_column(
            reference[name].dropna(), name, sample_rows=values["reference_rows"], rng=rng
        )
        for name in observed
    }
    numeric = [f for f in features if columns[f].numeric]
    novelty = fit_novelty(sample, numeric, np.random.default_rng(children[1]))
    labelled = sample[sample[outcome].notna()] if outcome in sample else sample.iloc[:0]
    # Text nodes get a test of their level frequencies (see mechanisms.categorical_mechanism).
    mech_nodes = list(observed)
    mechanisms = {}
    mech_seeds = children[2].generate_state(len(mech_nodes))
    for i, node in enumerate(mech_nodes):
        rows = labelled if node == outcome else sample
        if len(rows) < 20:
            continue
        if len(rows) > values["mechanism_rows"]:
            rows = rows.sample(values["mechanism_rows"], random_state=int(mech_seeds[i]))
        parents = sorted(p for p in graph.parents(node) if p in observed)
        if columns[node].numeric:
            mechanisms[node] = fit_mechanism(rows, node, parents, seed=int(mech_seeds[i]))
        else:
            mechanisms[node] = categorical_mechanism(columns[node], parents)
    # The outcome and its numeric ancestors, jointly, for the outcome_change figure.
    nodes, _ = change_nodes(graph, outcome, {n: columns[n].numeric for n in observed})
    change_sample = None
    if outcome in nodes and len(labelled) >= 20:
        change_sample = labelled[nodes]
        if len(change_sample) > values["mechanism_rows"]:
            change_sample = change_sample.sample(
                values["mechanism_rows"], random_state=int(children[6].generate_state(1)[0])
            )
        change_sample = change_sample.reset_index(drop=True)
    model_seed = int(children[3].generate_state(1)[0])
    levels = _levels.text_levels(reference, features)
    scored = labelled
    default_fit = None
    if model is None:
        # Fitted on one half, scored on the other: an in-sample reference error would make
        # every window look worse than the reference.
        order = np.random.default_rng(model_seed).permutation(len(labelled))
        fit_rows = labelled.iloc[order[: len(order) // 2]]
        scored = labelled.iloc[order[len(order) // 2 :]]
        # Kept (text as codes) so that a saved summary refits this model instead of storing it.
        default_fit = _levels.to_codes(fit_rows, features, levels)[0]
        default_fit[outcome] = fit_rows[outcome].to_numpy()
        model = _default_model(default_fit, features, outcome, model_seed, levels)
        name = "default"
    else:
        from causalinterp.attribute._shap import model_name

        name = model_name(model)
    coded = model if default_fit is not None else _levels.model_on_codes(model, features, levels)
    classifier, spec = _check_model(coded, features, "reference")
    shap_rng = np.random.default_rng(children[4])
    n_background = min(_attr.BACKGROUND_ROWS, len(sample))
    background = sample[list(features)].iloc[
        shap_rng.choice(len(sample), n_background, replace=False)
    ]
    explained = sample[list(features)]
    if len(explained) > values["max_shap_rows"]:
        explained = explained.iloc[
            np.sort(shap_rng.choice(len(explained), values["max_shap_rows"], replace=False))
        ]
    background = _levels.to_codes(background, features, levels)[0]
    explained = _levels.to_codes(explained, features, levels)[0]
    reference_abs = _attr.explain_rows(coded, explained, background, children[5])
    performance = None
    if len(scored):
        rows = _levels.to_codes(scored, list(spec.columns), levels)[0]
        prediction = spec.predict(rows.to_numpy(dtype=float))
        performance = _perf.error_figures(
            scored[outcome].to_numpy(dtype=float), prediction, classifier
        )
    return ReferenceSummary(
        outcome=outcome,
        features=features,
        graph=graph,
        columns=columns,
        novelty=novelty,
        mechanisms=mechanisms,
        model=model,
        model_name=name,
        classifier=classifier,
        background=background,
        explained=explained,
        reference_abs=reference_abs,
        performance=performance,
        n_rows=len(reference),
        settings=values,
        default_fit=default_fit,
        model_seed=model_seed,
        fingerprint=_store.fingerprint(spec, background),
        change_sample=change_sample,
        levels=levels,
    )
