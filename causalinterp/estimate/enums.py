"""The named values of the effects stage: identification strategies and effect statuses.

Both are :class:`enum.StrEnum`: a member *is* its string (``Strategy.BACKDOOR ==
"backdoor"``), so ``report.json`` and every renderer see plain strings, while code names the
members and a typo fails at import instead of comparing unequal. This module imports nothing,
so the identification adapter can use it without an import cycle.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EffectStatus", "Strategy"]


class Strategy(StrEnum):
    """How a feature's total effect on the outcome is identified from the DAG.

    Attributes
    ----------
    BACKDOOR, FRONTDOOR, IV
        Identified by an adjustment set, a front-door set or instruments; each has an
        estimator (see :mod:`causalinterp.estimate._econml`).
    NONE
        Not identifiable from the DAG and the observed columns.
    NO_PATH
        No directed path to the outcome: the effect is zero by the graph's assumptions.
    """

    BACKDOOR = "backdoor"
    FRONTDOOR = "frontdoor"
    IV = "iv"
    NONE = "none"
    NO_PATH = "no_path"

    @property
    def estimable(self) -> bool:
        """Whether the strategy has an estimator (back-door, front-door or IV)."""
        return self in (Strategy.BACKDOOR, Strategy.FRONTDOOR, Strategy.IV)


class EffectStatus(StrEnum):
    """What became of one feature's effect in :func:`~causalinterp.estimate.estimate_effects`.

    Attributes
    ----------
    ESTIMATED
        Identified and estimated: the row carries an estimate.
    NO_PATH
        No directed path to the outcome: a structural zero, not estimated.
    NOT_IDENTIFIABLE
        The DAG and observed columns do not identify it; the message names the blocking
        latent confounders.
    ERROR
        Identification or estimation failed (or exceeded the time limit); the message says why.
    """

    ESTIMATED = "estimated"
    NO_PATH = "no_path"
    NOT_IDENTIFIABLE = "not_identifiable"
    ERROR = "error"
