"""Export this case study's data.csv from the causaldata package (shipped offline).

    python -m pip install causaldata && python case_studies/lalonde_cps/generate.py

Rows: the 185 men randomly assigned to training in the National Supported Work (NSW)
demonstration (Dehejia & Wahba 1999 sample) and the 15,992 men of the CPS-1 comparison sample
(LaLonde 1986), 16,177 in all. The NSW control group is left out: the comparison is
observational, as in LaLonde's and Dehejia & Wahba's non-experimental analyses.
"""

from pathlib import Path

import pandas as pd
from causaldata import cps_mixtape, nsw_mixtape

COLUMNS = ["treat", "age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78"]


def load() -> pd.DataFrame:
    """The NSW treated rows followed by the CPS-1 rows, as written to data.csv."""
    treated = nsw_mixtape.load_pandas().data
    treated = treated[treated["treat"] == 1][COLUMNS]
    controls = cps_mixtape.load_pandas().data[COLUMNS]
    data = pd.concat([treated, controls], ignore_index=True)
    return data.astype({c: "int64" for c in COLUMNS[:7]}).round(2)


def main() -> None:
    load().to_csv(Path(__file__).parent / "data.csv", index=False)


if __name__ == "__main__":
    main()
