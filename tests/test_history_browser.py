"""history.html in a real browser: headless Debian Chromium driven by Playwright.

Three stored runs. Checks that the page is self-contained (no request leaves file: and data:),
renders without console errors, draws a timeline per figure with its threshold, rings exactly
the points that alerted, keeps every label inside its plot, legends without overlaps, and a
hostile window name as text.
"""

from __future__ import annotations

import pytest
from _browser import offline_page
from _monitor_worlds import draw as _draw
from sklearn.linear_model import LinearRegression

from causalinterp.monitoring import monitor
from causalinterp.monitoring.history import read_history, record_run

pytestmark = pytest.mark.browser


HOSTILE = '<img src=x onerror="alert(1)">'
LONG = "exports/2024-06-08/eu-west/late-arrivals-after-reprocessing"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    reference = _draw(800, 0)
    model = LinearRegression().fit(reference[["x"]], reference["y"])
    options = {"model": model, "max_shap_rows": 100, "n_bootstrap": 50, "progress": False}
    first = monitor(reference, {LONG: _draw(400, 2, 1.0), "2024-06-01": _draw(400, 1)},
                    "z -> x; z -> y; x -> y", "y", **options)  # fmt: skip
    second = monitor(reference, {HOSTILE: _draw(400, 3)}, "z -> x; z -> y; x -> y", "y", **options)
    out = tmp_path_factory.mktemp("history")
    for result in (first, second, first):
        record_run(result, out / "history.db")
    history = read_history(out / "history.db")
    history.write(out)
    with offline_page(out / "history.html") as (tab, record):
        yield tab, record, history


def test_renders_offline_and_quietly(page):
    tab, record, _ = page
    assert [m for m in record["console"] if m[0] == "error"] == []
    assert record["errors"] == [] and record["dialogs"] == []
    assert all(u.startswith(("file:", "data:")) for u in record["requests"]), record["requests"]
    assert tab.title() == "Monitoring history: y"
    assert tab.locator("img").count() == 0  # the hostile window name stayed text
    assert HOSTILE in tab.locator("#runs").inner_text()


def test_a_timeline_per_figure_with_threshold_and_one_point_per_window(page):
    tab, _, history = page
    windows = sum(len(run.windows) for run in history.runs)
    for ident in ("drift", "mechanism", "range", "share", "novelty", "ndcg", "performance"):
        svg = tab.locator(f"#timeline-{ident}")
        assert svg.is_visible(), ident
        assert svg.locator("polyline.threshold").count() == 1, ident
        assert svg.locator("text.window").count() == windows == 5, ident
    drift = tab.locator("#timeline-drift")
    # Three columns (x, y, z) drawn, each with a point in every window.
    assert drift.locator("circle.point").count() == 3 * windows


def test_exactly_the_alerting_points_are_ringed(page):
    tab, _, history = page
    for ident, kinds in (("drift", {"feature_drift", "outcome_drift"}),
                         ("mechanism", {"mechanism_change"})):  # fmt: skip
        expected = sum(1 for run in history.runs for a in run.alerts if a.kind in kinds)
        svg = tab.locator(f"#timeline-{ident}")
        rings = svg.locator("circle.alert-mark")
        assert rings.count() == expected > 0, ident
        points = {
            (p.get_attribute("cx"), p.get_attribute("cy"))
            for p in svg.locator("circle.point").all()
        }
        for ring in rings.all():
            assert (ring.get_attribute("cx"), ring.get_attribute("cy")) in points
            assert ring.locator("title").text_content().startswith("alert in #")
    # The shifted window alerted in runs 1 and 3; the stable and the hostile one never did.
    tips = " ".join(t.text_content() for t in tab.locator("circle.alert-mark title").all())
    assert "2024-06-01" not in tips and "onerror" not in tips and "late-arrivals" in tips


def test_labels_stay_inside_their_plots_and_legends_do_not_overlap(page):
    tab, _, _ = page
    clipped = tab.evaluate(
        """() => {
        const out = [];
        for (const svg of document.querySelectorAll('svg.timeline')) {
          const box = svg.getBoundingClientRect();
          for (const t of svg.querySelectorAll('text')) {
            const r = t.getBoundingClientRect();
            if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
                r.bottom > box.bottom + 1) out.push(svg.id + ': ' + t.textContent);
          }
        }
        return out;
    }"""
    )
    assert clipped == []
    overlaps = tab.evaluate(
        """() => {
        const out = [];
        for (const ul of document.querySelectorAll('ul.legend')) {
          const items = [...ul.querySelectorAll('li')].map(li => li.getBoundingClientRect());
          for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
            const a = items[i], b = items[j];
            if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
              out.push(ul.parentElement.id + ' ' + i + '/' + j);
          }
        }
        return out;
    }"""
    )
    assert overlaps == []
    width = tab.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    # A long window name is shortened on the axis and whole in its tooltip.
    label = tab.locator("#timeline-drift text.window").first  # the first leans furthest out
    assert label.text_content().endswith("…") and label.locator("title").text_content().endswith(
        LONG
    )
