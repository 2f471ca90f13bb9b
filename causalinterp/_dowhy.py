"""Identification adapter: the only module that imports DoWhy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .graph import CausalGraph


@dataclass(frozen=True)
class Identification:
    """How (and whether) a feature's total effect on the outcome is identified.

    Attributes
    ----------
    strategy : {"backdoor", "frontdoor", "iv", "none", "no_path"}
        ``"none"`` means not identifiable from the DAG and the observed columns;
        ``"no_path"`` means there is no directed path to the outcome (a structural zero).
    adjustment_set : tuple of str
        Back-door adjustment set over observed columns (``()`` when none is needed).
    instruments : tuple of str
        Instruments, for ``"iv"``.
    mediators : tuple of str
        Front-door set, for ``"frontdoor"``.
    blocking_latents : tuple of str
        For ``"none"``: the latent confounders that block identification.
    """

    strategy: str
    adjustment_set: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    mediators: tuple[str, ...] = ()
    blocking_latents: tuple[str, ...] = ()


def identify_effect(
    graph: CausalGraph, treatment: str, outcome: str, observed: Sequence[str]
) -> Identification:
    """Identify the total effect of ``treatment`` on ``outcome``."""
    raise NotImplementedError
