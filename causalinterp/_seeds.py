"""One seed for the whole analysis, turned into independent per-task seeds.

Every random stage takes ``seed: int | numpy.random.SeedSequence`` and spawns children from
:func:`seed_sequence`, so a task's random numbers depend only on the seed and the task's place
in a fixed order: never on ``n_jobs``, the joblib backend, or NumPy's global generator.
"""

from __future__ import annotations

import numpy as np

from causalinterp.errors import OptionError


def seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """A fresh SeedSequence for ``seed``.

    A SeedSequence passed in is copied: spawning from the caller's object would change the
    children it hands out later.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(
            entropy=seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise OptionError(f"seed: {seed!r} is not a non-negative integer; pass e.g. seed=0")
    return np.random.SeedSequence(int(seed))
