"""Coverage of the IV intervals: Anderson-Rubin vs Wald across instrument strengths, and the
conditional-instrument estimate vs the same instrument used without its controls.

Run: ``python benchmarks/instruments.py [--reps N]``; results go into
``docs/performance.md`` by hand. Each line says what it is doing.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from causalinterp.estimate._econml import estimate_iv
from causalinterp.estimate.instruments import _residualise, anderson_rubin, first_stage


def weak_iv(n: int, pi: float, rng: np.random.Generator, noise: float = 0.3):
    z, w, u = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    t = pi * z + w + u + noise * rng.normal(size=n)
    y = 1.0 * t + w + 2.0 * u + noise * rng.normal(size=n)
    return y, t, z, w


def ar_covers(y, t, z, w, beta: float) -> bool:
    """Whether the AR test at level 5% accepts ``beta`` (works for every shape of the set)."""
    from scipy import stats

    e = _residualise(y - beta * t, w[:, None])
    zr = _residualise(z[:, None], w[:, None])
    coef, *_ = np.linalg.lstsq(zr, e, rcond=None)
    fitted = zr @ coef
    dof = len(y) - 3
    f = float(fitted @ fitted) / (float((e - fitted) @ (e - fitted)) / dof)
    return f <= stats.f.ppf(0.95, 1, dof)


def wald_covers(y, t, z, w, beta: float) -> bool:
    yr, tr, zr = (_residualise(a, w[:, None]) for a in (y, t, z))
    b = float(zr @ yr) / float(zr @ tr)
    se = np.sqrt(np.sum(zr**2 * (yr - b * tr) ** 2)) / abs(float(zr @ tr))
    return abs(b - beta) <= 1.96 * se


def strengths(reps: int) -> None:
    n = 400
    print("| pi | mean first-stage F | AR coverage | AR unbounded | Wald coverage |")
    print("|---|---:|---:|---:|---:|")
    for pi in (0.02, 0.05, 0.08, 0.15, 0.3):
        rng = np.random.default_rng(int(pi * 1000))
        fs, ar, unb, wald = [], 0, 0, 0
        for _ in range(reps):
            y, t, z, w = weak_iv(n, pi, rng)
            fs.append(first_stage(t, z, w).f_statistic)
            ar += ar_covers(y, t, z, w, 1.0)
            unb += anderson_rubin(y, t, z, w).shape != "interval"
            wald += wald_covers(y, t, z, w, 1.0)
        print(f"| {pi} | {np.mean(fs):.1f} | {ar / reps:.3f} | {unb / reps:.3f} | "
              f"{wald / reps:.3f} |", flush=True)  # fmt: skip


def conditional(reps: int) -> None:
    print(f"\nconditional instrument, {reps} data sets of 2000 rows (OrthoIV, linear nuisances)",
          file=sys.stderr)  # fmt: skip
    cover_given = cover_plain = 0
    for rep in range(reps):
        rng = np.random.default_rng(10_000 + rep)
        n = 2000
        r = rng.normal(size=n)
        z = r + rng.normal(size=n)
        u = rng.normal(size=n)
        t = z + u + rng.normal(size=n)
        y = t + 2.0 * r + u + rng.normal(size=n)
        kw = {"treatment_kind": "continuous", "outcome_kind": "continuous", "seed": rep,
              "nuisance": "linear"}  # fmt: skip
        given = estimate_iv(y, t, z, r, **kw)
        plain = estimate_iv(y, t, z, None, **kw)
        cover_given += given.ci_low <= 1.0 <= given.ci_high
        cover_plain += plain.ci_low <= 1.0 <= plain.ci_high
        if (rep + 1) % 50 == 0:
            print(f"  {rep + 1}/{reps}", file=sys.stderr, flush=True)
    print(f"\n| instrument Z | coverage of the true effect |\n|---|---:|\n"
          f"| given R (found by the criterion) | {cover_given / reps:.3f} |\n"
          f"| without R (DoWhy's unconditional use) | {cover_plain / reps:.3f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--iv-reps", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"AR vs Wald coverage, {args.reps} data sets of 400 rows per strength",
          file=sys.stderr)  # fmt: skip
    strengths(args.reps)
    conditional(args.iv_reps)
    print(f"\n{time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
