"""monitor.html in a real browser: headless Debian Chromium driven by Playwright.

Checks that the page is self-contained (no request leaves file:// and data:) under the
report's Content-Security-Policy, renders without console errors, shows one timeline per figure
with its threshold drawn, that the points sit where the figures put them, that window names
and legend labels are drawn whole inside their figure without overlapping each other, and
that a hostile window name stays text.
"""

from __future__ import annotations

import itertools
import math

import pytest
from _browser import offline_page
from _monitor_worlds import draw as _draw
from sklearn.linear_model import LinearRegression

from causalinterp.monitoring import monitor

pytestmark = pytest.mark.browser



@pytest.fixture(autouse=True, scope="module")
def _summary_cache(tmp_path_factory):
    # Reference summaries are cached in a temporary folder, never in the user's home.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAUSALINTERP_CACHE_DIR", str(tmp_path_factory.mktemp("summaries")))
        yield


HOSTILE = '<img src=x onerror="alert(1)">'
LONG = "2024-06-01 to 2024-06-07 (week 23)"
FIGURES = ("drift", "support", "range", "ndcg", "share", "mechanism", "performance")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    reference = _draw(800, 0)
    model = LinearRegression().fit(reference[["x"]], reference["y"])
    result = monitor(
        reference,
        {
            LONG: _draw(400, 1),
            "shifted": _draw(400, 2, 1.0),
            HOSTILE: _draw(400, 3),
            "a fourth window": _draw(400, 4),
        },
        "z -> x; z -> y; x -> y",
        "y",
        model=model,
        max_shap_rows=100,
        n_bootstrap=50,
    )
    out = tmp_path_factory.mktemp("monitor")
    result.write(out)
    with offline_page(out / "monitor.html") as (tab, record):
        yield tab, record, result


def test_renders_offline_and_quietly(page):
    tab, record, _ = page
    assert [m for m in record["console"] if m[0] == "error"] == []
    assert record["errors"] == [] and record["dialogs"] == []
    assert all(u.startswith(("file:", "data:")) for u in record["requests"]), record["requests"]
    assert tab.title() == "Monitoring: y"


def test_one_visible_timeline_per_figure_with_its_threshold(page):
    tab, _, result = page
    for figure in FIGURES:
        svg = tab.locator(f"#timeline-{figure}")
        assert svg.count() == 1, figure
        svg.scroll_into_view_if_needed()
        assert svg.is_visible(), figure
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
        threshold = svg.locator("line.threshold")
        assert threshold.count() == 1
        # A horizontal line has no height, so Playwright never calls it "visible": check that
        # it is drawn across the plot, inside the figure.
        line = threshold.bounding_box()
        assert line is not None and line["width"] > 300
        assert box["y"] <= line["y"] <= box["y"] + box["height"]
        # One point per window in every series.
        assert svg.locator("circle").count() % len(result.windows) == 0
    # The nDCG points: the shifted window's point lies lower on screen than its value says.
    circles = tab.locator("#timeline-ndcg circle")
    ys = [circles.nth(i).bounding_box()["y"] for i in range(circles.count())]
    values = [w.attribution.ndcg for w in result.windows]
    order_by_value = sorted(range(len(values)), key=lambda i: -values[i])
    order_by_height = sorted(range(len(values)), key=lambda i: ys[i])
    assert order_by_value == order_by_height


def test_alerts_are_listed_and_hostile_names_stay_text(page):
    tab, _, result = page
    rows = tab.locator("#alerts table tr")
    assert rows.count() == len(result.alerts) + 1 and len(result.alerts) > 0
    assert "shifted" in tab.locator("#alerts").inner_text()
    assert tab.evaluate("() => document.querySelectorAll('script').length") == 0
    assert tab.evaluate("() => document.querySelectorAll('img').length") == 0
    assert tab.get_by_text(HOSTILE, exact=True).count() >= 1


def _boxes(tab, selector: str) -> list[dict]:
    return tab.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector)).map(e => {
            const r = e.getBoundingClientRect();
            return {x: r.x, y: r.y, w: r.width, h: r.height, text: e.textContent};
        })""",
        selector,
    )


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["w"] - 0.5
        and b["x"] < a["x"] + a["w"] - 0.5
        and a["y"] < b["y"] + b["h"] - 0.5
        and b["y"] < a["y"] + a["h"] - 0.5
    )


def test_window_names_and_legend_labels_are_whole_and_apart(page):
    tab, _, result = page
    for figure in FIGURES:
        svg = _boxes(tab, f"#timeline-{figure}")[0]
        names = _boxes(tab, f"#timeline-{figure} text.window-name")
        legend = _boxes(tab, f"#timeline-{figure} text.legend-label")
        assert len(names) == len(result.windows), figure
        assert any(LONG in n["text"] for n in names), figure  # drawn in full
        assert len(legend) >= 2, figure  # the threshold and at least one series
        for box in names + legend:
            # Inside the figure: nothing clipped by the SVG's edges.
            assert svg["x"] - 0.5 <= box["x"], (figure, box)
            assert box["x"] + box["w"] <= svg["x"] + svg["w"] + 0.5, (figure, box)
            assert svg["y"] - 0.5 <= box["y"], (figure, box)
            assert box["y"] + box["h"] <= svg["y"] + svg["h"] + 0.5, (figure, box)
        # Rotated names are parallel: two neighbours stay apart when their baselines are at
        # least a line of text apart, measured across the rotation.
        geometry = tab.evaluate(
            """(selector) => Array.from(document.querySelectorAll(selector)).map(e => ({
                x: e.x.baseVal[0].value, h: e.getBBox().height,
                angle: parseFloat(e.getAttribute('transform').match(/rotate\\((-?[0-9.]+)/)[1]),
            }))""",
            f"#timeline-{figure} text.window-name",
        )
        for a, b in itertools.pairwise(geometry):
            apart = (b["x"] - a["x"]) * abs(math.sin(math.radians(a["angle"])))
            assert apart >= a["h"] - 1, (figure, a, b)
        for i, a in enumerate(legend):
            for b in legend[i + 1 :]:
                assert not _overlap(a, b), (figure, a["text"], b["text"])


def test_the_page_carries_the_reports_content_security_policy(page):
    tab, _, _ = page
    policy = tab.evaluate(
        "() => document.querySelector('meta[http-equiv=Content-Security-Policy]').content"
    )
    assert policy.startswith("default-src 'none'") and "script-src" not in policy
