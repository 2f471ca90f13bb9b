"""Monitoring against known truth: concept drift, performance intervals, text features, the
summary cache, escaping and dropped rows.

Every window is drawn from a structural model whose change is known: a doubled slope that
keeps every mean, a noisier outcome, a text feature's new frequencies.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from causalinterp.monitoring import monitor, summarize_reference


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    # Every test its own summary cache: nothing is written to the user's home.
    monkeypatch.setenv("CAUSALINTERP_CACHE_DIR", str(tmp_path / "cache"))


def _binary(n: int, seed: int, slope: float = 0.8) -> pd.DataFrame:
    """y ~ Bernoulli(sigmoid(slope * x + 0.5 z)); x, z symmetric around 0, so P(y) = 0.5 and
    the mean residual stay put whatever the slope."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = 0.6 * z + rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(slope * x + 0.5 * z)))).astype(float)
    return pd.DataFrame({"z": z, "x": x, "y": y})


BINARY_GRAPH = "z -> x; z -> y; x -> y"


def _kinds(window) -> set[tuple[str, str]]:
    return {(a.kind, a.subject) for a in window.alerts}


def test_a_doubled_slope_that_keeps_the_means_alerts_on_the_outcomes_mechanism():
    reference = _binary(5000, 0)
    windows = {"stable 1": _binary(2000, 1), "stable 2": _binary(2000, 2)}
    windows["slope x2"] = _binary(2000, 3, slope=1.6)
    result = monitor(
        reference, windows, BINARY_GRAPH, "y", max_shap_rows=200, n_bootstrap=50, progress=False
    )
    stable_1, stable_2, drifted = result.windows
    assert stable_1.alerts == () and stable_2.alerts == ()
    # The means did not move: the outcome's mean residual is no news ...
    y = next(m for m in drifted.causal_drift.ranking if m.node == "y")
    assert abs(drifted.drift[-1].distance) < 0.1  # the outcome's own distribution
    assert y.distribution_score < 0.1
    # ... its dependence on x is: the window's residuals rise with x.
    assert y.dependence_p < 1e-6 and y.dependence_score > 0.15
    assert ("mechanism_change", "y") in _kinds(drifted)
    assert drifted.causal_drift.ranking[0].node == "y"
    # The features' mechanisms are unchanged and named by nothing.
    assert {s for k, s in _kinds(drifted) if k == "mechanism_change"} == {"y"}
    assert not any(k == "feature_drift" for k, _ in _kinds(drifted))


def test_an_interaction_that_appears_is_seen_by_the_dependence_test():
    def draw(n: int, seed: int, interaction: float) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        a, b = rng.normal(size=n), rng.normal(size=n)
        return pd.DataFrame(
            {"a": a, "b": b, "y": a + b + interaction * a * b + rng.normal(0, 1.5, size=n)}
        )

    reference = draw(6000, 0, 0.0)
    result = monitor(
        reference,
        {"same": draw(3000, 1, 0.0), "a*b": draw(3000, 2, 0.6)},
        "a -> y; b -> y",
        "y",
        max_shap_rows=200,
        n_bootstrap=50,
        progress=False,
    )
    same, changed = (
        next(m for m in w.causal_drift.ranking if m.node == "y") for w in result.windows
    )
    assert not same.changed and same.dependence_p > 0.01
    assert changed.changed and changed.dependence_p < 1e-6
    # sd(0.6 a b) / 1.5 = 0.4 residual SDs, which the score recovers.
    assert changed.dependence_score == pytest.approx(0.4, abs=0.1)


def _noisy(n: int, seed: int, noise: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, noise, size=n)})


def test_a_performance_alert_needs_its_interval_above_zero():
    reference = _noisy(4000, 0)
    model = LinearRegression().fit(reference[["x"]], reference["y"])
    result = monitor(
        reference,
        {"noisier": _noisy(2000, 1, 1.5), "small": _noisy(40, 2, 1.15)},
        "x -> y",
        "y",
        model=model,
        max_shap_rows=200,
        n_bootstrap=50,
        progress=False,
    )
    noisier, small = result.windows
    # RMSE 1 -> 1.5: +50%, with an interval that excludes 0 and covers the truth.
    perf = noisier.performance
    assert perf.relative_change == pytest.approx(0.5, abs=0.06)
    assert 0.35 < perf.ci_low < 0.5 < perf.ci_high < 0.65 and perf.p_value < 1e-9
    alert = next(a for a in noisier.alerts if a.kind == "performance")
    assert "95% CI" in alert.message
    # 40 rows: a rise above performance_drop, but an interval that reaches below 0.
    assert small.performance.relative_change > 0.1 and small.performance.ci_low < 0
    assert not any(a.kind == "performance" for a in small.alerts)


def _regions(n: int, seed: int, south: float = 0.3) -> pd.DataFrame:
    """y = x + 2 [region = south] + noise; region a text root."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "west"], n, p=[0.7 - south, south, 0.3])
    x = rng.normal(size=n)
    y = x + 2.0 * (region == "south") + rng.normal(size=n)
    return pd.DataFrame({"region": region, "x": x, "y": y})


REGION_GRAPH = "region -> y; x -> y"


def _lightgbm(reference: pd.DataFrame):
    lgb = pytest.importorskip("lightgbm")
    X = reference[["region", "x"]].assign(region=reference["region"].astype("category"))
    return lgb.LGBMRegressor(n_estimators=60, verbose=-1).fit(X, reference["y"])


def _one_hot_pipeline(reference: pd.DataFrame):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encoder = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["region"]), remainder="passthrough"
    )
    pipeline = make_pipeline(encoder, GradientBoostingRegressor(n_estimators=60, random_state=0))
    return pipeline.fit(reference[["region", "x"]], reference["y"])


@pytest.mark.parametrize(
    "make", [None, _lightgbm, _one_hot_pipeline], ids=["default", "lightgbm", "pipeline"]
)
def test_a_text_feature_is_monitored_with_any_model(make):
    reference = _regions(3000, 0)
    model = None if make is None else make(reference)
    windows = {"same": _regions(1500, 1), "more south": _regions(1500, 2, south=0.55)}
    # A level the reference never had, in a few rows: an unseen level, not a failure.
    new_level = _regions(1500, 3)
    new_level.loc[:59, "region"] = "east"
    windows["east appears"] = new_level
    result = monitor(
        reference, windows, REGION_GRAPH, "y", model=model, max_shap_rows=300,
        n_bootstrap=50, progress=False,
    )  # fmt: skip
    same, south, east = result.windows
    assert same.alerts == ()
    assert ("feature_drift", "region") in _kinds(south)
    # region carries about 0.45 of the attribution (|2 * (south - 0.3)| against |x|) and more
    # when south is more frequent.
    shares = {s.feature: s for s in south.attribution.shares}
    assert 0.25 < shares["region"].reference < 0.65
    assert shares["region"].change > 0
    assert ("out_of_range", "region") in _kinds(east)
    assert "east" in next(r for r in east.support.ranges if r.name == "region").unseen_levels


def test_a_summary_with_a_text_feature_saves_and_loads(tmp_path):
    reference = _regions(1500, 0)
    model = _one_hot_pipeline(reference)
    summary = summarize_reference(reference, REGION_GRAPH, "y", model=model, max_shap_rows=200)
    path = summary.save(tmp_path / "summary")
    window = {"more south": _regions(800, 2, south=0.55)}
    first = monitor(summary, window, n_bootstrap=50, progress=False)
    again = monitor(path, window, model=model, n_bootstrap=50, progress=False)
    assert first.to_dict()["windows"] == again.to_dict()["windows"]


def test_the_reference_summary_is_reused_until_an_input_changes(tmp_path):
    reference = _noisy(1200, 0)
    window = {"w": _noisy(500, 1)}
    cache = tmp_path / "summaries"
    settings = dict(
        max_shap_rows=100, n_bootstrap=30, progress=False, reference_cache_dir=str(cache)
    )
    first = monitor(reference, window, "x -> y", "y", **settings)
    assert "saved to the cache" in first.notes[0]
    assert len(list(cache.glob("*.npz"))) == 1
    again = monitor(reference, window, "x -> y", "y", **settings)
    assert "reused from the cache" in again.notes[0]
    assert again.to_dict()["windows"] == first.to_dict()["windows"]
    # A changed option, a changed row or another seed: another summary.
    monitor(reference, window, "x -> y", "y", mechanism_rows=600, **settings)
    changed = reference.copy()
    changed.loc[0, "x"] += 1e-9
    monitor(changed, window, "x -> y", "y", **settings)
    monitor(reference, window, "x -> y", "y", seed=1, **settings)
    assert len(list(cache.glob("*.npz"))) == 4
    # Turned off: nothing read or written.
    off = monitor(reference, window, "x -> y", "y", reference_cache=False, **settings)
    assert not any("cache" in note for note in off.notes)
    assert len(list(cache.glob("*.npz"))) == 4


HOSTILE = "<img src=x onerror=alert(1)>|*x*"


def test_a_hostile_column_name_stays_text_in_markdown_and_html(tmp_path):
    def draw(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        x = rng.normal(shift, 1.0, n)
        return pd.DataFrame({HOSTILE: x, "y": 2 * x + rng.normal(size=n)})

    result = monitor(
        draw(1000, 0),
        {"moved | <b>": draw(500, 1, 1.0)},
        [(HOSTILE, "y")],
        "y",
        max_shap_rows=100,
        n_bootstrap=30,
        progress=False,
    )
    assert ("feature_drift", HOSTILE) in _kinds(result.windows[0])
    result.write(tmp_path)
    markdown = (tmp_path / "monitor.md").read_text("utf-8")
    page = (tmp_path / "monitor.html").read_text("utf-8")
    assert "<img" not in markdown and "<b>" not in markdown
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;\\|\\*x\\*" in markdown
    # Every table row keeps its six cells: no raw pipe splits one.
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert all(line.replace("\\|", "").count("|") == 7 for line in rows)
    assert "<img" not in page and "<b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;|*x*" in page
    assert 'http-equiv="Content-Security-Policy"' in page


def test_rows_without_a_time_are_counted(tmp_path):
    rng = np.random.default_rng(0)
    frame = _noisy(900, 1)
    frame["day"] = pd.Series(
        np.repeat(["2024-01-01", "2024-01-02", "2024-01-03"], 300), dtype=object
    )
    missing = rng.choice(900, 17, replace=False)
    frame.loc[missing, "day"] = None
    result = monitor(
        _noisy(1000, 0), frame, "x -> y", "y", time_column="day", window="1D",
        max_shap_rows=100, n_bootstrap=30, progress=False,
    )  # fmt: skip
    assert result.dropped_rows == {"missing_time": 17}
    assert sum(w.n_rows for w in result.windows) == 900 - 17
    assert any("17 row(s)" in note and "no day" in note for note in result.notes)
    result.write(tmp_path)
    data = json.loads((tmp_path / "monitor.json").read_text("utf-8"))
    assert data["dropped_rows"] == {"missing_time": 17}


def test_the_mechanisms_trees_predict_as_the_fitted_booster():
    from sklearn.ensemble import HistGradientBoostingRegressor

    from causalinterp.monitoring.mechanisms import Trees

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 3))
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + rng.normal(0, 0.1, 1500)
    booster = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(x, y)
    beyond = rng.normal(0, 3, size=(800, 3))  # inside and far beyond the fitted range
    assert Trees.from_booster(booster).predict(beyond) == pytest.approx(
        booster.predict(beyond), abs=1e-12
    )


def test_the_command_line_reuses_the_cached_summary(tmp_path, capsys):
    from causalinterp.cli import main

    _noisy(800, 0).to_csv(tmp_path / "reference.csv", index=False)
    _noisy(400, 1).to_csv(tmp_path / "window.csv", index=False)
    argv = [
        "monitor", "--reference", str(tmp_path / "reference.csv"), "--graph", "x -> y",
        "--outcome", "y", "--current", str(tmp_path / "window.csv"), "--max-shap-rows", "100",
        "--n-bootstrap", "30", "--reference-cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert "saved to the cache" in capsys.readouterr().out
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert "reused from the cache" in capsys.readouterr().out
    assert main([*argv, "--out", str(tmp_path / "c"), "--no-reference-cache"]) == 0
    assert "from the cache" not in capsys.readouterr().out
    first = json.loads((tmp_path / "a" / "monitor.json").read_text("utf-8"))["windows"]
    again = json.loads((tmp_path / "b" / "monitor.json").read_text("utf-8"))["windows"]
    assert first == again
