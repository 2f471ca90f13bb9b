"""Opening a written page offline in headless Debian Chromium, for the browser tests.

Every request other than the file itself and inline data is refused; console messages, page
errors, requests and dialogs are recorded for the tests to check.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from screenshot import ARGS, CHROMIUM


@contextmanager
def offline_page(path: Path) -> Iterator[tuple[Any, dict[str, list]]]:
    """The page at ``path`` loaded at 1280 x 900, and what it logged: ``(tab, record)``."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
        tab = context.new_page()
        record: dict[str, list] = {"console": [], "errors": [], "requests": [], "dialogs": []}
        tab.on("console", lambda m: record["console"].append((m.type, m.text)))
        tab.on("pageerror", lambda e: record["errors"].append(str(e)))
        tab.on("request", lambda r: record["requests"].append(r.url))
        tab.on("dialog", lambda d: (record["dialogs"].append(d.message), d.dismiss()))
        tab.goto(path.as_uri(), wait_until="load")
        tab.wait_for_timeout(300)
        try:
            yield tab, record
        finally:
            context.close()
            browser.close()
