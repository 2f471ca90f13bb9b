"""Stage: check and prepare the user's data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class CheckedData:
    """The used columns, checked and numeric, with each column's kind.

    ``kinds`` maps column to ``"binary"``, ``"continuous"`` or ``"categorical"``.
    """

    frame: pd.DataFrame
    kinds: Mapping[str, str]
    outcome: str
    features: tuple[str, ...]
    observed: tuple[str, ...]
    latent: tuple[str, ...]
    n_rows: int
    dropped_rows: int = 0
