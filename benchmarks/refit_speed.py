"""What the refutation stage costs: a whole default run against the same run with
``--refute none``, on the real college-proximity case (3,010 rows, 16 features, a conditional
instrument) and the simulated subscriber-retention case (10,000 rows).

Run: ``python benchmarks/refit_speed.py [--source DIR ...] [--cases college_proximity,retention]``.
Each ``--source`` is a checkout of causalinterp (default: this one); every run is a separate
``python -m causalinterp.cli run CASE --quiet`` in that checkout, so versions can be compared
in one invocation (e.g. the commit before a change, exported with ``git archive``, beside the
working tree). Prints, per source and case, the wall time with ``--refute none``, the whole
default run and their ratio (and the main process's CPU seconds), and the machine's load
average; results go into ``docs/performance.md`` by hand.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def run(source: Path, case: str, extra: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``causalinterp run`` of ``case`` from ``source``. The CPU
    seconds are those of the run's main process only (its loky workers are not reaped as its
    children): a check on the main process, not the run's total."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "causalinterp.cli", "run",
                   str(HERE / "case_studies" / case), "--quiet", "--out", out, *extra]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(source)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):  # 1: the report flags features, still a complete run
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise SystemExit(f"{source}: {case} failed ({tail}); see its output")
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", type=Path, default=None)
    parser.add_argument("--cases", default="college_proximity,retention")
    parser.add_argument("--n-jobs", default="2")
    args = parser.parse_args()
    sources = args.source or [HERE]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for case in args.cases.split(","):
        for source in sources:
            jobs = ["--n-jobs", args.n_jobs]
            bare, bare_cpu = run(source, case, ["--refute", "none", *jobs])
            print(f"{source} {case}: --refute none {bare:.1f} s ({bare_cpu:.1f} CPU-s)", flush=True)
            whole, whole_cpu = run(source, case, jobs)
            print(
                f"{source} {case}: default {whole:.1f} s ({whole_cpu:.1f} CPU-s); ratio "
                f"{whole / bare:.2f} wall, {whole_cpu / bare_cpu:.2f} CPU "
                f"(load now {os.getloadavg()[0]:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
