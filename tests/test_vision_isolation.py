"""The tabular package never imports PyTorch or Captum (the vision extra's), with or without
them installed: ``import causalinterp``, the command line's ``--help`` and an analysis run in a
fresh interpreter that then lists its modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import contextlib, io, json, sys
import numpy as np, pandas as pd
import causalinterp
from causalinterp.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["--help"])
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["vision", "--help"])
rng = np.random.default_rng(0)
w = rng.normal(size=300); t = w + rng.normal(size=300)
data = pd.DataFrame({"w": w, "t": t, "y": t + w + rng.normal(size=300)})
report = causalinterp.analyze(data, "w -> t; w -> y; t -> y", "y", features=["t", "w"],
                              refute="none", nuisance="linear", test_graph=False, curves=False,
                              progress=False)
print(json.dumps({"verdict": str(report.verdicts["t"].verdict),
                  "loaded": sorted(m for m in ("torch", "captum") if m in sys.modules)}))
"""


def test_the_tabular_package_does_not_import_torch_or_captum():
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["verdict"] == "supported"  # the analysis ran to its verdicts
    assert result["loaded"] == []
