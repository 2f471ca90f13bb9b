"""The conventions every result keeps, checked on each result type.

Every result renders itself: ``to_dict()`` is plain JSON data that survives a round trip, and
``write(dir)`` returns ``{kind: path}`` like :meth:`Report.write` and writes exactly those
files, its JSON file being ``to_dict()``. Every HTML page carries the report's
Content-Security-Policy, and a hostile column name shows as escaped text in every HTML and
Markdown file (the exact escaped form present, the raw form absent).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from causalinterp import analyze
from causalinterp.domain.refit import constrain
from causalinterp.explain import explain_rows
from causalinterp.monitoring import monitor
from causalinterp.monitoring.delivery import Delivery
from causalinterp.monitoring.history import read_history, record_run

HOSTILE = "<img src=x onerror=alert(1)>|*x*"
IN_HTML = "&lt;img src=x onerror=alert(1)&gt;|*x*"
IN_MARKDOWN = "&lt;img src=x onerror=alert\\(1\\)&gt;\\|\\*x\\*"
RAW_TAG = "<img src=x onerror=alert(1)>"
GRAPH = [("z", HOSTILE), ("z", "y"), (HOSTILE, "y")]
FAST = {"refute": "none", "test_graph": False, "curves": False, "progress": False}


def _world(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """z confounds the hostile-named feature and y; the feature's effect on y is 1.5."""
    rng = np.random.default_rng(seed)
    z = rng.normal(shift, 1.0, n)
    x = 0.8 * z + rng.normal(size=n)
    return pd.DataFrame({"z": z, HOSTILE: x, "y": 1.5 * x + z + rng.normal(size=n)})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _world(400, 0)


@pytest.fixture(scope="module")
def report(data):
    return analyze(data, GRAPH, "y", seed=0, ice_rows=40, ice_grid=8, **FAST)


@pytest.fixture(scope="module")
def monitored(data):
    return monitor(
        data, {HOSTILE: _world(300, 1, shift=1.0)}, GRAPH, "y",
        max_shap_rows=100, n_bootstrap=30, progress=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def results(report, data, monitored, tmp_path_factory) -> dict[str, Any]:
    """One of each result type, all built from the same hostile-named data."""
    database = tmp_path_factory.mktemp("history") / "history.db"
    record_run(monitored, database)
    constrained = constrain(
        None, data, GRAPH, "y", signs={("z", HOSTILE): "+", (HOSTILE, "y"): "+"},
        score_bootstrap=100, ice_rows=40, ice_grid=8, seed=0, progress=False,
    )  # fmt: skip
    return {
        "report": report,
        "explanations": explain_rows(report, data, [0, 1]),
        "constrained": constrained,
        "monitor": monitored,
        "history": read_history(database),
        "delivery": Delivery("https://hooks.example.com/x", True, 1, 200, None, 1),
    }


@pytest.fixture(scope="module")
def vision():
    """An untrained digits network audited on 60 images: rendering needs no trained model."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("captum")
    from sklearn.datasets import load_digits

    from causalinterp.vision import Concept, audit
    from causalinterp.vision.digits import MARKED_CLASS, DigitsCNN, marker_mask

    digits = load_digits()
    images = (digits.images[:60] / 16.0).astype(np.float32)[:, None]
    torch.manual_seed(0)
    return audit(
        DigitsCNN().eval(), images, MARKED_CLASS, labels=digits.target[:60],
        concepts=[Concept(HOSTILE, mask=marker_mask(), shortcut=True)], layers=["conv1"],
        unit_bootstrap=100, ig_steps=4, concept_fill="zero", progress=False,
    )  # fmt: skip


KINDS = ["report", "explanations", "constrained", "monitor", "history", "delivery"]


def _check_renders_itself(result: Any, folder: Path, **options: Any) -> dict[str, Path]:
    data = result.to_dict()
    assert isinstance(data, dict)
    # Plain JSON data: no NaN, no numpy scalars, no tuples; the round trip changes nothing.
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    written = result.write(folder, **options)
    assert isinstance(written, dict) and written
    assert all(isinstance(k, str) and isinstance(p, Path) for k, p in written.items())
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written.values())
    assert all(p.parent == folder and p.stat().st_size > 0 for p in written.values())
    assert json.loads(written["json"].read_text("utf-8")) == data
    return written


@pytest.mark.parametrize("kind", KINDS)
def test_every_result_renders_itself(kind, results, tmp_path):
    # The report's plots take seconds and are not what is checked here.
    options = {"include_plots": False} if kind == "report" else {}
    _check_renders_itself(results[kind], tmp_path, **options)


def test_the_vision_audit_renders_itself(vision, tmp_path):
    written = _check_renders_itself(vision, tmp_path)
    assert set(written) == {"json", "markdown", "html"}


def test_report_json_is_one_assembly_with_one_rounding_rule(report):
    data = report.to_dict()
    row = next(f for f in data["features"] if f["name"] == HOSTILE)
    # Each stage's part is in place: populations and overlap, the domain objects.
    assert data["settings"]["estimand"] == "ate"
    assert "rows" in row["effect"]["population"] and "SHAP" in row["attribution"]["population"]
    assert row["overlap"]["kind"] == "continuous" and row["overlap"]["estimand"] == "ate"
    assert row["domain"]["direction"] == "+" and data["domain"]["checked"]
    # The true effect is 1.5 (the simulator).
    assert row["effect"]["ci_low"] < 1.5 < row["effect"]["ci_high"]

    def floats(value: Any) -> list[float]:
        if isinstance(value, dict):
            return [f for v in value.values() for f in floats(v)]
        if isinstance(value, list):
            return [f for v in value for f in floats(v)]
        return [value] if isinstance(value, float) else []

    # Six significant digits everywhere, the domain section included.
    numbers = floats(data["domain"]) + floats(row) + floats(data["summary"])
    assert numbers and all(f == float(f"{f:.6g}") for f in numbers)


def test_the_domain_objects_round_as_every_json_output():
    from causalinterp.domain.directions import Direction
    from causalinterp.domain.render import domain_object

    check = SimpleNamespace(
        violated=True, violation_share=0.000123456789, max_violation=1234.56789123,
        max_violation_at=(0.123456789, 2.0), exact=None,
    )  # fmt: skip
    obj = domain_object(Direction("x", "+", "declared", "declared", "declared"), check)
    # Six significant digits, not six decimals (0.000123 and 1234.567891).
    assert (obj["violation_share"], obj["max_violation"]) == (0.000123457, 1234.57)


def _report_csp(report, folder: Path) -> tuple[str, dict[str, Path]]:
    """The report's Content-Security-Policy meta, and the report's files."""
    written = report.write(folder / "report", include_plots=False)
    found = re.findall(
        r'<meta http-equiv="Content-Security-Policy"[^>]*>', written["html"].read_text("utf-8")
    )
    assert len(found) == 1 and "default-src 'none'" in found[0]
    return found[0], written


def test_every_html_page_carries_the_csp_and_escapes_hostile_names(results, tmp_path):
    csp, written = _report_csp(results["report"], tmp_path)
    pages = {f"report.{k}": p for k, p in written.items() if k in {"html", "markdown"}}
    for kind in KINDS[1:]:  # the report's files are the ones just written
        written = results[kind].write(tmp_path / kind)
        pages.update({f"{kind}.{k}": p for k, p in written.items() if k in {"html", "markdown"}})
    assert {"report.html", "monitor.html", "history.html", "explanations.html"} <= set(pages)
    assert {"report.markdown", "monitor.markdown", "explanations.markdown",
            "constrained.markdown"} <= set(pages)  # fmt: skip
    for name, path in pages.items():
        text = path.read_text("utf-8")
        assert RAW_TAG not in text, name
        if name.endswith(".html"):
            assert csp in text, name
            assert IN_HTML in text, name
        else:
            assert IN_MARKDOWN in text, name


def test_the_vision_pages_carry_the_csp_and_escape_hostile_names(vision, report, tmp_path):
    csp, _ = _report_csp(report, tmp_path)
    written = vision.write(tmp_path / "vision")
    page, markdown = (written[k].read_text("utf-8") for k in ("html", "markdown"))
    assert csp in page and IN_HTML in page and RAW_TAG not in page
    assert IN_MARKDOWN in markdown and RAW_TAG not in markdown


def test_the_content_security_policy_is_written_once_and_every_page_includes_it():
    from causalinterp.render._templates import TEMPLATES

    pages = {p.name: p.read_text("utf-8") for p in TEMPLATES.glob("*.html")}
    holders = [name for name, text in pages.items() if "Content-Security-Policy" in text
               and "http-equiv" in text]  # fmt: skip
    assert holders == ["_csp.html"]
    assert {"report.html", "explain.html", "monitor.html", "history.html", "vision.html"} <= set(
        pages
    )
    for name, text in pages.items():
        if name != "_csp.html":
            assert '{% include "_csp.html" %}' in text, name
