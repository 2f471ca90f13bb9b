"""Regenerate this case study's data.csv and truth.json from its structural model.

    python case_studies/credit/generate.py

The data are simulated, so the true effect of every feature is known: truth.json holds the
effects on the probability of default computed by simulating interventions (see
causalinterp.simulators.credit_risk_model), and region's effect per level against ``south``.
"""

import json
from pathlib import Path

from causalinterp.simulators import CREDIT_REGIONS, credit_risk_model

ROWS, SEED = 5_000, 20261207
CONTINUOUS = ("utilization", "interest_rate", "late_payments", "loan_term")
ZERO = ("age", "collection_calls")  # no causal path to the outcome


def truth(model=None, *, n: int = 400_000) -> dict[str, float | dict[str, float]]:
    """Every feature's true effect on P(default); region's per level against south."""
    model = model or credit_risk_model()
    effects: dict[str, float | dict[str, float]] = {
        f: round(model.true_effect(f, "defaulted", n=n), 6) for f in CONTINUOUS
    }
    effects.update(dict.fromkeys(ZERO, 0.0))
    effects["region"] = {
        level: round(model.true_level_effect("region", level, "south", "defaulted", n=n), 6)
        for level in CREDIT_REGIONS
        if level != "south"
    }
    return effects


def main() -> None:
    here = Path(__file__).parent
    model = credit_risk_model()
    data = model.sample(ROWS, seed=SEED).round(4)
    for column in data.select_dtypes("number"):  # counts and 0/1 columns as integers
        if (data[column] % 1 == 0).all():
            data[column] = data[column].astype(int)
    data.to_csv(here / "data.csv", index=False)
    (here / "truth.json").write_text(json.dumps(truth(model), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
