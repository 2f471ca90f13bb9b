"""Export this case study's data.csv from the causaldata package (shipped offline).

    python -m pip install causaldata && python case_studies/job_training/generate.py

Rows: the 185 National Supported Work (NSW) trainees of Dehejia & Wahba (1999) and the 15,992
Current Population Survey (CPS-1) non-participants as controls. The randomised NSW experiment
puts the programme's effect on 1978 earnings at $1,794 (treated minus experimental controls):
the benchmark an observational analysis of these rows should recover.
"""

from pathlib import Path

import pandas as pd
from causaldata import cps_mixtape, nsw_mixtape

COLUMNS = ["treat", "age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78"]


def main() -> None:
    nsw = nsw_mixtape.load_pandas().data
    cps = cps_mixtape.load_pandas().data
    data = pd.concat([nsw[nsw["treat"] == 1], cps], ignore_index=True)[COLUMNS]
    data = data.astype({c: "int64" for c in COLUMNS[:7]}).round(2)
    data.to_csv(Path(__file__).parent / "data.csv", index=False)


if __name__ == "__main__":
    main()
