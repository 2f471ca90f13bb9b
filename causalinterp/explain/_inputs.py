"""What an explanation needs from the analysis and the data: the analysis' facts (from a
Report or its report.json), the requested rows' positions, and the model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causalinterp._seeds import stage_seeds
from causalinterp.data import CheckedData
from causalinterp.errors import DataError, ModelError, OptionError
from causalinterp.graph import CausalGraph


@dataclass(frozen=True)
class _Analysis:
    """What an explanation needs from an analysis, from a Report or from report.json."""

    outcome: str
    features: tuple[str, ...]
    graph: CausalGraph
    verdicts: Mapping[str, tuple[str, bool | None]]
    identification: Mapping[str, Mapping[str, Any]]
    average: Mapping[str, Mapping[str, Any] | None]
    seed: int
    nuisance: Any
    default_model: bool
    checked: CheckedData | None = None


def _analysis(report: Any) -> _Analysis:
    if isinstance(report, Mapping):
        return _from_json(report)
    if not hasattr(report, "effects") or not hasattr(report, "verdicts"):
        raise OptionError(
            f"report: expected a Report or the data of a report.json, got "
            f"{type(report).__name__}; pass analyze()'s result"
        )
    verdicts = {f: (str(v.verdict), v.causal_support) for f, v in report.verdicts.items()}
    ident, average = {}, {}
    for name, effect in report.effects.by_feature.items():
        i = effect.identification
        ident[name] = {"strategy": str(i.strategy), "adjustment_set": list(i.adjustment_set)}
        e = effect.estimate
        average[name] = (
            None
            if e is None
            else {
                "estimate": e.estimate,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "method": e.method,
            }
        )
    return _Analysis(
        outcome=report.outcome,
        features=tuple(report.features),
        graph=report.graph,
        verdicts=verdicts,
        identification=ident,
        average=average,
        seed=int(report.settings.get("seed", report.effects.seed)),
        nuisance=report.effects.nuisance,
        default_model=report.settings.get("model", "default") == "default",
        checked=report.checked,
    )


def _from_json(data: Mapping[str, Any]) -> _Analysis:
    try:
        graph = CausalGraph.from_edges(
            [tuple(e) for e in data["graph"]["edges"]], nodes=data["graph"]["nodes"]
        )
        rows = list(data["features"])
        settings = data.get("settings") or {}
        nuisance = settings.get("nuisance") or "auto"
        return _Analysis(
            outcome=str(data["outcome"]),
            features=tuple(str(r["name"]) for r in rows),
            graph=graph,
            verdicts={r["name"]: (str(r["verdict"]), r["causal_support"]) for r in rows},
            identification={r["name"]: dict(r.get("identification") or {}) for r in rows},
            average={r["name"]: r.get("effect") for r in rows},
            seed=int(settings.get("seed") or 0),
            # A custom learner is stated in words only; the default learners stand in for it.
            nuisance=nuisance if nuisance in ("auto", "linear") else "auto",
            default_model=settings.get("model", "default") in ("default", None),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(
            f"analysis: report.json lacks or garbles {error}; pass a folder written by "
            "'causalinterp analyze' or 'causalinterp run'"
        ) from None


def _positions(
    rows: Iterable[Any], data: pd.DataFrame | None, checked: CheckedData, id_column: str | None
) -> list[tuple[Any, int]]:
    """(the row as requested, its position in ``checked.frame``) for every requested row."""
    if isinstance(rows, str | int | np.integer):
        rows = [rows]
    rows = list(rows)
    if not rows:
        raise OptionError("rows: no rows requested; pass at least one row index or id")
    labels = checked.rows if checked.rows is not None else pd.RangeIndex(checked.n_rows)
    if id_column is not None:
        if data is None or id_column not in data.columns:
            raise DataError(f"id_column: {id_column!r} is not a column of the data; name one")
        ids = data[id_column].astype(str)
        if not ids.is_unique:
            raise DataError(f"id_column: {id_column!r} repeats values; use a unique id column")
        lookup = dict(zip(ids, data.index, strict=True))
    else:
        lookup = {str(label): label for label in (data.index if data is not None else labels)}
    found = []
    where = {label: i for i, label in enumerate(labels)}
    for row in rows:
        label = lookup.get(str(row), row if id_column is None else None)
        if label not in where:
            if id_column is None and (data is None or label not in data.index):
                raise DataError(f"rows: {row!r} is not a row of the data; pass an index label")
            if id_column is not None and label is None:
                raise DataError(f"rows: no row has {id_column} = {row!r}; check the id")
            raise DataError(
                f"rows: {row!r} was dropped by the data check (missing values); pass a complete row"
            )
        found.append((row, where[label]))
    return found


def _model_and_frame(
    analysis: _Analysis, checked: CheckedData, data: pd.DataFrame | None, model: Any
) -> tuple[Any, pd.DataFrame, list[str]]:
    """The model to explain, the analysed rows as it takes them, and notes."""
    from causalinterp.attribute import user_model_and_rows
    from causalinterp.attribute._default_model import fitted_default_model

    features = list(checked.features)
    if model is not None:
        if data is None:
            frame = checked.frame[features]
            return model, frame.reset_index(drop=True), []
        return *user_model_and_rows(model, data, checked), []
    if not analysis.default_model:
        raise ModelError(
            "model: the analysis explained the user's own model, which it does not keep; pass "
            "it (explain(rows, model=...) or --model FILE)"
        )
    # The analysis' default model, fitted with its seed on its rows: the same model (with
    # categorical features, the Pipeline that one-hot encodes their level codes).
    rebuilt = fitted_default_model(checked, model_seed=stage_seeds(analysis.seed).model)
    frame = checked.frame[features]
    return rebuilt, frame, ["the analysis' default model was refitted with its seed"]
