"""One seed for the whole analysis, turned into independent per-task seeds.

Every random stage takes ``seed: int | numpy.random.SeedSequence`` and spawns children from
:func:`seed_sequence`, so a task's random numbers depend only on the seed and the task's place
in a fixed order: never on ``n_jobs``, the joblib backend, or NumPy's global generator.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from causalinterp import options


class StageSeeds(NamedTuple):
    """The seed each stage of :func:`causalinterp.analyze` receives, derived from one seed."""

    effects: int
    refutations: int
    graph_test: int
    model: int
    attributions: int
    curves: int
    domain: int


def stage_seeds(seed: int) -> StageSeeds:
    """The per-stage seeds :func:`causalinterp.analyze` derives from ``seed``.

    Use them to run the stages by hand and get the same numbers as ``analyze(seed=seed)``.

    Parameters
    ----------
    seed : int
        The analysis seed (non-negative).

    Returns
    -------
    StageSeeds
        One integer per stage, in the order the stages run.

    Examples
    --------
    >>> from causalinterp import stage_seeds
    >>> seeds = stage_seeds(0)
    >>> seeds.effects == stage_seeds(0).effects
    True
    """
    seed = options.validate({"seed": seed})["seed"]
    # The order of the children is part of the report's reproducibility: append, never reorder.
    children = np.random.SeedSequence(seed).spawn(len(StageSeeds._fields))
    return StageSeeds(*(int(child.generate_state(1)[0]) for child in children))


def seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """A fresh SeedSequence for ``seed``.

    A SeedSequence passed in is copied: spawning from the caller's object would change the
    children it hands out later.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(
            entropy=seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size
        )
    return np.random.SeedSequence(options.validate({"seed": seed})["seed"])
