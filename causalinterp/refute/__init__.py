"""Stage: try hard to break every estimated effect.

Five refuters perturb the data and re-estimate: for back-door effects on the original fit's
cross-fitted nuisances (the final stage only, the fast path), otherwise, or with
``refit=True``, by re-running the estimation adapter. Each keeps its full simulated
distribution, a p-value for the null "the claim survives this challenge", and a
Benjamini-Hochberg adjusted p-value over the whole report (every feature and refuter at once).
A sensitivity analysis (Cinelli & Hazlett 2020 robustness values; VanderWeele & Ding 2017
E-values for binary outcomes) says how strong a hidden confounder would have to be.
The definitions and formulas are in ``docs/refutation.md``.

Modules
-------
results      what the stage returns (:class:`Refutations`, :class:`RefutationResult`,
             :class:`Sensitivity`) and the names (:class:`RefuterName`,
             :class:`RefutationStatus`, :data:`DEPTHS`)
refuters     one class per refuter: perturbation, fast-path step, test, expected value;
             the :data:`REGISTRY` that fixes their order
tests        the statistical tests the refuters share
fast         the fast path: final stages on the original fit's nuisances
simulation   one simulation's inputs and the re-fitting path
sensitivity  robustness values and E-values
stage        :func:`refute_effects`: plans, runs and assembles
"""

from causalinterp.refute.names import RefuterName
from causalinterp.refute.refuters import REFUTERS, REGISTRY, Refuter
from causalinterp.refute.results import (
    DEPTHS,
    RefutationResult,
    Refutations,
    RefutationStatus,
    Sensitivity,
)
from causalinterp.refute.stage import refute_effects

#: Short alias of :func:`refute_effects`, for ``check_data -> estimate_effects -> refute``.
refute = refute_effects

__all__ = [
    "DEPTHS",
    "REFUTERS",
    "REGISTRY",
    "RefutationResult",
    "RefutationStatus",
    "Refutations",
    "Refuter",
    "RefuterName",
    "Sensitivity",
    "refute",
    "refute_effects",
]
