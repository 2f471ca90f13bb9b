"""Regenerate this case study's data.csv and truth.json from its structural model.

    python case_studies/retention/generate.py

The data are simulated, so the true effect of every feature is known: truth.json holds the
effects computed by simulating interventions (see causalinterp.simulators).
"""

import json
from pathlib import Path

from causalinterp.simulators import retention_model

ROWS, SEED = 10_000, 20261124
FEATURES = (
    "tenure_years",
    "loyalty_discount",
    "monthly_bill",
    "outage_hours",
    "premium_device",
    "support_calls",
    "cancel_page_visits",
)


def main() -> None:
    here = Path(__file__).parent
    model = retention_model()
    data = model.sample(ROWS, seed=SEED)
    data = data.round(4)
    for column in data:  # counts and 0/1 columns as integers, as an export would have them
        if (data[column] % 1 == 0).all():
            data[column] = data[column].astype(int)
    data.to_csv(here / "data.csv", index=False)
    truth = {f: round(model.true_effect(f, "churned"), 6) for f in FEATURES}
    (here / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
