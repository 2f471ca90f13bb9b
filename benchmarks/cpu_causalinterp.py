"""CPU-time probe quoted in docs/performance.md: causalinterp serially (run from benchmarks/).

10,000 rows x 8 features x 20 simulations, the loop's GradientBoosting nuisances, n_jobs=1, so
``time.process_time`` covers all the work.
"""

import json
import time
import warnings

from compare_dowhy import fitted_model, learners, simulate

from causalinterp import analyze

warnings.filterwarnings("ignore")
frame, edges, truth = simulate(10000, 8)
features = [f"X{j}" for j in range(8)]
model = fitted_model(frame, features)
cpu, wall = time.process_time(), time.perf_counter()
report = analyze(
    frame,
    edges,
    "Y",
    model=model,
    features=features,
    seed=0,
    n_jobs=1,
    refute="standard",
    test_graph=False,
    nuisance=learners("gb"),
    progress=False,
)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(f"causalinterp serial: cpu {cpu:.1f} s, wall {wall:.1f} s")
print(report.run["seconds"])
for row in json.loads(report.to_json())["features"]:
    effect = row["effect"]
    passed = [r["passed"] for r in row["refutations"]]
    print(row["name"], truth[row["name"]], effect["estimate"], effect["ci_low"], effect["ci_high"])
    print("  refuters passed:", passed)
