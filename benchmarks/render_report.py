"""How long writing report.html takes: ``Report.to_html()`` on the subscriber-retention case.

Run: ``python benchmarks/render_report.py [--source DIR ...] [--repeats 6]``.
Each ``--source`` is a checkout of causalinterp (default: this one), so versions can be compared
in one invocation (e.g. the commit before a change, exported with ``git archive``, beside the
working tree). For each source a child process runs the case's analysis as
``causalinterp run case_studies/retention`` does (its case file, its options), then renders the
HTML report ``--repeats`` times, the first one cold, as in a ``causalinterp run``. Prints the
first, fastest and median render time per source, the number of figures and the file's size,
and the machine's load average; the sources take turns (``--rounds``) so that a change in the
machine's load weighs on both. Results go into ``docs/performance.md`` by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# Runs inside the child, with the source first on sys.path.
CHILD = """
import json, sys, time
from pathlib import Path
from causalinterp import cli

case = Path(sys.argv[1])
args = cli.build_parser().parse_args(["run", str(case), "--quiet", "--out", sys.argv[2]])
report, _ = cli._run_case(args)
seconds = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    html = report.to_html()
    seconds.append(time.perf_counter() - start)
print(json.dumps({"seconds": seconds, "images": html.count("<img "), "bytes": len(html)}))
"""


def render(source: Path, repeats: int) -> dict:
    """One child: the retention analysis from ``source``, then ``repeats`` HTML renders."""
    case = HERE / "case_studies" / "retention"
    env = {**os.environ, "PYTHONPATH": str(source)}
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-c", CHILD, str(case), out, str(repeats)]
        done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise SystemExit(f"{source}: the retention run failed ({tail})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sources = args.source or [HERE]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    times: dict[Path, list[float]] = {source: [] for source in sources}
    for round_ in range(1, args.rounds + 1):
        for source in sources:
            result = render(source, args.repeats)
            seconds = result["seconds"]
            times[source] += seconds
            print(
                f"round {round_} {source}: first {seconds[0]:.2f} s, fastest {min(seconds):.2f} s,"
                f" median {statistics.median(seconds):.2f} s; {result['images']} figures,"
                f" {result['bytes'] / 1e6:.2f} MB",
                flush=True,
            )
    if len(sources) > 1:
        base = statistics.median(times[sources[0]])
        for source in sources[1:]:
            ratio = statistics.median(times[source]) / base
            print(f"median render time, {source} / {sources[0]}: {ratio:.2f}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
