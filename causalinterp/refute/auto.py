"""Should the refuters re-fit the nuisances? A documented rule and a cheap probe.

The fast path holds the original fit's cross-fitted nuisances fixed, so it cannot challenge
their own estimation noise (see :mod:`causalinterp.refute.roles`). That noise matters in small
samples and with flexible learners: in the job-training case (445 rows) the re-fitted spread of
the randomised effect is several times its analytic standard error. :func:`refit_decision`
says when re-fitting is needed:

1. below :data:`REFIT_BELOW` rows, always;
2. otherwise when a probe finds the nuisances' noise material: each back-door effect is
   re-estimated on :data:`PROBE_RESAMPLES` random half-samples; if the estimate's analytic
   standard error is right, a half-sample estimate differs from the full-data one with a
   standard deviation equal to that standard error (``Var = SE^2 (n/m - 1)`` at ``m = n/2``).
   A spread (root mean square over the resamples) above :data:`MATERIAL_RATIO` times the
   standard error means the analytic standard error misses noise that re-fitting would
   expose. With 6 resamples and a correct standard error the ratio exceeds 2 with
   probability P(chi2_6 > 24) = 0.0005 per effect.

The refutation stage calls it when ``refit`` is not given (the default, shown as "auto"):
:attr:`Refutations.refit_reason` and the report's ``settings.refit_reason`` record the
decision. See ``docs/refutation.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MATERIAL_RATIO", "PROBE_RESAMPLES", "REFIT_BELOW", "RefitDecision", "refit_decision"]

#: Below this many rows the refuters re-fit the nuisances (their noise is rarely negligible).
REFIT_BELOW = 1000
#: Half-sample re-fits per effect in the probe.
PROBE_RESAMPLES = 6
#: Half-sample spread over the analytic standard error from which the noise is material.
MATERIAL_RATIO = 2.0


@dataclass(frozen=True)
class RefitDecision:
    """Whether to re-fit, and why.

    Attributes
    ----------
    refit : bool
    reason : str
        One sentence: the rule that decided.
    ratios : dict of str to float
        Per probed feature, half-sample spread over analytic standard error.
    """

    refit: bool
    reason: str
    ratios: dict[str, float]


def refit_decision(checked: Any, effects: Any, *, seed: int = 0) -> RefitDecision:
    """Decide whether the refuters should re-fit the nuisances (module docstring's rule).

    Parameters
    ----------
    checked : CheckedData
        The data the effects were estimated on.
    effects : Effects
        The estimated effects (their nuisance learners and folds are reused).
    seed : int, default 0
        Seeds the probe's half-samples and fits.

    Returns
    -------
    RefitDecision

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> refit_decision(SimpleNamespace(n_rows=445), None).reason[:40]
    '445 rows, below 1000: re-fitting the nui'
    """
    n = int(checked.n_rows)
    if n < REFIT_BELOW:
        return RefitDecision(
            True,
            f"{n} rows, below {REFIT_BELOW}: re-fitting the nuisances exposes their estimation "
            "noise, which matters at this size",
            {},
        )
    from causalinterp.refute.simulation import learners_of, reestimate

    ratios: dict[str, float] = {}
    rng = np.random.default_rng(seed)
    kinds = dict(checked.kinds)
    estimand = getattr(effects, "estimand", "ate")
    for name, effect in effects.by_feature.items():
        if name not in effects.nuisances or effect.estimate is None:
            continue  # only back-door effects, which the fast path would refute, are probed
        if kinds.get(name) not in ("continuous", "binary"):
            continue
        se = float(effect.estimate.stderr)
        if not (math.isfinite(se) and se > 0):
            continue
        ident = effect.identification
        used = [checked.outcome, name, *ident.adjustment_set]
        frame = checked.frame[list(dict.fromkeys(used))].reset_index(drop=True)
        diffs = []
        for _ in range(PROBE_RESAMPLES):
            rows = np.sort(rng.choice(n, size=n // 2, replace=False))
            try:
                # The same estimand as the estimate: an ATT probed as an ATE would differ
                # by the gap between the two, not by noise.
                e = reestimate(
                    frame.iloc[rows].reset_index(drop=True),
                    kinds,
                    name,
                    checked.outcome,
                    ident,
                    seed=int(rng.integers(2**31)),
                    n_folds=effects.n_folds,
                    nuisance=learners_of(effect, effects.nuisance),
                    estimand=estimand,
                )
            except Exception:  # a failed probe fit says nothing about noise
                continue
            if math.isfinite(e.estimate):
                diffs.append(e.estimate - effect.estimate.estimate)
        if len(diffs) >= 2:
            ratios[name] = float(math.sqrt(np.mean(np.square(diffs))) / se)
    material = {k: v for k, v in ratios.items() if v > MATERIAL_RATIO}
    if material:
        worst = max(material, key=material.__getitem__)
        return RefitDecision(
            True,
            f"half-sample re-fits of {worst!r} spread {material[worst]:.1f} times its analytic "
            f"standard error (above {MATERIAL_RATIO:g}): the nuisances' noise is material",
            ratios,
        )
    return RefitDecision(
        False,
        f"{n} rows and half-sample re-fits within {MATERIAL_RATIO:g} analytic standard errors: "
        "the fast path's fixed nuisances are adequate",
        ratios,
    )
