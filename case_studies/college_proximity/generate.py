"""Export this case study's data.csv from the causaldata package (shipped offline).

    python -m pip install causaldata && python case_studies/college_proximity/generate.py

Rows: the 3,010 men of the National Longitudinal Survey of Young Men (1966 cohort, wages in
1976) used by Card (1995), as shipped in ``causaldata.close_college``. Marital status (7 rows
missing) is left out: it is not part of Card's specification.
"""

from pathlib import Path

import pandas as pd
from causaldata import close_college

COLUMNS = ["lwage", "educ", "nearc4", "exper", "black", "south", "smsa"]


def load() -> pd.DataFrame:
    """The rows and columns written to data.csv."""
    data = close_college.load_pandas().data[COLUMNS]
    return data.astype({c: "int64" for c in COLUMNS[1:]}).round(6)


def main() -> None:
    load().to_csv(Path(__file__).parent / "data.csv", index=False)


if __name__ == "__main__":
    main()
