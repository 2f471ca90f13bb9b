"""Closed-form IV and front-door estimators against the EconML estimators they replace.

Per replication, one data set from ``conditional_iv_model()`` (a conditional instrument,
true effect 1) and one from ``frontdoor_model()`` (a front-door set with a covariate, true
effect 1.2); each is estimated by the closed form (``estimate/closed_forms.py``) and by the
previous estimator (EconML's ``OrthoIV``; the two ``LinearDML`` stages of the front-door),
with the same nuisance learners. Prints, per design: the coverage of the true effect by each
95% interval, the mean estimate and standard error, the spread of the estimates, the mean
gap between the two estimators in standard errors, and the CPU seconds per fit of each
(CPU time: the machine may be shared; the ratio is what to read).

Usage::

    python benchmarks/closed_forms.py --reps 200 --rows 2000 --nuisance linear
    python benchmarks/closed_forms.py --reps 50 --rows 3000 --nuisance auto

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

# The checkout this script is in is the one measured (not an installed copy).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from causalinterp.estimate import _econml, closed_forms
from causalinterp.simulators import conditional_iv_model, frontdoor_model

KINDS = {"treatment_kind": "continuous", "outcome_kind": "continuous"}


def designs():
    iv, fd = conditional_iv_model(), frontdoor_model()

    def iv_arrays(n, seed):
        d = iv.sample(n, seed=seed)
        return d["y"].to_numpy(), d["t"].to_numpy(), d["z"].to_numpy(), d[["r", "s"]].to_numpy()

    def fd_arrays(n, seed):
        d = fd.sample(n, seed=seed)
        return d["y"].to_numpy(), d["t"].to_numpy(), d["m"].to_numpy(), d[["c"]].to_numpy()

    return (
        ("IV, conditional instrument", iv_arrays, 1.0, closed_forms.estimate_iv,
         _econml.estimate_iv),
        ("front-door with a covariate", fd_arrays, 1.2, closed_forms.estimate_frontdoor,
         _econml.estimate_frontdoor),
    )  # fmt: skip


def timed(fit, *args, **kwargs):
    start = time.process_time()
    result = fit(*args, **kwargs)
    return result, time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--nuisance", choices=("linear", "auto"), default="linear")
    args = parser.parse_args(argv)
    # Pay EconML's import before the clock.
    _econml.estimate_iv(*designs()[0][1](200, 0)[:3], None, **KINDS, seed=0, nuisance="linear")
    print(f"# {args.reps} data sets of {args.rows} rows, nuisance {args.nuisance}")
    print("| design | estimator | coverage | mean estimate | mean s.e. | s.d. of estimates | "
          "CPU s per fit |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, arrays, truth, fast_fit, slow_fit in designs():
        rows = {"closed form": [], "EconML": []}
        seconds = {"closed form": 0.0, "EconML": 0.0}
        gaps = []
        for rep in range(args.reps):
            data = arrays(args.rows, 1000 + rep)
            opts = {**KINDS, "seed": rep, "nuisance": args.nuisance}
            fast, t_fast = timed(fast_fit, *data, **opts)
            slow, t_slow = timed(slow_fit, *data, **opts)
            rows["closed form"].append(fast)
            rows["EconML"].append(slow)
            seconds["closed form"] += t_fast
            seconds["EconML"] += t_slow
            gaps.append(abs(fast.estimate - slow.estimate) / slow.stderr)
        for label, fits in rows.items():
            est = np.array([f.estimate for f in fits])
            cover = np.mean([f.ci_low <= truth <= f.ci_high for f in fits])
            print(
                f"| {name} | {label} | {cover:.3f} | {est.mean():.4f} | "
                f"{np.mean([f.stderr for f in fits]):.4f} | {est.std():.4f} | "
                f"{seconds[label] / args.reps:.3f} |"
            )
        print(
            f"| {name} | gap | mean \\|closed - EconML\\| / s.e. {np.mean(gaps):.2f}, "
            f"largest {np.max(gaps):.2f} | CPU ratio closed / EconML "
            f"{seconds['closed form'] / seconds['EconML']:.2f} | | | |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
