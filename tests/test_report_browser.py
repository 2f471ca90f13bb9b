"""The HTML report in a real browser: headless Debian Chromium driven by Playwright.

Checks that the file is self-contained (no request leaves file:// and data:), that it renders
without console errors, that every section and plot is there and visible, and that hostile
names stay text: no element is injected and no dialog opens, and that a full-page screenshot
can be taken; that the findings lead the page, the summary table fits a 1024-pixel window,
no text is clipped by its cell and names wrap only between their words. (``docs/report-
screenshot.png`` and ``docs/report-findings.png`` are made from a real analysis by
``scripts/screenshot.py``, not by the tests: they write nothing into the repository.)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

try:
    from test_report import HOSTILE, HOSTILE_NAMES, SECTIONS, build_report
except ImportError:  # collected as a package
    from tests.test_report import HOSTILE, HOSTILE_NAMES, SECTIONS, build_report

pytestmark = pytest.mark.browser

# The same browser and flags as scripts/screenshot.py, which makes the docs' screenshot.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from screenshot import ARGS, CHROMIUM  # noqa: E402

N_FEATURES = 7
N_PLOTS = 2 + N_FEATURES + 5  # forest, DAG, one dependence plot each, one refuter plot each of 5


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Page:
    """A page with everything it did recorded."""

    def __init__(self, browser, path: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        # Anything that is not the file itself or an inline image is refused (and recorded).
        self.context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
        self.page = self.context.new_page()
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_timeout(300)  # room for any stray handler to fire

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def clean(browser, tmp_path_factory):
    path = tmp_path_factory.mktemp("clean") / "report.html"
    build_report().to_html(path)
    page = Page(browser, path)
    yield page
    page.close()


@pytest.fixture(scope="module")
def hostile(browser, tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "report.html"
    build_report(hostile=True).to_html(path)
    page = Page(browser, path)
    yield page
    page.close()


def _check_quiet_and_offline(recorded: Page) -> None:
    assert [m for m in recorded.console if m[0] == "error"] == []
    assert recorded.errors == []
    assert recorded.dialogs == []
    assert all(url.startswith(("file:", "data:")) for url in recorded.requests), recorded.requests


def test_report_renders_offline_without_errors(clean):
    _check_quiet_and_offline(clean)
    assert clean.page.title() == "causalinterp report: default"


def test_every_section_and_plot_is_visible(clean):
    page = clean.page
    for section in SECTIONS:
        locator = page.locator(f"#{section}")
        assert locator.count() == 1, section
        assert locator.is_visible(), section
    for index in range(1, N_FEATURES + 1):
        assert page.locator(f"#feature-{index}").is_visible()
    banner = page.locator("#graph-banner")
    assert banner.is_visible() and "The DAG does not fit the data." in banner.inner_text()

    images = page.locator("img.plot, img.plot-small")
    assert images.count() == N_PLOTS
    states = page.evaluate(
        "() => Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(states) == N_PLOTS
    assert all(complete and width > 0 and height > 0 for complete, width, height in states)
    for i in range(N_PLOTS):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        assert image.is_visible()
        box = image.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 80
    assert page.locator(".plot-unavailable").count() == 0


def test_the_report_is_small_enough_to_open(clean, tmp_path):
    # Seven features and 14 plots: under a megabyte (base64 plots with vector ICE curves and
    # scatters made this report 1.3 MB, and the retention case study's 3.7 MB).
    path = tmp_path / "report.html"
    build_report().to_html(path)
    assert path.stat().st_size < 1_000_000


def test_sections_fold_and_unfold(clean):
    page = clean.page
    for section in ("findings", "effects", "refutations", "graph-test", "features"):
        details = page.locator(f"#{section} > details")
        assert details.count() == 1 and details.get_attribute("open") is not None, section
    table = page.locator("#graph-test table").first
    assert table.is_visible()
    page.locator("#graph-test > details > summary").click()
    assert not table.is_visible()
    assert page.locator("#graph-test h2").is_visible()  # the heading stays, to unfold it
    page.locator("#graph-test > details > summary").click()
    assert table.is_visible()
    # Each feature folds on its own.
    first = page.locator("#feature-1 > details")
    first.locator("> summary").click()
    assert first.get_attribute("open") is None
    assert page.locator("#feature-2 > details").get_attribute("open") is not None
    first.locator("> summary").click()


def test_flagged_rows_are_marked(clean):
    rows = clean.page.locator("table.summary-table tbody tr")
    assert rows.count() == N_FEATURES
    flagged = clean.page.locator("table.summary-table tr.flagged")
    assert flagged.count() == 4
    colour = flagged.first.evaluate("row => getComputedStyle(row).backgroundColor")
    assert colour == "rgb(253, 236, 234)"
    assert "flagged" in flagged.first.inner_text()


def test_summary_link_jumps_to_the_feature(clean):
    page = clean.page
    page.locator("table.summary-table a", has_text="debt_ratio").click()
    assert page.evaluate("() => location.hash") == "#feature-2"
    assert page.locator("#feature-2").is_visible()


# Elements of the summary table and the findings whose content box is narrower than their
# text: a name or number cut off by its cell (overflow hidden, or spilling past the border).
_CLIPPED = """(selector) => Array.from(document.querySelectorAll(selector)).filter(
    el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1
).map(el => el.textContent.trim().slice(0, 60))"""


@pytest.fixture(scope="module", params=[1280, 1024])
def narrow(browser, request, tmp_path_factory):
    """The report at a laptop width and at a narrow one (a side-by-side window)."""
    path = tmp_path_factory.mktemp(f"w{request.param}") / "report.html"
    build_report(hostile=request.param == 1024).to_html(path, include_plots=False)
    recorded = Page(browser, path)
    recorded.page.set_viewport_size({"width": request.param, "height": 900})
    yield recorded
    recorded.close()


def test_summary_table_does_not_overflow_horizontally(narrow):
    page = narrow.page
    wrap = page.locator("#summary .table-wrap")
    width = wrap.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert width[0] <= width[1], f"summary table {width[0]}px in a {width[1]}px container"
    body = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert body[0] <= body[1]


def test_no_text_is_clipped_by_its_container(narrow):
    page = narrow.page
    selector = (
        "table.summary-table th, table.summary-table td, table.summary-table .badge, "
        "table.summary-table .flag, #findings li, #findings .kind, .counts .badge"
    )
    assert page.evaluate(_CLIPPED, selector) == []


def test_names_wrap_between_words_not_inside_them(clean):
    # Each line box of a name cell must end at a word boundary ("_" or the end of the name).
    lines = clean.page.evaluate(
        """() => Array.from(document.querySelectorAll('table.summary-table th.name a')).map(a => {
            const range = document.createRange(), text = a.textContent, out = [];
            let top = null, start = 0;
            const walker = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
            let offset = 0, node;
            const chars = [];
            while ((node = walker.nextNode())) {
                for (let i = 0; i < node.length; i++) chars.push([node, i]);
            }
            chars.forEach(([n, i], k) => {
                range.setStart(n, i); range.setEnd(n, i + 1);
                const y = Math.round(range.getBoundingClientRect().top);
                if (top !== null && y > top) { out.push(text.slice(start, k)); start = k; }
                top = y;
            });
            out.push(text.slice(start));
            return out;
        })"""
    )
    assert any(len(name) > 1 for name in lines), "no name wraps: the check tests nothing"
    for parts in lines:
        for part in parts[:-1]:
            assert part.endswith(("_", ".", "-", "/", " ")), parts


def test_findings_lead_the_page_with_their_actions(clean):
    page = clean.page
    findings = page.locator("#findings li.finding")
    assert findings.count() == 5
    assert findings.first.is_visible()
    first = findings.first.inner_text()
    assert first.startswith("Leakage") and "collections_calls" in first
    assert "What to do: Drop collections_calls from the model" in first
    assert "The DAG does not fit the data" in findings.last.inner_text()
    box = page.locator("#findings").bounding_box()
    assert box is not None and box["y"] < page.locator("#summary").bounding_box()["y"]
    # The findings sit in the first screen, under the header and the graph banner.
    assert box["y"] < 900


def test_under_attributed_is_not_painted_like_a_flag(clean):
    colours = clean.page.evaluate(
        """() => Object.fromEntries(['v-under_attributed', 'v-over_attributed', 'v-sign_conflict']
            .map(k => { const el = document.createElement('span'); el.className = 'badge ' + k;
                        document.body.appendChild(el);
                        return [k, getComputedStyle(el).color]; }))"""
    )
    assert colours["v-sign_conflict"] == "rgb(183, 28, 28)"  # the flag red
    assert colours["v-under_attributed"] != colours["v-sign_conflict"]
    assert colours["v-over_attributed"] != colours["v-sign_conflict"]


def test_screenshot(clean, tmp_path):
    clean.page.evaluate("() => window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    clean.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000


def test_hostile_names_stay_text(hostile):
    _check_quiet_and_offline(hostile)
    page = hostile.page
    assert page.title() == "causalinterp report: " + HOSTILE_NAMES["default"]
    assert page.evaluate("() => document.querySelectorAll('script').length") == 0
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("() => document.querySelectorAll('b').length") == 0
    shown = page.get_by_text(HOSTILE, exact=True)
    assert shown.count() >= 2  # summary table and the feature's own section at least
    assert shown.first.is_visible()
    summary = page.locator("table.summary-table").inner_text()
    for raw in ("zip_risk", "late_payments", "tenure_months", "age"):
        assert HOSTILE_NAMES[raw] in summary
    images = page.evaluate("() => Array.from(document.images).map(i => i.naturalWidth)")
    assert len(images) == N_PLOTS and min(images) > 0
