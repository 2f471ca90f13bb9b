"""outcome_change: the change of the outcome's mean split over mechanisms (DoWhy gcm),
against shifts injected into known mechanisms."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from causalinterp import monitor
from causalinterp.monitoring.reference import ReferenceSummary, summarize_reference


@pytest.fixture(autouse=True, scope="module")
def _summary_cache(tmp_path_factory):
    # Reference summaries are cached in a temporary folder, never in the user's home.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAUSALINTERP_CACHE_DIR", str(tmp_path_factory.mktemp("summaries")))
        yield


GRAPH = "z -> x; z -> y; x -> y; w -> y; region -> y"


def draw(n: int, seed: int, shift_x: float = 0.0, shift_z: float = 0.0) -> pd.DataFrame:
    """y = 1.5 x + z + 0.5 w + noise, x = 0.8 z + noise; a text node region with no effect.
    Shifting x's mechanism by 1 moves y's mean by 1.5 through x alone; shifting z's moves it
    by 0.8 * 1.5 + 1 = 2.2, all of it z's (x's and y's mechanisms are unchanged)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n) + shift_z
    w = rng.normal(size=n)
    x = 0.8 * z + rng.normal(size=n) + shift_x
    y = 1.5 * x + z + 0.5 * w + rng.normal(size=n)
    region = rng.choice(["north", "south"], n)
    return pd.DataFrame({"z": z, "w": w, "x": x, "region": region, "y": y})


@pytest.fixture(scope="module")
def summary():
    return summarize_reference(draw(3000, 0), GRAPH, "y", features=["z", "w", "x"], seed=0)


@pytest.fixture(scope="module")
def result(summary):
    windows = {
        "same": draw(1000, 1),
        "x moved": draw(1000, 2, shift_x=1.0),
        "z moved": draw(1000, 3, shift_z=1.0),
        "few labels": draw(1000, 4).assign(y=lambda d: d.y.where(d.index < 10)),
    }
    return monitor(summary, windows, outcome_change=True, progress=False)


def changes(result) -> dict:
    return {w.name: w.outcome_change for w in result.windows}


def test_the_shifted_mechanism_carries_the_change(result):
    moved = changes(result)["x moved"]
    contributions = dict(moved.contributions)
    assert moved.contributions[0][0] == "x"
    assert contributions["x"] == pytest.approx(1.5, abs=0.25)
    assert sum(contributions.values()) == pytest.approx(moved.change, abs=1e-6)
    for node in ("z", "w", "y"):
        assert abs(contributions[node]) < 0.25


def test_a_shifted_root_is_credited_with_what_flows_through_its_children(result):
    moved = dict(changes(result)["z moved"].contributions)
    assert max(moved, key=lambda n: abs(moved[n])) == "z"
    assert moved["z"] == pytest.approx(2.2, abs=0.35)
    assert abs(moved["x"]) < 0.25 and abs(moved["y"]) < 0.25


def test_an_unshifted_window_has_only_noise_and_text_nodes_are_named(result):
    same = changes(result)["same"]
    assert all(abs(v) < 0.2 for _, v in same.contributions)
    assert same.left_out == ("region",) and same.rows == (3000, 1000)


def test_a_window_with_too_few_labels_says_why_and_the_others_stand(result):
    few = changes(result)["few labels"]
    assert few.contributions == () and "10 complete labelled rows" in few.error
    assert changes(result)["x moved"].error is None


def test_monitor_json_and_markdown_carry_the_split(result, tmp_path):
    result.write(tmp_path)
    data = json.loads((tmp_path / "monitor.json").read_text())
    window = {w["name"]: w for w in data["windows"]}["x moved"]
    assert window["outcome_change"]["contributions"][0]["node"] == "x"
    assert window["outcome_change"]["left_out"] == ["region"]
    text = (tmp_path / "monitor.md").read_text()
    assert "## Change of the mean of y, by mechanism" in text
    assert re.search(r"- x moved: \+1\.[3-7]\d* = x \+1\.[3-7]", text)


def test_off_by_default_and_the_global_random_state_is_untouched(summary, tmp_path):
    plain = monitor(summary, {"x moved": draw(600, 5, shift_x=1.0)}, progress=False)
    assert plain.windows[0].outcome_change is None
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    monitor(summary, {"x moved": draw(600, 5, shift_x=1.0)}, outcome_change=True,
            progress=False)  # fmt: skip
    assert np.array_equal(np.random.get_state()[1], before)


def test_the_default_model_takes_a_text_feature():
    # region is text: the default model takes it as one-hot encoded level codes.
    summary = summarize_reference(draw(300, 0), GRAPH, "y", seed=0)
    assert summary.levels == {"region": ("north", "south")}
    assert summary.explained["region"].isin([0.0, 1.0]).all()


def test_a_saved_summary_keeps_the_sample_and_gives_the_same_split(summary, tmp_path):
    path = summary.save(tmp_path / "reference")
    loaded = ReferenceSummary.load(path)
    pd.testing.assert_frame_equal(loaded.change_sample, summary.change_sample)
    window = {"x moved": draw(800, 6, shift_x=1.0)}
    first = monitor(summary, window, outcome_change=True, progress=False)
    again = monitor(loaded, window, outcome_change=True, progress=False)
    assert first.windows[0].outcome_change == again.windows[0].outcome_change
