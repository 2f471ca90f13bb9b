"""Same data, graph and seed: byte-identical report.json apart from the top-level ``run``
object, across runs and across n_jobs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalinterp import analyze
from causalinterp.cli import main

# A categorical treatment (plan), a categorical and a binary control (region, promo), a
# continuous feature, a latent confounder and a consequence of the outcome.
GRAPH = (
    "region -> usage; region -> y; usage -> y; u -> usage; u -> promo; promo -> y; "
    "usage -> plan; plan -> y; y -> complaint"
)
FEATURES = ["plan", "usage", "complaint"]


def data(n: int = 200, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["east", "north", "south"], size=n)
    u = rng.normal(size=n)
    usage = (region == "south") + u + rng.normal(size=n)
    promo = (u + rng.normal(size=n) > 0).astype(int)
    plan = np.where(usage > 0.5, "pro", np.where(rng.random(n) < 0.5, "basic", "plus"))
    y = 0.8 * usage + 0.5 * promo + (plan == "pro") + (region == "north") + rng.normal(size=n)
    complaint = y + rng.normal(size=n)
    return pd.DataFrame(
        {
            "region": region,
            "usage": usage,
            "promo": promo,
            "plan": plan,
            "y": y,
            "complaint": complaint,
        }
    )


def without_run(text: str) -> str:
    """The report.json text minus its ``run`` object, byte for byte."""
    parsed = json.loads(text)
    # The file is canonical JSON, so re-serialising it reproduces it exactly; comparing the
    # re-serialised text without `run` is comparing the file's bytes without `run`.
    assert json.dumps(parsed, sort_keys=True, indent=2, ensure_ascii=False) + "\n" == text
    parsed.pop("run")
    return json.dumps(parsed, sort_keys=True, indent=2, ensure_ascii=False)


def run(n_jobs: int, seed: int = 4) -> str:
    report = analyze(
        data(), GRAPH, "y", features=FEATURES, seed=seed, n_jobs=n_jobs, refute="quick"
    )
    return report.to_json()


@pytest.fixture(scope="module")
def serial() -> str:
    return run(n_jobs=1)


def test_the_report_is_not_trivial(serial):
    saved = json.loads(serial)
    by_name = {f["name"]: f for f in saved["features"]}
    assert by_name["plan"]["kind"] == "categorical" and by_name["plan"]["effect"]["levels"]
    assert by_name["usage"]["refutations"] and saved["graph_test"] is not None
    assert by_name["complaint"]["verdict"] == "no_causal_path"


def test_two_runs_with_the_same_seed_are_byte_identical(serial):
    assert without_run(run(n_jobs=1)) == without_run(serial)


def test_n_jobs_does_not_change_the_report_json_the_cli_writes(serial, tmp_path):
    path = tmp_path / "data.csv"
    data().to_csv(path, index=False)
    out = tmp_path / "out"
    argv = ["analyze", "--data", str(path), "--graph", GRAPH, "--outcome", "y", "--out", str(out)]
    argv += ["--features", ",".join(FEATURES), "--seed", "4", "--refute", "quick"]
    assert main([*argv, "--n-jobs", "2", "--quiet"]) == 0
    assert without_run((out / "report.json").read_text(encoding="utf-8")) == without_run(serial)


def test_parallel_config_is_honoured_and_changes_nothing(serial, monkeypatch):
    from joblib import Parallel, parallel_config

    from causalinterp import _progress

    used = []

    class Recording(Parallel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            used.append((type(self._backend).__name__, self.n_jobs))

    monkeypatch.setattr(_progress, "Parallel", Recording)
    with parallel_config(backend="threading", n_jobs=2):
        report = analyze(data(), GRAPH, "y", features=FEATURES, seed=4, refute="quick")
    assert without_run(report.to_json()) == without_run(serial)
    # Every parallel stage ran through the helper, on the user's backend and worker count.
    assert len(used) >= 3
    assert set(used) == {("ThreadingBackend", 2)}


def test_the_stages_by_hand_give_the_verdicts_of_analyze(serial):
    from causalinterp import (
        CausalGraph,
        attribute_model,
        check_data,
        estimate_effects,
        judge,
        refute_effects,
        stage_seeds,
    )

    seeds = stage_seeds(4)
    graph = CausalGraph.parse(GRAPH)
    frame = data()
    checked = check_data(frame, graph, "y", features=FEATURES)
    effects = estimate_effects(checked, graph, seed=seeds.effects)
    refutations = refute_effects(checked, effects, refute="quick", seed=seeds.refutations)
    attributions = attribute_model(
        None, frame, checked, model_seed=seeds.model, seed=seeds.attributions
    )
    verdicts = judge(effects, attributions, graph, checked, refutations)

    expected = {f["name"]: f for f in json.loads(serial)["features"]}
    assert list(verdicts) == list(expected)
    for name, verdict in verdicts.items():
        assert verdict.verdict == expected[name]["verdict"], name
        assert verdict.flagged == expected[name]["flagged"], name
