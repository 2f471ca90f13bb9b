"""CPU-time probe quoted in docs/performance.md: the DoWhy loop's cost for one feature.

One LinearDML estimate and 2 simulations of each refuter on the benchmark's 10,000-row data
(run from benchmarks/); multiply out to 20 simulations and 8 features.
"""

import time
import warnings

import networkx as nx
from compare_dowhy import learners, simulate
from dowhy import CausalModel

warnings.filterwarnings("ignore")
frame, edges, truth = simulate(10000, 8)
regressor, _ = learners("gb")
model = CausalModel(data=frame, treatment="X3", outcome="Y", graph=nx.DiGraph(edges))
estimand = model.identify_effect(proceed_when_unidentifiable=True)
start = time.process_time()
estimate = model.estimate_effect(
    estimand,
    method_name="backdoor.econml.dml.LinearDML",
    method_params={
        "init_params": {"model_y": regressor, "model_t": regressor, "cv": 3, "random_state": 0},
        "fit_params": {},
    },
)
print(f"estimate cpu {time.process_time() - start:.2f} s")
for name, options in (
    ("placebo_treatment_refuter", {"placebo_type": "permute"}),
    ("random_common_cause", {}),
    ("data_subset_refuter", {"subset_fraction": 0.8}),
):
    start = time.process_time()
    model.refute_estimate(estimand, estimate, method_name=name, num_simulations=2, **options)
    print(f"{name} cpu per simulation {(time.process_time() - start) / 2:.2f} s")
