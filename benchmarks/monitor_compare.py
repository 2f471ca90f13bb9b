"""causalinterp's monitoring beside Evidently and NannyML on one lending simulator.

One structural model of a loan book (a text feature included), a 20,000-row labelled reference
and a model fitted on other rows; then windows with known changes, each compared with the
reference by every tool at its default settings:

=================  =====================================================  ======================
scenario           change                                                 right answer
=================  =====================================================  ======================
stable_500/2000/   none (labelled windows of 500, 2,000, 5,000 rows)      no alert
  5000
concept            the outcome's spend coefficient doubled (every         an alert (the outcome's
                   feature's distribution unchanged; labelled)            mechanism)
age_shift          the root age moves +5 years (0.5 SD)                   age named alone
spend_mechanism    spend's own mechanism shifts +2.5 (0.5 residual SD)    spend named alone
=================  =====================================================  ======================

"Named" is what a tool points at: for causalinterp the nodes whose mechanism changed
(``mechanism_change``), for Evidently and NannyML the drifted columns. Timings are per window,
wall clock and CPU time of the process, everything included (causalinterp: loading the saved
20k summary and comparing; Evidently: ``DataDriftPreset``; NannyML: univariate drift and
realized AUC, fitted on the reference in chunks of the window's size). On a shared machine the
wall clock depends on the other jobs; the CPU time much less.

Run::

    python benchmarks/monitor_compare.py --tools causalinterp
    # Evidently and NannyML from the ``compare`` extra, best in their own environment
    # (NannyML 0.13 needs pandas < 3): pip install -e '.[compare]'
    python benchmarks/monitor_compare.py --tools evidently,nannyml

``--windows N`` and ``--stable N`` set the windows per shift scenario (5) and per stable size
(10); ``--scenarios stable_5000,concept`` runs some scenarios only; ``--json FILE`` writes every
window's outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# No usage reports from the compared libraries (NannyML sends them by default).
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

FEATURES = ["age", "region", "income", "tenure", "spend"]
OUTCOME = "default"
GRAPH = (
    "age -> income; age -> tenure; income -> spend; tenure -> spend; region -> spend; "
    "income -> default; spend -> default; tenure -> default; age -> default"
)
SPEND_MEAN = 24.0


def simulate(
    n: int, seed: int, *, spend_coef: float = 0.08, age_shift: float = 0.0,
    spend_shift: float = 0.0,
) -> pd.DataFrame:  # fmt: skip
    """Rows of the loan book; the keywords are the changes of the scenarios."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40.0 + age_shift, 10.0, n)
    region = rng.choice(["north", "south", "west"], n, p=[0.5, 0.3, 0.2])
    income = 20.0 + 0.8 * age + rng.normal(0.0, 8.0, n)
    tenure = 5.0 + 0.15 * (age - 40.0) + rng.normal(0.0, 2.0, n)
    spend = (
        5.0 + 0.3 * income + 0.5 * tenure + 3.0 * (region == "south")
        + rng.normal(spend_shift, 5.0, n)
    )  # fmt: skip
    logit = (
        -1.2 - 0.04 * (income - 52.0) + spend_coef * (spend - SPEND_MEAN)
        - 0.1 * (tenure - 5.0) + 0.01 * (age - 40.0)
    )  # fmt: skip
    default = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    return pd.DataFrame(
        {"age": age, "region": region, "income": income, "tenure": tenure, "spend": spend,
         OUTCOME: default}
    )  # fmt: skip


def fit_model(seed: int = 99):
    """The deployed model: one-hot region and gradient boosting, fitted on other rows."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = simulate(20_000, seed)
    encoder = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["region"]),
        remainder="passthrough",
    )
    model = make_pipeline(encoder, HistGradientBoostingClassifier(max_iter=100, random_state=0))
    return model.fit(train[FEATURES], train[OUTCOME])


def scenarios(per_shift: int, per_size: int) -> list[tuple[str, str, pd.DataFrame, bool]]:
    """(scenario, window name, rows, labelled) for every window, seeded."""
    out = []
    seed = 1000
    for size in (500, 2000, 5000):
        for i in range(per_size):
            seed += 1
            out.append((f"stable_{size}", f"s{size}-{i}", simulate(size, seed), True))
    for i in range(per_shift):
        seed += 1
        out.append(("concept", f"c{i}", simulate(5000, seed, spend_coef=0.16), True))
    for i in range(per_shift):
        seed += 1
        rows = simulate(5000, seed, age_shift=5.0).drop(columns=[OUTCOME])
        out.append(("age_shift", f"a{i}", rows, False))
    for i in range(per_shift):
        seed += 1
        rows = simulate(5000, seed, spend_shift=2.5).drop(columns=[OUTCOME])
        out.append(("spend_mechanism", f"m{i}", rows, False))
    return out


# ----------------------------------------------------------------------------- the tools
class Causalinterp:
    name = "causalinterp"

    def __init__(self, reference: pd.DataFrame, model, folder: Path) -> None:
        from causalinterp.monitoring import summarize_reference

        self.model = model
        started = time.perf_counter()
        summary = summarize_reference(reference, GRAPH, OUTCOME, model=model, seed=0)
        self.summary_seconds = time.perf_counter() - started
        self.path = summary.save(folder / "reference.summary")

    def window(self, rows: pd.DataFrame, labelled: bool) -> tuple[bool, set[str], dict]:
        from causalinterp.monitoring import monitor

        result = monitor(self.path, {"w": rows}, model=self.model, progress=False)
        (window,) = result.windows
        named = {a.subject for a in window.alerts if a.kind == "mechanism_change"}
        kinds = sorted({f"{a.kind}:{a.subject}" for a in window.alerts})
        return bool(window.alerts), named, {"alerts": kinds}


class Evidently:
    name = "evidently"

    def __init__(self, reference: pd.DataFrame, model, folder: Path) -> None:
        self.reference = reference
        self.summary_seconds = 0.0

    def window(self, rows: pd.DataFrame, labelled: bool) -> tuple[bool, set[str], dict]:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        columns = [*FEATURES, OUTCOME] if labelled else FEATURES
        snapshot = Report([DataDriftPreset()]).run(
            current_data=rows[columns], reference_data=self.reference[columns]
        )
        drifted = set()
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if not config.get("type", "").endswith("ValueDrift"):
                continue
            value, threshold = float(metric["value"]), float(config["threshold"])
            p_value = "p_value" in config.get("method", "")
            if (value < threshold) if p_value else (value >= threshold):
                drifted.add(config["column"])
        return bool(drifted), drifted, {"drifted": sorted(drifted)}


class NannyML:
    name = "nannyml"

    def __init__(self, reference: pd.DataFrame, model, folder: Path) -> None:
        self.model = model
        self.reference = self._scored(reference)
        self.summary_seconds = 0.0

    def _scored(self, rows: pd.DataFrame) -> pd.DataFrame:
        proba = self.model.predict_proba(rows[FEATURES])[:, 1]
        return rows.assign(proba=proba, pred=(proba >= 0.5).astype(float))

    def window(self, rows: pd.DataFrame, labelled: bool) -> tuple[bool, set[str], dict]:
        import nannyml as nml

        rows = self._scored(rows)
        drift = nml.UnivariateDriftCalculator(
            column_names=FEATURES, treat_as_categorical=["region"], chunk_size=len(rows),
            continuous_methods=["jensen_shannon"], categorical_methods=["jensen_shannon"],
        )  # fmt: skip
        drift.fit(self.reference)
        table = drift.calculate(rows).filter(period="analysis").to_df()
        drifted = {
            column for column in FEATURES
            if bool(table[(column, "jensen_shannon", "alert")].any())
        }  # fmt: skip
        extra = {"drifted": sorted(drifted)}
        performance_alert = False
        if labelled:
            calculator = nml.PerformanceCalculator(
                y_pred_proba="proba", y_pred="pred", y_true=OUTCOME, metrics=["roc_auc"],
                chunk_size=len(rows), problem_type="classification_binary",
            )  # fmt: skip
            calculator.fit(self.reference)
            result = calculator.calculate(rows).filter(period="analysis").to_df()
            performance_alert = bool(result[("roc_auc", "alert")].any())
            extra["auc_alert"] = performance_alert
        return bool(drifted) or performance_alert, drifted, extra


TOOLS = {"causalinterp": Causalinterp, "evidently": Evidently, "nannyml": NannyML}
EXPECTED = {"age_shift": {"age"}, "spend_mechanism": {"spend"}}


def run(
    tools: list[str], per_shift: int, per_size: int, only: set[str] | None = None
) -> list[dict]:
    reference = simulate(20_000, 7)
    model = fit_model()
    windows = [w for w in scenarios(per_shift, per_size) if only is None or w[0] in only]
    records = []
    with tempfile.TemporaryDirectory() as folder:
        for tool_name in tools:
            tool = TOOLS[tool_name](reference, model, Path(folder))
            print(f"{tool_name}: reference prepared in {tool.summary_seconds:.1f} s", flush=True)
            for scenario, name, rows, labelled in windows:
                started, cpu = time.perf_counter(), time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    alert, named, extra = tool.window(rows, labelled)
                seconds = time.perf_counter() - started
                extra["cpu_seconds"] = time.process_time() - cpu
                records.append(
                    {"tool": tool_name, "scenario": scenario, "window": name,
                     "rows": len(rows), "alert": alert, "named": sorted(named),
                     "seconds": seconds, **extra}
                )  # fmt: skip
                shown = ",".join(sorted(named)) or "-"
                print(
                    f"  {scenario:16s} {name:8s} alert={alert!s:5s} named={shown:24s} "
                    f"{seconds:5.1f} s",
                    flush=True,
                )
    return records


def table(records: list[dict]) -> str:
    """Per tool and scenario: windows with an alert, windows naming the change alone, time."""
    lines = [
        "| tool | scenario | windows | with an alert | named alone | median s / window "
        "(wall) | median CPU s / window |",
        "|---|---|---|---|---|---|---|",
    ]
    frame = pd.DataFrame(records)
    for (tool, scenario), group in frame.groupby(["tool", "scenario"], sort=False):
        expected = EXPECTED.get(scenario)
        alone = (
            "—" if expected is None
            else f"{sum(set(n) == expected for n in group['named'])}/{len(group)}"
        )  # fmt: skip
        lines.append(
            f"| {tool} | {scenario} | {len(group)} | {int(group['alert'].sum())}/{len(group)} "
            f"| {alone} | {group['seconds'].median():.1f} | "
            f"{group['cpu_seconds'].median():.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default="causalinterp,evidently,nannyml")
    parser.add_argument("--windows", type=int, default=5, help="windows per shift scenario")
    parser.add_argument("--stable", type=int, default=10, help="stable windows per size")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--scenarios", default=None, help="comma-separated scenarios to run (default: all)"
    )
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        print(f"tools: unknown {unknown[0]!r}; use {', '.join(TOOLS)}", file=sys.stderr)
        return 2
    only = None if args.scenarios is None else {s.strip() for s in args.scenarios.split(",")}
    records = run(tools, args.windows, args.stable, only)
    print(table(records))
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
