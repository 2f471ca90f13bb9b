"""The saved reference summary: a numpy ``.npz`` archive read with ``allow_pickle=False``.

Monitoring never unpickles a file. The archive holds plain arrays (numbers and fixed-width
text) and one JSON document (``__meta__``) with the format name, its version and every scalar;
no fitted object is stored:

* the mechanisms' trees are kept as plain arrays (node features, thresholds, children, leaf
  values: :class:`~causalinterp.monitoring.mechanisms.Trees`) and evaluated from them;
* the default model (fitted by :func:`~causalinterp.monitoring.summarize_reference` when no
  model was given) is refitted the same way;
* a model you passed is not stored: pass it again when loading (``model=`` or ``--model``).

In both cases the model's predictions on the SHAP background rows (saved with the summary)
must come out the same on loading, so a summary is never used with a model other than the one
its reference attributions were computed with.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from causalinterp.errors import DataError, ModelError

if TYPE_CHECKING:
    from causalinterp.monitoring.reference import ReferenceSummary

#: The ``format`` field of a summary's metadata.
FORMAT = "causalinterp reference summary"
#: Version of the saved summary; a file of another version is refused.
VERSION = 3

_META = "__meta__"


def save_summary(summary: ReferenceSummary, path: str | Path) -> Path:
    """Write ``summary`` to ``path`` (atomically) as an ``.npz`` archive with JSON metadata.

    Examples
    --------
    >>> import tempfile
    >>> from causalinterp.monitoring import summarize_reference
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> ref = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=400)})
    >>> path = save_summary(summarize_reference(ref, "x -> y", "y"), tempfile.mkdtemp() + "/s")
    >>> load_summary(path)["features"]
    ('x',)
    """
    from causalinterp._io import write_bytes_atomic
    from causalinterp.monitoring.mechanisms import Trees

    arrays: dict[str, np.ndarray] = {}

    def put(key: str, value: np.ndarray | None) -> str | None:
        if value is None:
            return None
        arrays[key] = np.asarray(value)
        return key

    columns = []
    for i, ref in enumerate(summary.columns.values()):
        columns.append(_column_meta(ref, put(f"column{i}_sample", ref.sample)))
    novelty = None
    if summary.novelty is not None:
        n = summary.novelty
        novelty = {
            "columns": list(n.columns),
            "cutoff": n.cutoff,
            "mean": put("novelty_mean", n.mean),
            "scale": put("novelty_scale", n.scale),
            "precision": put("novelty_precision", n.precision),
        }
    mechanisms = []
    for i, m in enumerate(summary.mechanisms.values()):
        mechanisms.append(
            {
                "node": m.node,
                "parents": list(m.parents),
                "binary": m.binary,
                "intercept": m.intercept,
                "residual_std": m.residual_std,
                "levels": {k: list(v) for k, v in m.levels.items()},
                "coef": put(f"mech{i}_coef", m.coef),
                "residuals": put(f"mech{i}_residuals", m.residuals),
                "low": put(f"mech{i}_low", m.low),
                "high": put(f"mech{i}_high", m.high),
                "trees": None
                if m.booster is None
                else {
                    "baseline": m.booster.baseline,
                    **{f: put(f"mech{i}_trees_{f}", getattr(m.booster, f)) for f in Trees.FIELDS},
                },
                "booster_seed": m.booster_seed,
                "hold_x": put(f"mech{i}_hold_x", m.hold_x),
                "column": None if m.column is None else _column_meta(m.column, None),
            }
        )
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "outcome": summary.outcome,
        "features": list(summary.features),
        "graph": summary.graph.to_dot(),
        "columns": columns,
        "novelty": novelty,
        "mechanisms": mechanisms,
        "model_name": summary.model_name,
        "classifier": summary.classifier,
        "default_model": summary.default_fit is not None,
        "model_seed": summary.model_seed,
        "fingerprint": put("fingerprint", summary.fingerprint),
        "background": _frame(summary.background, "background", put),
        "explained": _frame(summary.explained, "explained", put),
        "default_fit": None
        if summary.default_fit is None
        else _frame(summary.default_fit, "default_fit", put),
        "change_sample": None
        if summary.change_sample is None
        else _frame(summary.change_sample, "change_sample", put),
        "reference_abs": put("reference_abs", summary.reference_abs),
        "performance": summary.performance,
        "n_rows": summary.n_rows,
        "settings": dict(summary.settings),
        "levels": {k: list(v) for k, v in summary.levels.items()},
    }
    text = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **{_META: text}, **arrays)
    return write_bytes_atomic(path, buffer.getvalue())


def load_summary(path: str | Path, *, model: Any = None) -> dict[str, Any]:
    """Read a summary written by :func:`save_summary`: the keyword arguments of its
    :class:`~causalinterp.monitoring.reference.ReferenceSummary` (which builds itself from them,
    so that this file format sits below the summary).

    ``model`` is the model the summary was made with, when it was not the default one. Raises
    a one-line :class:`DataError` for a file that is not a summary of this version and a
    :class:`ModelError` when the model is missing or is not the summary's model.
    """
    from causalinterp.graph import CausalGraph
    from causalinterp.monitoring._model import check_model, default_model, one_thread
    from causalinterp.monitoring.drift import ColumnReference
    from causalinterp.monitoring.mechanisms import MechanismReference, Trees
    from causalinterp.monitoring.support import NoveltyReference

    where = f"reference {str(path)!r}"
    if not Path(path).is_file():
        raise DataError(f"{where}: file does not exist; check the path")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        TypeError,
        AttributeError,  # a plain .npy file: an array, not an archive
        zipfile.BadZipFile,
        UnicodeDecodeError,
    ):
        raise DataError(
            f"{where}: not a reference summary; write one with --save-reference (or "
            "ReferenceSummary.save)"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError(f"{where}: not a reference summary; write one with --save-reference")
    if meta.get("version") != VERSION:
        raise DataError(
            f"{where}: a reference summary of version {meta.get('version')!r}, not {VERSION}; "
            "write it again with --save-reference"
        )

    def get(key: str | None) -> np.ndarray | None:
        return None if key is None else arrays[key]

    try:
        columns = {
            c["name"]: _column(c, get(c["sample"]), ColumnReference) for c in meta["columns"]
        }
        n = meta["novelty"]
        novelty = None
        if n is not None:
            novelty = NoveltyReference(
                tuple(n["columns"]),
                get(n["mean"]),
                get(n["scale"]),
                get(n["precision"]),
                float(n["cutoff"]),
            )
        mechanisms = {}
        with one_thread():
            for m in meta["mechanisms"]:
                trees = m["trees"]
                booster = None
                if trees is not None:
                    booster = Trees(
                        **{f: get(trees[f]) for f in Trees.FIELDS},
                        baseline=float(trees["baseline"]),
                    )
                mechanisms[m["node"]] = MechanismReference(
                    node=m["node"],
                    parents=tuple(m["parents"]),
                    binary=bool(m["binary"]),
                    coef=get(m["coef"]),
                    intercept=float(m["intercept"]),
                    booster=booster,
                    residuals=get(m["residuals"]),
                    residual_std=float(m["residual_std"]),
                    levels={k: tuple(v) for k, v in m["levels"].items()},
                    low=get(m["low"]),
                    high=get(m["high"]),
                    column=None
                    if m["column"] is None
                    else _column(m["column"], None, ColumnReference),
                    booster_seed=int(m["booster_seed"]),
                    hold_x=get(m["hold_x"]),
                )
            background = _unframe(meta["background"], get)
            explained = _unframe(meta["explained"], get)
            default_fit = None
            if meta["default_fit"] is not None:
                default_fit = _unframe(meta["default_fit"], get)
            # Absent from summaries written before the outcome_change figure existed.
            change_sample = None
            if meta.get("change_sample") is not None:
                change_sample = _unframe(meta["change_sample"], get)
        levels = {str(k): tuple(str(x) for x in v) for k, v in meta["levels"].items()}
        graph = CausalGraph.parse(meta["graph"])
        fingerprint = get(meta["fingerprint"])
        reference_abs = get(meta["reference_abs"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise DataError(
            f"{where}: a damaged reference summary; write it again with --save-reference"
        ) from None
    features = tuple(meta["features"])
    name = meta["model_name"]
    if default_fit is not None:
        if model is not None:
            raise ModelError(
                f"model: {where} was made with the default model, not yours; summarise the "
                "reference again with your model (--model with --save-reference)"
            )
        with one_thread():
            model = default_model(
                default_fit, features, meta["outcome"], meta["model_seed"], levels
            )
    elif model is None:
        raise ModelError(
            f"model: {where} was made with the model {name}, which a summary does not store; "
            "pass that model too (--model FILE, Python: model=)"
        )
    coded = model
    if default_fit is None and levels:
        from causalinterp.monitoring._levels import model_on_codes

        coded = model_on_codes(model, features, levels)
    with one_thread():  # OpenMP threads spinning on 100 rows cost more than the prediction
        _, spec = check_model(coded, features, "reference")
        same = fingerprint is None or _same_predictions(spec, background, fingerprint)
    if not same:
        raise ModelError(
            f"model: not the model {where} was made with (its predictions differ); pass that "
            "model, or summarise the reference again with this one"
        )
    return dict(
        outcome=meta["outcome"],
        features=features,
        graph=graph,
        columns=columns,
        novelty=novelty,
        mechanisms=mechanisms,
        model=model,
        model_name=name,
        classifier=bool(meta["classifier"]),
        background=background,
        explained=explained,
        reference_abs=reference_abs,
        performance=meta["performance"],
        n_rows=int(meta["n_rows"]),
        settings=meta["settings"],
        default_fit=default_fit,
        model_seed=int(meta["model_seed"]),
        fingerprint=fingerprint,
        change_sample=change_sample,
        levels=levels,
    )


def fingerprint(spec: Any, background: pd.DataFrame) -> np.ndarray | None:
    """The model's predictions on the background rows (None when it cannot predict them)."""
    try:
        return np.asarray(
            spec.predict(background[list(spec.columns)].to_numpy(dtype=float)), dtype=float
        )
    except (ValueError, TypeError):
        return None


def _same_predictions(spec: Any, background: pd.DataFrame, saved: np.ndarray) -> bool:
    now = fingerprint(spec, background)
    return now is not None and now.shape == saved.shape and np.allclose(now, saved, rtol=1e-6)


def _column_meta(ref: Any, sample_key: str | None) -> dict[str, Any]:
    return {
        "name": ref.name,
        "kind": ref.kind,
        "numeric": ref.numeric,
        "std": ref.std,
        "low": ref.low,
        "high": ref.high,
        "counts": None if ref.counts is None else [[k, int(v)] for k, v in ref.counts.items()],
        "sample": sample_key,
    }


def _column(meta: dict[str, Any], sample: np.ndarray | None, cls: type) -> Any:
    counts = meta["counts"]
    return cls(
        name=meta["name"],
        kind=meta["kind"],
        numeric=bool(meta["numeric"]),
        sample=sample,
        std=float(meta["std"]),
        low=float(meta["low"]),
        high=float(meta["high"]),
        counts=None if counts is None else {str(k): int(v) for k, v in counts},
    )


def _frame(frame: pd.DataFrame, prefix: str, put: Any) -> dict[str, Any]:
    """A DataFrame as one array per column: numbers as they are, anything else as text."""
    columns, keys, kinds = [], [], []
    for j, name in enumerate(frame.columns):
        values = frame[name]
        numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        array = values.to_numpy() if numeric else values.astype(str).to_numpy(dtype=str)
        columns.append(str(name))
        keys.append(put(f"{prefix}{j}", array))
        kinds.append("number" if numeric else "text")
    index = frame.index.to_numpy()
    index_key = put(f"{prefix}_index", index) if index.dtype.kind in "iuf" else None
    return {"columns": columns, "keys": keys, "kinds": kinds, "index": index_key}


def _unframe(meta: dict[str, Any], get: Any) -> pd.DataFrame:
    data = {}
    for name, key, kind in zip(meta["columns"], meta["keys"], meta["kinds"], strict=True):
        values = get(key)
        data[name] = values if kind == "number" else values.astype(object)
    index = get(meta["index"])
    return pd.DataFrame(data, index=index)
