"""Stage: test the DAG's implied conditional independences against the data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Implication:
    """One implied conditional independence ``x ⟂ y | given`` and its test."""

    x: str
    y: str
    given: tuple[str, ...]
    test: str
    p_value: float
    p_adjusted: float
    violated: bool


@dataclass(frozen=True)
class GraphTest:
    """Result of testing the DAG against the data.

    ``suggestions`` names missing edges or confounders the violations point to.
    """

    method: str
    implications: tuple[Implication, ...]
    alpha: float
    suggestions: tuple[str, ...]

    @property
    def tested(self) -> int:
        return len(self.implications)

    @property
    def violations(self) -> tuple[Implication, ...]:
        return tuple(i for i in self.implications if i.violated)

    @property
    def fits(self) -> bool:
        return not self.violations
