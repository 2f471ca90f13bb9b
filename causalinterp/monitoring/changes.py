"""How much of the outcome's change each causal mechanism accounts for (``outcome_change``).

The mechanism-change tests of :mod:`causalinterp.monitoring.mechanisms` say *which*
mechanisms changed, each with a p-value. This figure says *how much* of the change in the
outcome's mean between the reference and a labelled window each mechanism ``P(node |
parents)`` of the outcome and its observed ancestors accounts for: Shapley values that add
up to the observed change (DoWhy gcm's multiply-robust estimator, in
:mod:`causalinterp.monitoring._gcm`). It costs a cross-fitted regression per subset of
mechanisms (``2**n`` subsets of ``n`` nodes), so it is opt-in (the ``outcome_change``
option).

Which nodes take part: the outcome and its observed numeric ancestors, on the reference's
labelled sample kept in the summary and on up to ``mechanism_rows`` labelled window rows.
Text nodes and latent nodes are left out (named in ``left_out``): their share is carried by
the mechanisms of their observed children.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from causalinterp.errors import first_line
from causalinterp.monitoring import _gcm


@dataclass(frozen=True)
class OutcomeChange:
    """The change of the outcome's mean in one window, split over mechanisms.

    Attributes
    ----------
    target : str
        The outcome.
    change : float
        Window mean minus reference mean of the outcome (on the rows compared).
    contributions : tuple of (str, float)
        Each node's Shapley contribution to ``change`` (they add up to it), largest
        magnitude first. A node's contribution is the part of the change due to its own
        mechanism ``P(node | parents)``, not to its parents'.
    left_out : tuple of str
        Ancestors that took no part (text or latent nodes).
    rows : tuple of int
        Reference and window rows compared.
    error : str or None
        Why the figure could not be computed for this window (the rest of the window's
        figures stand).
    """

    target: str
    change: float
    contributions: tuple[tuple[str, float], ...] = ()
    left_out: tuple[str, ...] = ()
    rows: tuple[int, int] = (0, 0)
    error: str | None = field(default=None)


def change_nodes(graph, outcome: str, numeric: dict[str, bool]) -> tuple[list[str], list[str]]:
    """(nodes taking part, ancestors left out): the outcome and its numeric observed
    ancestors, in the graph's order."""
    wanted = {outcome} | set(graph.ancestors(outcome))
    taking = [n for n in graph.nodes if n in wanted and numeric.get(n, False)]
    left_out = sorted(n for n in wanted if n not in taking)
    return taking, left_out


def outcome_change(
    graph,
    outcome: str,
    reference: pd.DataFrame | None,
    window: pd.DataFrame,
    *,
    left_out: tuple[str, ...],
    max_rows: int,
    seed: int,
) -> OutcomeChange:
    """The window's :class:`OutcomeChange` against the reference sample (never raises)."""
    if reference is None or outcome not in reference.columns:
        return OutcomeChange(
            outcome, float("nan"), left_out=left_out,
            error="the reference summary keeps no labelled sample (summarise it again)",
        )  # fmt: skip
    columns = list(reference.columns)
    rows = window[columns].dropna()
    if len(rows) < 20:
        return OutcomeChange(
            outcome, float("nan"), left_out=left_out,
            error=f"{len(rows)} complete labelled rows in the window; at least 20 are needed",
        )  # fmt: skip
    if len(rows) > max_rows:
        rows = rows.sample(max_rows, random_state=seed % 2**32)
    old = reference.astype(float)
    new = rows.astype(float).reset_index(drop=True)
    change = float(new[outcome].mean() - old[outcome].mean())
    edges = [(u, v) for u, v in graph.edges if u in columns and v in columns]
    try:
        split = _gcm.mean_change_shapley(edges, old, new, outcome, seed=seed)
    except Exception as error:  # one failing window never takes the report down
        return OutcomeChange(
            outcome, change, left_out=left_out, rows=(len(old), len(new)),
            error=f"the Shapley split failed ({type(error).__name__}: {first_line(error)})",
        )  # fmt: skip
    ordered = sorted(split.items(), key=lambda item: -abs(item[1]))
    return OutcomeChange(
        target=outcome,
        change=change,
        contributions=tuple(ordered),
        left_out=left_out,
        rows=(len(old), len(new)),
    )
