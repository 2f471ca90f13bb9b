"""Export this case study's data.csv from the causaldata package (shipped offline).

    python -m pip install causaldata && python case_studies/job_training/generate.py

Rows: the 445 men of the National Supported Work (NSW) demonstration in the Dehejia & Wahba
(1999) sample: 185 randomly assigned to training, 260 to control. Because assignment was random,
the difference in mean 1978 earnings, $1,794, is an unbiased estimate of the training's effect:
the benchmark the analysis must recover. (causaldata also ships CPS controls; against them the
treated are a tiny, unlike minority and the average effect over the CPS population is a
different quantity from the experimental one, so they are not used here.)
"""

from pathlib import Path

from causaldata import nsw_mixtape

COLUMNS = ["treat", "age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78"]


def main() -> None:
    data = nsw_mixtape.load_pandas().data[COLUMNS]
    data = data.astype({c: "int64" for c in COLUMNS[:7]}).round(2)
    data.to_csv(Path(__file__).parent / "data.csv", index=False)


if __name__ == "__main__":
    main()
