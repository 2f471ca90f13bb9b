"""Simulated windows of a deployed churn model, each with one known change.

The reference and the windows are drawn from one structural model; each window changes one
mechanism (or none), so the alerts it should raise are known:

==================  ==========================================================  ===============
window              change                                                      expected alert
==================  ==========================================================  ===============
stable              none (labelled)                                             none
covariate_shift     tenure_years skews to new customers (a clean cause)         tenure_years
confounder_shift    household_income rises (a confounder the model lacks;       household_income
                    device_score, a model feature, is its proxy)                (mechanism)
out_of_support      10% of rows with usage_hours 50 hours above its natural     usage_hours
                    value, far beyond the reference's range
label_shift         churn's base rate rises by 0.15 at the same features        churned
                    (labelled)
==================  ==========================================================  ===============

Run ``python case_studies/monitoring/generate.py`` to rewrite the CSV files and the analysis
(``analysis/report.json``, from ``causalinterp.analyze`` on the reference); then
``causalinterp monitor --config case_studies/monitoring/monitor.toml --out /tmp/monitoring``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

from causalinterp.simulators import Mechanism, StructuralModel

HERE = Path(__file__).resolve().parent
OUTCOME = "churned"
FEATURES = ["tenure_years", "usage_hours", "support_calls", "device_score"]
WINDOWS = ("stable", "covariate_shift", "confounder_shift", "out_of_support", "label_shift")
#: The column or node each window's change should be named by (None: no alert expected).
EXPECTED = {
    "stable": None,
    "covariate_shift": "tenure_years",
    "confounder_shift": "household_income",
    "out_of_support": "usage_hours",
    "label_shift": "churned",
}
LABELLED = {"stable", "label_shift"}


def structural_model(
    *, tenure_power: float = 1.0, income_scale: float = 4.5, churn_base: float = 0.3
) -> StructuralModel:
    """The churn model; the keywords are the knobs the windows turn."""
    return StructuralModel(
        {
            "tenure_years": Mechanism((), lambda p, e: 0.5 + 5.5 * ndtr(e) ** tenure_power),
            "household_income": Mechanism((), lambda p, e: income_scale * np.exp(0.3 * e)),
            "device_score": Mechanism(
                ("household_income",),
                lambda p, e: 10.0 * (p["household_income"] - 4.5) + e,
                noise_scale=3.0,
            ),
            "usage_hours": Mechanism((), lambda p, e: 20.0 + e, noise_scale=5.0),
            "support_calls": Mechanism(
                ("usage_hours",), lambda p, e: 3.0 - 0.05 * p["usage_hours"] + e, noise_scale=0.8
            ),
            OUTCOME: Mechanism(
                ("tenure_years", "household_income", "usage_hours", "support_calls"),
                lambda p, e: (
                    churn_base
                    - 0.03 * (p["tenure_years"] - 3.25)
                    - 0.06 * (p["household_income"] - 4.7)
                    - 0.005 * (p["usage_hours"] - 20.0)
                    + 0.04 * (p["support_calls"] - 2.0)
                ),
                kind="binary",
            ),
        }
    )


def reference(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    """The reference rows (labelled)."""
    return structural_model().sample(n, seed=seed)


def window(name: str, n: int = 2000, seed: int = 1) -> pd.DataFrame:
    """One window of ``n`` rows with the change named ``name`` (see the module's table)."""
    if name == "stable":
        frame = structural_model().sample(n, seed=seed)
    elif name == "covariate_shift":
        frame = structural_model(tenure_power=2.5).sample(n, seed=seed)
    elif name == "confounder_shift":
        frame = structural_model(income_scale=5.5).sample(n, seed=seed)
    elif name == "out_of_support":
        # 10% of the rows under do(usage_hours := usage_hours + 50): their support_calls follow
        # the unchanged mechanism, so only usage_hours leaves the support.
        model = structural_model()
        frame = model.sample(n, seed=seed)
        far = model.sample(n, seed=seed, interventions={"usage_hours": lambda u: u + 50.0})
        rows = np.random.default_rng(seed).choice(n, n // 10, replace=False)
        frame.iloc[rows] = far.iloc[rows]
    elif name == "label_shift":
        frame = structural_model(churn_base=0.45).sample(n, seed=seed)
    else:
        raise ValueError(f"unknown window {name!r}")
    if name not in LABELLED:
        frame = frame.drop(columns=[OUTCOME])
    return frame


def main() -> None:
    reference().to_csv(HERE / "reference.csv", index=False, float_format="%.6g")
    folder = HERE / "windows"
    folder.mkdir(exist_ok=True)
    for i, name in enumerate(WINDOWS):
        window(name, seed=100 + i).to_csv(
            folder / f"{i + 1}_{name}.csv", index=False, float_format="%.6g"
        )
    if "--no-analysis" not in sys.argv:
        from causalinterp import analyze

        report = analyze(
            reference(), HERE / "graph.dot", OUTCOME, features=FEATURES, refute="none", seed=0
        )
        (HERE / "analysis").mkdir(exist_ok=True)
        report.to_json(HERE / "analysis" / "report.json")


if __name__ == "__main__":
    main()
