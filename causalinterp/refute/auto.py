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

   The probe is priced: its fits run in parallel across features and half-samples together,
   with the learners the effects chose held fixed, and on a seeded subsample of at most
   :data:`PROBE_ROWS` rows (its own estimate the centre, the standard error scaled by
   ``sqrt(n / m)``). The subsample errs towards re-fitting, never away from it: the
   nuisances' estimation noise relative to the standard error shrinks as rows grow (in
   cross-fitted double ML it enters the estimate at second order), so noise immaterial on
   4,000 rows is immaterial on more, and noise material on 4,000 rows may still be material
   on the full data. 4,000 rows give half-samples of 2,000, enough for the flexible
   learners to show the instability this probe exists to catch.

   A probe whose fits failed measures nothing: the reason names the features whose noise
   was not measured (:attr:`RefitDecision.probe_failed`) instead of counting them as within
   the ratio. When every probed effect failed, the fast path is kept, since re-fitting
   would repeat the failing fits, and the reason says so;
3. from :data:`SKIP_PROBE_FROM` rows (100,000) on, never, without a probe: at that size
   cross-fitted nuisances of any of the package's learners are estimated with an error whose
   second-order contribution is far below the standard error (in the 1,000,000-row audit of
   ``docs/performance.md`` 19 of 20 intervals covered their true effects, as 95% intervals
   should), and a probe would cost minutes to confirm it.

The refutation stage calls it when ``refit`` is not given (the default, shown as "auto"):
:attr:`Refutations.refit_reason` and the report's ``settings.refit_reason`` record the
decision. See ``docs/refutation.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MATERIAL_RATIO",
    "PROBE_RESAMPLES",
    "PROBE_ROWS",
    "REFIT_BELOW",
    "SKIP_PROBE_FROM",
    "RefitDecision",
    "refit_decision",
]

#: Below this many rows the refuters re-fit the nuisances (their noise is rarely negligible).
REFIT_BELOW = 1000
#: Half-sample re-fits per effect in the probe.
PROBE_RESAMPLES = 6
#: Half-sample spread over the analytic standard error from which the noise is material.
MATERIAL_RATIO = 2.0
#: The probe runs on a seeded subsample of at most this many rows.
PROBE_ROWS = 4000
#: From this many rows on, no probe: the fast path is adequate (module docstring).
SKIP_PROBE_FROM = 100_000


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
    probe_failed : tuple of str
        Features whose probe fits failed (fewer than two half-samples, or the subsample's
        own fit, estimated): their noise was not measured, and the reason says so.
    """

    refit: bool
    reason: str
    ratios: dict[str, float]
    probe_failed: tuple[str, ...] = ()


def _probe_task(args: tuple) -> float:
    """One probe fit: the effect re-estimated on ``rows`` of ``frame`` (NaN if it failed)."""
    frame, rows, kinds, name, outcome, ident, seed, n_folds, nuisance, estimand = args
    from threadpoolctl import threadpool_limits

    from causalinterp.refute.simulation import reestimate

    data = frame if rows is None else frame.iloc[rows].reset_index(drop=True)
    try:
        with threadpool_limits(limits=1):
            # The same estimand as the estimate: an ATT probed as an ATE would differ by the
            # gap between the two, not by noise.
            e = reestimate(data, kinds, name, outcome, ident, seed=seed, n_folds=n_folds,
                           nuisance=nuisance, estimand=estimand)  # fmt: skip
    except Exception:  # a failed probe fit says nothing about noise
        return math.nan
    return float(e.estimate) if math.isfinite(e.estimate) else math.nan


def refit_decision(
    checked: Any,
    effects: Any,
    *,
    seed: int = 0,
    n_jobs: int | None = None,
    backend: str | None = None,
) -> RefitDecision:
    """Decide whether the refuters should re-fit the nuisances (module docstring's rule).

    Parameters
    ----------
    checked : CheckedData
        The data the effects were estimated on.
    effects : Effects
        The estimated effects (their nuisance learners and folds are reused).
    seed : int, default 0
        Seeds the probe's subsample, half-samples and fits.
    n_jobs, backend : optional
        The probe's fits run in parallel across features and half-samples together.

    Returns
    -------
    RefitDecision

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> refit_decision(SimpleNamespace(n_rows=445), None).reason[:40]
    '445 rows, below 1000: re-fitting the nui'
    >>> refit_decision(SimpleNamespace(n_rows=500_000), None).refit
    False
    """
    n = int(checked.n_rows)
    if n < REFIT_BELOW:
        return RefitDecision(
            True,
            f"{n} rows, below {REFIT_BELOW}: re-fitting the nuisances exposes their estimation "
            "noise, which matters at this size",
            {},
        )
    if n >= SKIP_PROBE_FROM:
        return RefitDecision(
            False,
            f"{n} rows, at least {SKIP_PROBE_FROM}: the nuisances' estimation noise is "
            "negligible against the estimate's standard error at this size, so the fast "
            "path's fixed nuisances are adequate (no probe needed)",
            {},
        )
    from causalinterp.refute.simulation import learners_of, parallel_map

    rng = np.random.default_rng(seed)
    kinds = dict(checked.kinds)
    estimand = getattr(effects, "estimand", "ate")
    m = min(n, PROBE_ROWS)
    sample = np.sort(rng.choice(n, size=m, replace=False)) if m < n else None
    jobs: list[tuple] = []
    owners: list[tuple[str, int]] = []  # (feature, -1 for the subsample's own fit, else i)
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
        if sample is not None:
            frame = frame.iloc[sample].reset_index(drop=True)
        common = (kinds, name, checked.outcome, ident)
        tail = (effects.n_folds, learners_of(effect, effects.nuisance), estimand)
        if sample is not None:  # the subsample's own estimate is what its halves vary around
            jobs.append((frame, None, *common, int(rng.integers(2**31)), *tail))
            owners.append((name, -1))
        for i in range(PROBE_RESAMPLES):
            rows = np.sort(rng.choice(m, size=m // 2, replace=False))
            jobs.append((frame, rows, *common, int(rng.integers(2**31)), *tail))
            owners.append((name, i))
    fits = parallel_map(_probe_task, jobs, n_jobs=n_jobs, backend=backend)
    centre: dict[str, float] = {}
    halves: dict[str, list[float]] = {}
    for (name, i), value in zip(owners, fits, strict=True):
        if i < 0:
            centre[name] = value
        elif math.isfinite(value):
            halves.setdefault(name, []).append(value)
    ratios: dict[str, float] = {}
    for name, values in halves.items():
        effect = effects.by_feature[name].estimate
        # On a subsample of m rows the analytic standard error is larger by sqrt(n / m).
        se = float(effect.stderr) * math.sqrt(n / m)
        middle = centre.get(name, float(effect.estimate)) if sample is not None else float(
            effect.estimate
        )
        if len(values) >= 2 and math.isfinite(middle):
            diffs = np.asarray(values) - middle
            ratios[name] = float(math.sqrt(np.mean(np.square(diffs))) / se)
    material = {k: v for k, v in ratios.items() if v > MATERIAL_RATIO}
    where = f" (on a seeded subsample of {m} rows)" if sample is not None else ""
    probed = list(dict.fromkeys(name for name, _ in owners))
    failed = tuple(name for name in probed if name not in ratios)
    if not probed:
        return RefitDecision(
            False,
            f"{n} rows and no back-door effect to probe: the fast path's fixed nuisances "
            "are kept",
            ratios,
        )
    if failed and not material:
        names = ", ".join(repr(name) for name in failed)
        if not ratios:
            return RefitDecision(
                False,
                f"{n} rows; the probe's half-sample re-fits{where} failed for {names}, so "
                "the nuisances' noise was not measured; the fast path's fixed nuisances are "
                "kept, since re-fitting would repeat the failing fits",
                ratios,
                failed,
            )
        return RefitDecision(
            False,
            f"{n} rows and half-sample re-fits{where} within {MATERIAL_RATIO:g} analytic "
            f"standard errors for {', '.join(repr(k) for k in ratios)}; the probe failed for "
            f"{names}, whose noise was not measured: the fast path's fixed nuisances are kept",
            ratios,
            failed,
        )
    if material:
        worst = max(material, key=material.__getitem__)
        return RefitDecision(
            True,
            f"half-sample re-fits of {worst!r}{where} spread {material[worst]:.1f} times its "
            f"analytic standard error (above {MATERIAL_RATIO:g}): the nuisances' noise is "
            "material",
            ratios,
            failed,
        )
    return RefitDecision(
        False,
        f"{n} rows and half-sample re-fits{where} within {MATERIAL_RATIO:g} analytic standard "
        "errors: the fast path's fixed nuisances are adequate",
        ratios,
    )
