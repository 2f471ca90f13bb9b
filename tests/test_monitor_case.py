"""The monitoring case study: each injected change raises the alert that names it.

The windows are drawn from ``case_studies/monitoring/generate.py`` (smaller than its files, so
the test is quick); each window changes one mechanism, so the right alert is known.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from causalinterp.monitoring import monitor, summarize_reference

CASE = Path(__file__).resolve().parents[1] / "case_studies" / "monitoring"
sys.path.insert(0, str(CASE))
import generate  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _summary_cache(tmp_path_factory):
    # Reference summaries are cached in a temporary folder, never in the user's home.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAUSALINTERP_CACHE_DIR", str(tmp_path_factory.mktemp("summaries")))
        yield


@pytest.fixture(scope="module")
def result():
    summary = summarize_reference(
        generate.reference(2000, seed=0),
        CASE / "graph.dot",
        generate.OUTCOME,
        features=generate.FEATURES,
        # 100 explained rows per window: TreeSHAP against the 100-row background dominates the
        # run time, and the attribution alerts keep their verdicts (the stable window is quiet).
        max_shap_rows=100,
        seed=0,
    )
    windows = {
        name: generate.window(name, 1000, seed=10 + i) for i, name in enumerate(generate.WINDOWS)
    }
    return monitor(summary, windows, n_bootstrap=100, analysis=CASE / "analysis" / "report.json")


def _window(result, name):
    return next(w for w in result.windows if w.name == name)


def _alerts(result, name):
    return {(a.kind, a.subject) for a in _window(result, name).alerts}


def test_stable_window_raises_no_alert(result):
    assert _alerts(result, "stable") == set()
    assert not any(m.changed for m in _window(result, "stable").causal_drift.ranking)


def test_covariate_shift_on_a_clean_cause_names_it(result):
    window = _window(result, "covariate_shift")
    assert ("feature_drift", "tenure_years") in _alerts(result, "covariate_shift")
    assert window.causal_drift.target == "prediction"  # no labels in this window
    assert window.causal_drift.ranking[0].node == "tenure_years"
    changed = {a.subject for a in window.alerts if a.kind == "mechanism_change"}
    assert changed == {"tenure_years"}


def test_confounder_change_is_traced_from_its_proxy_to_the_confounder(result):
    window = _window(result, "confounder_shift")
    alerts = _alerts(result, "confounder_shift")
    # The proxy drifts, but the mechanism that changed is the confounder's, ranked first.
    assert ("feature_drift", "device_score") in alerts
    assert ("mechanism_change", "household_income") in alerts
    assert ("mechanism_change", "device_score") not in alerts
    assert window.causal_drift.ranking[0].node == "household_income"
    proxy = next(a for a in window.alerts if a.subject == "device_score")
    assert "upstream from household_income" in proxy.message
    assert "proxy" in proxy.message


def test_rows_outside_the_support_are_flagged_by_feature(result):
    window = _window(result, "out_of_support")
    alerts = _alerts(result, "out_of_support")
    assert ("out_of_range", "usage_hours") in alerts
    assert ("out_of_support", "rows") in alerts
    # support_calls follows usage_hours out of range, but its own mechanism did not change.
    assert ("mechanism_change", "support_calls") not in alerts
    assert window.causal_drift.ranking[0].node == "usage_hours"
    assert window.support.novelty_share > 0.08  # 10% of rows were moved out
    assert window.support.examples and window.support.examples[0]["usage_hours"] > 55
    outside = next(r for r in window.support.ranges if r.name == "usage_hours")
    assert outside.share_outside == pytest.approx(0.1, abs=0.005)


def test_label_shift_names_the_outcome(result):
    window = _window(result, "label_shift")
    alerts = _alerts(result, "label_shift")
    assert ("outcome_drift", "churned") in alerts
    assert ("mechanism_change", "churned") in alerts
    assert window.causal_drift.target == "churned"
    assert window.causal_drift.ranking[0].node == "churned"
    assert not any(kind == "feature_drift" for kind, _ in alerts)
    assert window.performance is not None and window.performance.relative_change > 0


def test_monitor_json_has_the_documented_shape(result, tmp_path):
    result.write(tmp_path)
    data = json.loads((tmp_path / "monitor.json").read_text(encoding="utf-8"))
    assert [w["name"] for w in data["windows"]] == list(generate.WINDOWS)
    assert data["summary"]["exit_code"] == 1
    for window in data["windows"]:
        for alert in window["alerts"]:
            assert {"kind", "subject", "value", "threshold", "message"} <= set(alert)
        scores = [m["score"] for m in window["causal_drift"]]
        assert scores == sorted(scores, reverse=True)
        assert all("node" in m for m in window["causal_drift"])
    assert data["windows"][0]["alerts"] == []
    assert (tmp_path / "monitor.md").read_text(encoding="utf-8").startswith("# Monitoring")
    html = (tmp_path / "monitor.html").read_text(encoding="utf-8")
    assert html.count('class="threshold"') >= 6 and "<script" not in html
