"""Causal risk: how much of the model's attribution rests on features without causal support.

``analysis`` is the ``report.json`` of :func:`causalinterp.analyze` (or its dict, or the
:class:`~causalinterp.report.Report`). A feature is *without causal support* when its
``causal_support`` there is not ``true``: ``false`` (a proxy, a consequence, an attribution far
from the effect) or ``null`` (not identifiable: support cannot be shown). The risk is the summed
attribution share of those features; when it grows, the model leans more on signals that are not
causes, which is when its explanations (and its behaviour under intervention) mislead most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from causalinterp.errors import DataError


@dataclass(frozen=True)
class CausalRisk:
    """Share of the attribution on features without causal support.

    Attributes
    ----------
    unsupported : tuple of str
        The model's features without causal support in the analysis.
    reference, current : float
        Their summed attribution share in the reference and in the window.
    change : float
        ``current - reference``.
    ci_low, ci_high : float
        95% percentile-bootstrap interval of the change.
    """

    unsupported: tuple[str, ...]
    reference: float
    current: float
    change: float
    ci_low: float
    ci_high: float


def load_analysis(analysis: Any, outcome: str, features: Sequence[str]) -> dict[str, bool | None]:
    """Feature to ``causal_support`` from a saved analysis (its folder or report.json, a dict
    or a Report).

    Raises
    ------
    DataError
        Unreadable file, not an analysis report, another outcome, or none of the features.
    """
    where = "analysis"
    if isinstance(analysis, str | Path):
        from causalinterp.inputs import read_report

        # The analysis' folder or its report.json, read as every subcommand reads it.
        where = f"analysis {str(analysis)!r}"
        data = read_report(analysis, "analysis")
    elif hasattr(analysis, "to_dict"):
        data = analysis.to_dict()
    else:
        data = analysis
    if not isinstance(data, Mapping) or not isinstance(data.get("features"), list):
        raise DataError(f"{where}: has no 'features' list; pass the report.json of analyze")
    if data.get("outcome") not in (None, outcome):
        raise DataError(
            f"{where}: analyses the outcome {data.get('outcome')!r}, not {outcome!r}; pass the "
            "analysis of this outcome"
        )
    support = {
        str(row.get("name")): row.get("causal_support")
        for row in data["features"]
        if isinstance(row, Mapping)
    }
    if not set(support) & set(features):
        raise DataError(
            f"{where}: judges none of the model's features ({', '.join(features)}); pass the "
            "analysis of this model"
        )
    return support


def causal_risk(
    features: Sequence[str],
    support: Mapping[str, bool | None],
    reference_shares: np.ndarray,
    current_shares: np.ndarray,
    reference_boot: np.ndarray,
    current_boot: np.ndarray,
) -> CausalRisk:
    """The risk in reference and window, from attribution shares and their bootstrap draws.

    Examples
    --------
    >>> risk = causal_risk(["a", "b"], {"a": True, "b": False}, np.array([0.8, 0.2]),
    ...                    np.array([0.5, 0.5]), np.array([[0.8, 0.2]]), np.array([[0.5, 0.5]]))
    >>> risk.unsupported, round(risk.change, 2)
    (('b',), 0.3)
    """
    mask = np.array([support.get(f) is not True for f in features])
    unsupported = tuple(f for f, m in zip(features, mask, strict=True) if m)
    diff = current_boot[:, mask].sum(axis=1) - reference_boot[:, mask].sum(axis=1)
    low, high = np.percentile(diff, [2.5, 97.5]) if len(diff) else (np.nan, np.nan)
    ref = float(reference_shares[mask].sum())
    cur = float(current_shares[mask].sum())
    return CausalRisk(unsupported, ref, cur, cur - ref, float(low), float(high))
