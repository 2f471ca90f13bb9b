"""``--help`` and errors on bad input stay instant: they load none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("dowhy", "econml", "shap", "sklearn", "matplotlib", "scipy", "pandas", "joblib")

#: Runs the command line in a fresh interpreter and prints its exit status, its standard error
#: and which heavy top-level packages it imported.
_PROBE = """
import contextlib, io, json, sys
from causalinterp.cli import main
err = io.StringIO()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
    try:
        status = main(sys.argv[2:])
    except SystemExit as exit:
        status = exit.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps({"status": status, "stderr": err.getvalue(), "loaded": loaded}))
"""


def probe(*argv: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(HEAVY), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["analyze", "--help"], ["run", "--help"], ["monitor", "--help"],
     ["explain", "--help"], ["constrain", "--help"]],
)  # fmt: skip
def test_help_loads_no_heavy_library(argv):
    result = probe(*argv)
    assert result["status"] == 0
    assert result["loaded"] == [], result


def test_bad_input_fails_at_once_without_heavy_libraries(tmp_path):
    missing = str(tmp_path / "missing.csv")
    base = ["--graph", "A -> Y", "--outcome", "Y", "--out", str(tmp_path / "out")]
    result = probe("analyze", "--data", missing, *base)
    assert result["status"] == 2
    assert "missing.csv' does not exist; check the path" in result["stderr"]
    assert result["loaded"] == [], result
    result = probe("run", str(tmp_path / "nowhere"))
    assert result["status"] == 2 and "case.toml does not exist" in result["stderr"]
    assert result["loaded"] == [], result
    result = probe("analyze", "--data", missing, *base, "--n-folds", "1")
    assert result["status"] == 2 and "--n-folds" in result["stderr"]
    assert result["loaded"] == [], result
