"""Screenshot of an HTML report in headless Chromium, for docs/report-screenshot.png.

Usage (after ``causalinterp run case_studies/retention``)::

    python scripts/screenshot.py case_studies/retention/report/report.html \\
        docs/report-screenshot.png
    python scripts/screenshot.py case_studies/retention/report/report.html \\
        docs/report-findings.png --from "#findings" --to "#summary"

``--from``/``--to`` keep only the page from the top of one element to the bottom of another
(the findings and the summary table above).

Needs Debian's chromium (/usr/bin/chromium) and the ``playwright`` package (the test extras).
The page is opened offline: every request other than the file itself and inline images is
refused, as in tests/test_report_browser.py.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="a report.html")
    parser.add_argument("png", type=Path, help="where to write the screenshot")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2200, help="pixels from the top kept")
    parser.add_argument(
        "--from", dest="start", default=None, help="CSS selector: crop from its top"
    )
    parser.add_argument("--to", dest="end", default=None, help="CSS selector: crop to its bottom")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        parser.error(f"{args.html} does not exist; run the case study first")
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is absent; install Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": args.width, "height": 900})
            context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
            page = context.new_page()
            page.goto(args.html.resolve().as_uri(), wait_until="load")
            height = min(args.height, page.evaluate("() => document.body.scrollHeight"))
            clip = {"x": 0, "y": 0, "width": args.width, "height": height}
            if args.start or args.end:
                top = _edge(page, args.start or "body", "top") - 12
                bottom = _edge(page, args.end or args.start, "bottom") + 12
                clip = {"x": 0, "y": max(top, 0), "width": args.width, "height": bottom - top}
            page.screenshot(path=str(args.png), full_page=True, clip=clip)
        finally:
            browser.close()
    print(f"wrote {args.png}")
    return 0


def _edge(page, selector: str, side: str) -> float:
    """The page coordinate of an element's top or bottom edge."""
    edge = page.evaluate(
        "([s, side]) => { const el = document.querySelector(s); if (!el) return null;"
        " return el.getBoundingClientRect()[side] + window.scrollY; }",
        [selector, side],
    )
    if edge is None:
        raise SystemExit(f"screenshot: no element matches {selector!r}; check the selector")
    return float(edge)


if __name__ == "__main__":
    sys.exit(main())
