"""The small monitoring world the history, webhook, Dask and browser tests share.

``z -> x; z -> y; x -> y`` with ``y = 2x + z + noise``: ``shift`` moves the root ``z``, so a
shifted window drifts in ``z`` and ``x`` and its alert names the root's mechanism.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GRAPH = "z -> x; z -> y; x -> y"


def draw(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """``n`` rows of the world, the root ``z`` shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(shift, 1.0, n)
    x = z + rng.normal(size=n)
    return pd.DataFrame({"z": z, "x": x, "y": 2 * x + z + rng.normal(size=n)})
