"""The refuters' names, which the results (:mod:`causalinterp.refute.results`) and the rule of
what each can detect (:mod:`causalinterp.refute.roles`) both key on.

The names are :class:`~enum.StrEnum` members, so they compare equal to (and serialise as) the
plain strings the report has always used.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RefuterName"]


class RefuterName(StrEnum):
    """The five refuters, in the fixed order that also fixes their random seeds."""

    PLACEBO_TREATMENT = "placebo_treatment"
    RANDOM_COMMON_CAUSE = "random_common_cause"
    DATA_SUBSET = "data_subset"
    BOOTSTRAP = "bootstrap"
    DUMMY_OUTCOME = "dummy_outcome"
