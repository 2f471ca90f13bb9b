"""The vision page in a real browser (headless Debian Chromium driven by Playwright).

Offline (no request leaves file: and data:), no console errors, every section visible, every
inline image decoded, the activation grids and top images on screen, the shortcut marked.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
pytest.importorskip("torch")
pytest.importorskip("captum")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from screenshot import ARGS, CHROMIUM  # noqa: E402

from causalinterp.vision import audit  # noqa: E402
from causalinterp.vision.digits import MARKED_CLASS, marker_concept, planted_digits  # noqa: E402

N_UNITS = 8 + 16  # conv1's and conv2's channels
TOP = 4


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    world = planted_digits(0)
    result = audit(
        world.model, world.images, MARKED_CLASS, labels=world.labels,
        concepts=[marker_concept()], layers=["conv1", "conv2"], top_images=TOP,
        unit_bootstrap=200, ig_steps=8, concept_fill="zero", progress=False,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("vision") / "vision.html"
    path.write_text(result.to_html(), encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
        opened = context.new_page()
        seen = {"console": [], "errors": [], "requests": []}
        opened.on("console", lambda m: seen["console"].append((m.type, m.text)))
        opened.on("pageerror", lambda e: seen["errors"].append(str(e)))
        opened.on("request", lambda r: seen["requests"].append(r.url))
        opened.goto(path.as_uri(), wait_until="load")
        opened.wait_for_timeout(200)
        try:
            yield opened, seen
        finally:
            browser.close()


def test_the_page_loads_offline_without_errors(page):
    opened, seen = page
    assert opened.title() == f"causalinterp vision audit: class {MARKED_CLASS}"
    assert [m for m in seen["console"] if m[0] == "error"] == [] and seen["errors"] == []
    assert all(url.startswith(("file:", "data:")) for url in seen["requests"])
    assert opened.evaluate("() => document.querySelectorAll('script').length") == 0


def test_sections_grids_and_top_images_are_visible(page):
    opened, _ = page
    for section in ("findings", "image", "concepts", "layer-1", "layer-2", "settings"):
        assert opened.locator(f"#{section}").is_visible(), section
    states = opened.evaluate(
        "() => Array.from(document.images).map(i => [i.complete, i.naturalWidth])"
    )
    assert states and all(done and width > 0 for done, width in states)
    assert opened.locator(".unit").count() == N_UNITS
    assert opened.locator("img.activation").count() == N_UNITS
    tops = opened.locator("img.top")
    assert tops.count() == N_UNITS * TOP and opened.locator("img.patch").count() == N_UNITS * TOP
    for locator in (tops.first, tops.last, opened.locator("img.activation").last):
        locator.scroll_into_view_if_needed()
        assert locator.is_visible()
        box = locator.bounding_box()
        assert box is not None and box["width"] >= 30 and box["height"] >= 30


def test_the_shortcut_leads_the_findings(page):
    opened, _ = page
    first = opened.locator("#findings li").first
    assert first.inner_text().startswith("Shortcut: removing corner marker")
    row = opened.locator("table.concept-table tr.flagged")
    assert row.count() == 1 and "shortcut" in row.inner_text()
    colour = row.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
    assert colour == "rgb(253, 236, 234)"
