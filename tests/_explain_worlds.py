"""A simulated world with known individual effects, for the per-row explanation tests and
benchmark.

    a -> t, a -> d, a -> y, t -> y, d -> y, u -> p, u -> y, y -> c      (u latent)

* ``t`` (continuous): individual effect ``1 + 0.8 a`` per unit;
* ``d`` (binary): individual effect ``2 + a`` of 1 versus 0;
* ``p``: a proxy of the latent ``u`` (no effect of its own);
* ``c``: a consequence of the outcome (leakage: large SHAP, no effect);
* ``a``: a pre-treatment confounder and the effect modifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GRAPH = "a -> t; a -> d; a -> y; t -> y; d -> y; u -> p; u -> y; y -> c"
FEATURES = ["a", "t", "d", "p", "c"]


def effect_t(a: np.ndarray) -> np.ndarray:
    """The individual effect of one unit of ``t`` on ``y``."""
    return 1.0 + 0.8 * a


def effect_d(a: np.ndarray) -> np.ndarray:
    """The individual effect of ``d`` = 1 versus 0 on ``y``."""
    return 2.0 + a


def sample(n: int, seed: int) -> pd.DataFrame:
    """``n`` units of the world (``u`` is not a column)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    u = rng.normal(size=n)
    t = 0.8 * a + rng.normal(size=n)
    d = (rng.random(n) < 1.0 / (1.0 + np.exp(-0.7 * a))).astype(float)
    y = a + effect_t(a) * t + effect_d(a) * d + 1.5 * u + rng.normal(size=n)
    return pd.DataFrame(
        {
            "a": a,
            "t": t,
            "d": d,
            "p": u + 0.3 * rng.normal(size=n),
            "c": y + 0.5 * rng.normal(size=n),
            "y": y,
        }
    )
