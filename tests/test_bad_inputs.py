"""Bad input, through the Python API and the command line alike.

Every case of the table ends in one line ``<input>: <problem>; <fix>``: from ``analyze()`` as
a :class:`~causalinterp.errors.CausalInterpError` raised in causalinterp's own code (never a
traceback from inside a dependency), from the CLI as ``causalinterp: error: <line>`` with exit
status 2 and no report written. Inputs that look hostile but are legitimate (duplicate edges,
names with quotes, spaces, unicode or HTML, a 500-node graph) must work, and are tested here
too, the HTML one in a real browser.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVC

from causalinterp import analyze
from causalinterp.cli import main
from causalinterp.errors import CausalInterpError, DataError, GraphError, ModelError, OptionError

N = 120
GRAPH = "z -> x; z -> y; x -> y"
HOSTILE = "<img src=x onerror=alert(1)>"


def base(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = 0.8 * z + rng.normal(size=n)
    return pd.DataFrame({"z": z, "x": x, "y": 1.5 * x + z + rng.normal(size=n)})


def with_column(name: str, values: Any) -> Callable[[], pd.DataFrame]:
    def make() -> pd.DataFrame:
        frame = base()
        frame[name] = pd.Series(values) if isinstance(values, list) else values
        return frame

    return make


def binary_outcome() -> pd.DataFrame:
    frame = base()
    frame["y"] = (frame["y"] > frame["y"].median()).astype(int)
    return frame


def unfitted():
    return GradientBoostingRegressor()


def fitted_on_other_columns():
    frame = base().rename(columns={"z": "q"})
    return LinearRegression().fit(frame[["x", "q"]], frame["y"])


def fitted_on_one_unnamed_column():
    frame = base()
    return LinearRegression().fit(frame[["x"]].to_numpy(), frame["y"])


def classifier_without_predict_proba():
    frame = binary_outcome()
    return SVC().fit(frame[["x", "z"]], frame["y"])


def three_class_classifier():
    frame = base()
    return LogisticRegression().fit(frame[["x", "z"]], np.arange(N) % 3)


@dataclass(frozen=True)
class Bad:
    """One bad input: how to pass it to analyze() and to the CLI, and the error expected."""

    id: str
    error: type[CausalInterpError]
    match: str  # regex the one-line message must contain (API and CLI)
    data: Callable[[], Any] = base
    graph: str = GRAPH
    outcome: str = "y"
    api: dict[str, Any] | None = field(default_factory=dict)  # None: CLI only
    cli: list[str] | None = field(default_factory=list)  # None: API only
    csv: str | None = None  # the data file's text, when the DataFrame cannot say it
    suffix: str = ".csv"
    cli_match: str | None = None  # argparse words it differently
    model: Callable[[], Any] | None = None


def nan_at(index: int) -> list:
    return [np.nan if i == index else float(i) for i in range(N)]


CASES = [
    # ------------------------------------------------------------------ graphs
    Bad("graph-cycle", GraphError, r"graph: cycle", graph="z -> x; x -> z; x -> y"),
    Bad("graph-self-loop", GraphError, r"graph: self-loop z -> z", graph="z -> z; x -> y"),
    Bad("graph-syntax", GraphError, r"graph: line 1:\d+", graph="z -> -> x; x -> y"),
    Bad("graph-unclosed-quote", GraphError, r"unterminated quoted name", graph='"z -> x'),
    Bad("graph-dot-syntax", GraphError, r"graph: line 1:\d+", graph="digraph { z -> ; }"),
    Bad("graph-empty", GraphError, r"graph: the graph has no nodes", graph=""),
    Bad("graph-only-comments", GraphError, r"no nodes", graph="# to be written"),
    Bad("graph-outcome-absent", GraphError, r"outcome 'y' is not in the graph", graph="z -> x"),
    Bad(
        "graph-feature-absent",
        GraphError,
        r"'q'",
        api={"features": ["x", "q"]},
        cli=["--features", "x,q"],
    ),
    Bad("graph-file-missing", GraphError, r"graph: .*not found", graph="/nonexistent/dag.dot"),
    # ------------------------------------------------------------------ data
    Bad(
        "data-outcome-column-missing",
        DataError,
        r"data: outcome column 'y' is not in the data",
        data=lambda: base().drop(columns="y"),
    ),
    Bad(
        "data-feature-column-missing",
        DataError,
        r"data: feature column\(s\) 'u' are not in the data",
        graph=GRAPH + "; u -> x",
        api={"features": ["x", "u"]},
        cli=["--features", "x,u"],
    ),
    Bad(
        "data-duplicated-columns",
        DataError,
        r"data: duplicated column name\(s\) 'x'",
        data=lambda: pd.concat([base(), base()[["x"]]], axis=1),
        csv="z,x,x,y\n" + "\n".join(f"{i},{i % 7},{i % 5},{i % 3}" for i in range(N)) + "\n",
    ),
    Bad(
        "data-nan",
        DataError,
        r"data: missing values in 'x' \(1\).*missing='drop'",
        data=with_column("x", nan_at(7)),
    ),
    Bad(
        "data-inf",
        DataError,
        r"'x' has 1 infinite value",
        data=with_column("x", [np.inf] + [0.5] * (N - 1)),
    ),
    Bad(
        "data-minus-inf",
        DataError,
        r"'z' has 1 infinite value",
        data=with_column("z", [-np.inf] + [float(i) for i in range(N - 1)]),
    ),
    Bad(
        "data-text-in-numeric-column",
        DataError,
        r"'x' has non-numeric values among its numbers \(e\.g\. 'twelve'",
        data=with_column("x", [float(i) for i in range(N - 1)] + ["twelve"]),
    ),
    Bad(
        "data-header-only",
        DataError,
        r"data: 0 usable rows; at least 50",
        data=lambda: base().head(0),
        csv="z,x,y\n",
    ),
    Bad("data-three-rows", DataError, r"data: 3 usable rows", data=lambda: base().head(3)),
    Bad("data-constant-column", DataError, r"'z' is constant", data=with_column("z", 1.0)),
    Bad(
        "data-one-class-binary-treatment",
        DataError,
        r"'x' is constant \('yes' in every row\)",
        data=with_column("x", ["yes"] * N),
    ),
    Bad(
        "data-one-class-boolean-treatment",
        DataError,
        r"'x' is constant",
        data=with_column("x", np.ones(N, dtype=bool)),
    ),
    Bad(
        "data-huge-magnitudes",
        DataError,
        r"'x' has values beyond ±1e\+12.*rescale",
        data=lambda: base().assign(x=lambda f: f["x"] * 1e14),
    ),
    Bad(
        "data-categorical-outcome",
        DataError,
        r"outcome column 'y' is categorical \(3 levels",
        data=with_column("y", [("low", "mid", "high")[i % 3] for i in range(N)]),
    ),
    Bad(
        "data-identifier-column",
        DataError,
        r"'x' has 120 distinct text values, too many",
        data=with_column("x", [f"customer-{i}" for i in range(N)]),
    ),
    Bad(
        "data-not-a-dataframe",
        DataError,
        r"data: expected a pandas DataFrame, got dict",
        data=lambda: base().to_dict(),
        cli=None,
    ),
    Bad("data-empty-file", DataError, r"data: .* is empty", api=None, csv=""),
    Bad(
        "data-unsupported-file-type",
        DataError,
        r"unsupported file type '.xlsx'",
        api=None,
        suffix=".xlsx",
    ),
    Bad("data-file-missing", DataError, r"does not exist", api=None, suffix=".missing.csv"),
    # ------------------------------------------------------------------ models (API only)
    Bad("model-unfitted", ModelError, r"is not fitted; call model.fit", model=unfitted, cli=None),
    Bad(
        "model-fitted-on-other-columns",
        ModelError,
        r"fitted on other columns",
        model=fitted_on_other_columns,
        api={"features": ["x", "z"]},
        cli=None,
    ),
    Bad(
        "model-fitted-on-other-number-of-columns",
        ModelError,
        r"fitted on 1 features but X has 2",
        model=fitted_on_one_unnamed_column,
        api={"features": ["x", "z"]},
        cli=None,
    ),
    Bad(
        "model-classifier-without-predict-proba",
        ModelError,
        r"classifier without predict_proba",
        data=binary_outcome,
        model=classifier_without_predict_proba,
        cli=None,
    ),
    Bad(
        "model-multiclass",
        ModelError,
        r"has 3 classes",
        data=binary_outcome,
        model=three_class_classifier,
        cli=None,
    ),
    Bad("model-not-a-model", ModelError, r"has no predict method", model=lambda: "gbm", cli=None),
    # ------------------------------------------------------------------ options
    Bad(
        "option-unknown",
        OptionError,
        r"bogus",
        api={"bogus": 1},
        cli=["--bogus", "1"],
        cli_match=r"unrecognized arguments: --bogus 1",
    ),
    Bad(
        "option-misspelled",
        OptionError,
        r"refutes: not an option of analyze\(\); did you mean 'refute'",
        api={"refutes": "none"},
        cli=None,
    ),
    Bad(
        "option-seed-not-an-integer",
        OptionError,
        r"seed: expected a non-negative integer, got 1.5",
        api={"seed": 1.5},
        cli=["--seed", "1.5"],
        cli_match=r"argument --seed: expected a non-negative integer, got '1.5'",
    ),
    Bad(
        "option-seed-negative",
        OptionError,
        r"seed: expected a non-negative integer, got -1",
        api={"seed": -1},
        cli=["--seed=-1"],
        cli_match=r"argument --seed: expected a non-negative integer",
    ),
    Bad(
        "option-n-jobs-zero",
        OptionError,
        r"n_jobs: expected a non-zero integer",
        api={"n_jobs": 0},
        cli=["--n-jobs", "0"],
        cli_match=r"argument --n-jobs: expected a non-zero integer, got '0'",
    ),
    Bad(
        "option-refute-unknown",
        OptionError,
        r"refute: unknown value 'standrad'; did you mean 'standard'\?",
        api={"refute": "standrad"},
        cli=["--refute", "standrad"],
        cli_match=r"argument --refute: invalid choice: 'standrad'",
    ),
    Bad(
        "option-missing-unknown",
        OptionError,
        r"missing: unknown value 'skip'",
        api={"missing": "skip"},
        cli=["--missing", "skip"],
        cli_match=r"argument --missing: invalid choice: 'skip'",
    ),
    Bad(
        "option-time-limit-zero",
        OptionError,
        r"time_limit: expected a positive number of seconds",
        api={"time_limit": 0},
        cli=["--time-limit", "0"],
        cli_match=r"argument --time-limit: expected a positive number of seconds",
    ),
    Bad(
        "option-time-limit-not-a-number",
        OptionError,
        r"time_limit: expected a positive number of seconds",
        api={"time_limit": "soon"},
        cli=["--time-limit", "soon"],
        cli_match=r"argument --time-limit: expected a positive number of seconds, got 'soon'",
    ),
    Bad(
        "option-n-folds-one",
        OptionError,
        r"n_folds: expected an integer >= 2, got 1",
        api={"n_folds": 1},
        cli=["--n-folds", "1"],
        cli_match=r"argument --n-folds: expected an integer >= 2, got '1'",
    ),
    Bad(
        "option-alpha-one",
        OptionError,
        r"alpha: expected a number in \(0, 1\), got 1",
        api={"alpha": 1},
        cli=["--alpha", "1"],
        cli_match=r"argument --alpha: expected a number in \(0, 1\), got '1'",
    ),
    Bad(
        "option-graph-test-method-misspelled",
        OptionError,
        r"graph_test_method: unknown value 'gmc'; did you mean 'gcm'\?",
        api={"graph_test_method": "gmc"},
        cli=["--graph-test-method", "gmc"],
        cli_match=r"argument --graph-test-method: invalid choice: 'gmc'",
    ),
    Bad(
        "option-material-share-above-one",
        OptionError,
        r"material_share: expected a number in \[0, 1\], got 1.5",
        api={"material_share": 1.5},
        cli=["--material-share", "1.5"],
        cli_match=r"argument --material-share: expected a number in \[0, 1\], got '1.5'",
    ),
    Bad(
        "option-attribution-factor-below-one",
        OptionError,
        r"attribution_factor: expected a number >= 1, got 0.5",
        api={"attribution_factor": 0.5},
        cli=["--attribution-factor", "0.5"],
        cli_match=r"argument --attribution-factor: expected a number >= 1, got '0.5'",
    ),
    Bad(
        "option-features-empty",
        OptionError,
        r"features: the list is empty",
        api={"features": []},
        cli=["--features", ","],
        cli_match=r"argument --features: expected comma-separated column names",
    ),
    Bad(
        "option-outcome-as-feature",
        OptionError,
        r"features: the outcome 'y' is listed as a feature",
        api={"features": ["x", "y"]},
        cli=["--features", "x,y"],
    ),
    Bad(
        "option-out-is-a-file",
        OptionError,
        r"out: .* is a file, not a folder",
        api=None,
        cli=["--out", "{tmp}/taken.txt"],
    ),
]


def test_the_table_is_large_and_covers_both_interfaces():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(c.api is not None and c.cli is not None for c in CASES) >= 25


ONE_LINE = re.compile(r"^[^\n;]+?: [^\n]+; [^\n]+$")  # <input>: <problem>; <fix>


@pytest.mark.parametrize("case", [c for c in CASES if c.api is not None], ids=lambda c: c.id)
def test_api_gives_one_line_naming_input_and_fix(case: Bad):
    kwargs = {"refute": "none", "test_graph": False, **(case.api or {})}
    if case.model is not None:
        kwargs["model"] = case.model()
    with pytest.raises(CausalInterpError) as caught:
        analyze(case.data(), case.graph, case.outcome, **kwargs)
    error = caught.value
    assert isinstance(error, case.error), (type(error), error)
    message = str(error)
    assert re.search(case.match, message), message
    assert ONE_LINE.match(message), message
    # Raised by causalinterp itself, not by a dependency (whose frames would come last).
    last = traceback.extract_tb(error.__traceback__)[-1]
    assert f"{Path('causalinterp')}/" in last.filename.replace("\\", "/"), last.filename


def run_cli(*argv: Any) -> int:
    """main() as the console script runs it: argparse's own exits become the return code."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as stop:
        return int(stop.code)


@pytest.mark.parametrize("case", [c for c in CASES if c.cli is not None], ids=lambda c: c.id)
def test_cli_prints_one_line_and_exits_2(case: Bad, tmp_path, capsys):
    data_file = tmp_path / f"data{case.suffix}"
    if case.csv is not None:
        data_file.write_text(case.csv, encoding="utf-8")
    elif case.suffix == ".csv":
        case.data().to_csv(data_file, index=False)
    elif case.suffix == ".xlsx":
        data_file.write_bytes(b"PK\x03\x04 not really a workbook")
    (tmp_path / "taken.txt").write_text("not a folder\n")
    out = tmp_path / "out"
    extra = [a.replace("{tmp}", str(tmp_path)) for a in case.cli or []]
    defaults = {
        "--data": data_file,
        "--graph": case.graph,
        "--outcome": case.outcome,
        "--out": out,
    }
    argv = ["analyze"]
    for key, value in defaults.items():
        if key not in extra:
            argv += [key, value]
    argv += ["--refute", "none", "--no-graph-test", "--quiet", *extra]

    code = run_cli(*argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert captured.err.startswith("causalinterp: error: ")
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n")
    line = captured.err.removeprefix("causalinterp: error: ").rstrip("\n")
    assert re.search(case.cli_match or case.match, line), line
    assert "; " in line
    assert not out.exists() or not any(out.iterdir())


# ---------------------------------------------------------------------- inputs that must work

NAMES = {
    "quotes": "he said \"churn\" 'now'",
    "spaces": "  monthly  bill ",
    "unicode": "prix € ü 日本 🙂",
    "html": HOSTILE,
}


def named(name: str, n: int = N) -> pd.DataFrame:
    return base(n).rename(columns={"x": name})


@pytest.mark.parametrize("kind", list(NAMES))
def test_hostile_names_analyse_and_stay_text(kind, tmp_path):
    name = NAMES[kind]
    graph = [("z", name), ("z", "y"), (name, "y")]
    report = analyze(named(name), graph, "y", refute="none", test_graph=False)
    assert set(report.table["feature"]) == {name, "z"}
    row = report.table.set_index("feature").loc[name]
    assert row["verdict"] != "error" and row["ci_low"] < 1.5 < row["ci_high"]

    paths = report.write(tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert name in [f["name"] for f in data["features"]]
    assert [name, "y"] in data["graph"]["edges"]
    html = paths["html"].read_text(encoding="utf-8")
    markdown = paths["markdown"].read_text(encoding="utf-8")
    if kind == "html":
        assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert HOSTILE not in markdown and "&lt;img src=x onerror=alert\\(1\\)&gt;" in markdown


def test_hostile_names_through_the_cli_from_a_dot_file(tmp_path, capsys):
    names = list(NAMES.values())
    rng = np.random.default_rng(1)
    z = rng.normal(size=N)
    columns = {"z": z}
    lines = []
    for name in names:
        columns[name] = z + rng.normal(size=N)
        quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines += [f"  z -> {quoted};", f"  {quoted} -> y;"]
    columns["y"] = sum(columns[n] for n in names) + rng.normal(size=N)
    data = tmp_path / "data.csv"
    pd.DataFrame(columns).to_csv(data, index=False)
    dot = tmp_path / "dag.dot"
    dot.write_text("digraph {\n  z -> y;\n" + "\n".join(lines) + "\n}\n", encoding="utf-8")
    out = tmp_path / "out"
    code = run_cli(
        "analyze", "--data", data, "--graph", dot, "--outcome", "y", "--out", out,
        "--refute", "none", "--no-graph-test",
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sorted(f["name"] for f in report["features"]) == sorted([*names, "z"])
    assert all(f["verdict"] != "error" for f in report["features"])
    assert HOSTILE not in (out / "report.html").read_text(encoding="utf-8")


def test_duplicate_edges_are_merged(tmp_path, capsys):
    graph = "z -> x; z -> x; z -> y\nx -> y; x -> y"
    report = analyze(base(), graph, "y", refute="none", test_graph=False)
    assert report.graph.edges == (("x", "y"), ("z", "x"), ("z", "y"))
    assert report.table["verdict"].ne("error").all()

    data = tmp_path / "data.csv"
    base().to_csv(data, index=False)
    code = run_cli(
        "analyze", "--data", data, "--graph", graph, "--outcome", "y", "--out", tmp_path / "o",
        "--refute", "none", "--no-graph-test", "--quiet",
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    edges = json.loads((tmp_path / "o" / "report.json").read_text())["graph"]["edges"]
    assert edges == [["x", "y"], ["z", "x"], ["z", "y"]]


def big_graph() -> str:
    # 500 nodes: a long latent chain into z, and a fan of latent causes of x.
    chain = [f"u{i} -> u{i + 1}" for i in range(400)] + ["u400 -> z"]
    fan = [f"v{i} -> x" for i in range(96)]
    return "\n".join([*chain, *fan, GRAPH])


def test_a_500_node_graph_analyses(tmp_path, capsys):
    graph = big_graph()
    report = analyze(base(), graph, "y", refute="none", test_graph=False)
    assert len(report.graph.nodes) == 500
    assert len(report.checked.latent) == 497
    row = report.table.set_index("feature").loc["x"]
    assert row["strategy"] == "backdoor" and row["ci_low"] < 1.5 < row["ci_high"]

    data = tmp_path / "data.csv"
    base().to_csv(data, index=False)
    (tmp_path / "big.txt").write_text(graph)
    code = run_cli(
        "analyze", "--data", data, "--graph", tmp_path / "big.txt", "--outcome", "y",
        "--out", tmp_path / "o", "--refute", "none", "--quiet",
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "o" / "report.json").read_text())
    assert len(saved["graph"]["nodes"]) == 500 and len(saved["latent"]) == 497


# ---------------------------------------------------------------------- the real browser

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_hostile_column_of_a_real_analysis_shows_as_text_in_the_browser(tmp_path):
    """A real analyze() run (not a hand-built report) with a column named like an XSS probe."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    frame = named(HOSTILE, n=200).assign(**{"<b>bold</b>": lambda f: f["z"] ** 2})
    graph = [("z", HOSTILE), ("z", "y"), (HOSTILE, "y"), ("z", "<b>bold</b>")]
    report = analyze(frame, graph, "y", refute="quick", test_graph=True, seed=1)
    path = report.write(tmp_path)["html"]

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            dialogs: list[str] = []
            errors: list[str] = []
            requests: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            assert dialogs == [] and errors == []
            assert all(url.startswith(("file:", "data:")) for url in requests), requests
            assert page.evaluate("() => document.querySelectorAll('script').length") == 0
            assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
            assert page.evaluate("() => document.querySelectorAll('b').length") == 0
            shown = page.get_by_text(HOSTILE, exact=True)
            assert shown.count() >= 2 and shown.first.is_visible()
            assert "<b>bold</b>" in page.locator("table.summary-table").inner_text()
        finally:
            browser.close()


# ---------------------------------------------------------------------- no code from user files

PACKAGE = Path(__file__).resolve().parents[1] / "causalinterp"


def test_no_user_file_is_unpickled_or_evaluated():
    # eval/exec as the builtins, not as methods (a torch module's .eval() sets inference mode).
    forbidden = re.compile(
        r"(\b(pickle\.loads?|cloudpickle|joblib\.load|torch\.load|dill|literal_eval|yaml\.load"
        r"|yaml\.unsafe_load|marshal\.loads?|shelve)|(?<![.\w])(eval|exec))\s*\("
    )
    # The exceptions: a model pickle the user explicitly trusts (--trust-pickle), loaded only
    # after the refusals tested below (a tabular model, and an image model).
    allowed = {
        ("models.py", "return joblib.load(file)"),
        ("_export.py", 'model = torch.load(file, map_location="cpu", weights_only=False)'),
    }
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if forbidden.search(line.split("#")[0])
        and (path.name, line.split("#")[0].strip()) not in allowed
    ]
    assert found == []


class _Payload:
    """A pickle that would create a file when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_model_pickle_is_refused_unless_trusted(tmp_path, capsys):
    import pickle

    from causalinterp.models import load_model

    marker = tmp_path / "ran"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelError, match=r"pickle/joblib file, which can run any code"):
        load_model(path)
    assert not marker.exists()
    # Through the command line too: one line naming the file and the flag; nothing written.
    data = tmp_path / "data.csv"
    pd.DataFrame({"x": np.arange(50.0), "y": np.arange(50.0) % 7}).to_csv(data, index=False)
    out = tmp_path / "out"
    argv = ["analyze", "--data", str(data), "--graph", "x -> y", "--outcome", "y"]
    code = main([*argv, "--out", str(out), "--model", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "model.pkl" in err and "--trust-pickle" in err
    assert not marker.exists() and not out.exists()


def test_gml_labels_stay_text(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    label = code.replace('"', "&quot;")
    gml = tmp_path / "dag.gml"
    gml.write_text(
        "graph [ directed 1\n"
        f'  node [ id 0 label "{label}" ] node [ id 1 label "x" ] node [ id 2 label "y" ]\n'
        "  edge [ source 0 target 1 ] edge [ source 1 target 2 ] edge [ source 0 target 2 ]\n]\n"
    )
    frame = base().rename(columns={"z": code})
    report = analyze(frame, gml, "y", refute="none", test_graph=False)
    assert code in report.features and not marker.exists()
