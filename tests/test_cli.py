"""The command line: reports written, options honoured, one-line errors with exit status 2."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from causalinterp.cli import main

GRAPH = "z -> x; z -> y; x -> y; y -> after"


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    rng = np.random.default_rng(5)
    n = 600
    z = rng.normal(size=n)
    x = 0.8 * z + rng.normal(size=n)
    y = 1.5 * x + z + rng.normal(size=n)
    after = y + rng.normal(size=n)
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    pd.DataFrame({"z": z, "x": x, "y": y, "after": after}).to_csv(path, index=False)
    return path


def run(*argv):
    """main() as the console script runs it: argparse's own exits become the return code."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as stop:
        return stop.code


def test_analyze_writes_three_reports_and_exits_zero(data_file, tmp_path, capsys):
    out = tmp_path / "out"
    code = run(
        "analyze",
        "--data",
        data_file,
        "--graph",
        GRAPH,
        "--outcome",
        "y",
        "--out",
        out,
        "--refute",
        "none",
        "--features",
        "x,after",
        "--seed",
        "3",
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "report.html"}
    report = json.loads((out / "report.json").read_text())
    features = {f["name"]: f for f in report["features"]}
    assert list(features) == ["x", "after"]
    assert features["x"]["effect"]["ci_low"] < 1.5 < features["x"]["effect"]["ci_high"]
    assert features["after"]["verdict"] == "no_causal_path"
    assert report["settings"]["seed"] == 3
    assert "after" in capsys.readouterr().out


def test_quiet_prints_nothing(data_file, tmp_path, capsys):
    code = run(
        "analyze",
        "--data",
        data_file,
        "--graph",
        GRAPH,
        "--outcome",
        "y",
        "--out",
        tmp_path,
        "--refute",
        "none",
        "--no-graph-test",
        "--quiet",
    )
    assert code == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--graph", "z -> x; x -> z"], "cycle"),
        (["--outcome", "nope"], "'nope'"),
        (["--features", "x,q"], "'q'"),
        (["--graph", "z -> -> x"], "graph"),
        (["--seed", "1.5"], "--seed"),
        (["--n-jobs", "0"], "--n-jobs"),
        (["--refute", "standrad"], "--refute"),
        (["--nuisance", "forest"], "--nuisance"),
        (["--max-shap-rows", "5"], "--max-shap-rows"),
        (["--bogus", "1"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_exits_2_with_one_line(data_file, tmp_path, capsys, argv, message):
    base = {"--data": data_file, "--graph": GRAPH, "--outcome": "y", "--out": tmp_path}
    defaults = [item for key, value in base.items() if key not in argv for item in (key, value)]
    code = run("analyze", *defaults, *argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("causalinterp: error: ")
    assert not (tmp_path / "report.json").exists()


def analyze_quietly(data_file, out, *options):
    """``causalinterp analyze`` on the module's data, without refuters or the graph test."""
    return run(
        "analyze", "--data", data_file, "--graph", GRAPH, "--outcome", "y", "--out", out,
        "--refute", "none", "--no-graph-test", "--quiet", *options,
    )  # fmt: skip


def test_nuisance_and_shap_rows_reach_the_analysis(data_file, tmp_path):
    out = tmp_path / "out"
    assert analyze_quietly(data_file, out, "--nuisance", "linear", "--max-shap-rows", "120") == 0
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["nuisance"] == "linear"
    assert report["settings"]["rows_explained"] == 120  # of 600
    # The default regressor's trees add up on the outcome scale: the leaf tables average
    # over the whole 200-row background, with nothing to add about it.
    assert (report["settings"]["explainer"], report["settings"]["background_rows"]) == ("tree", 200)
    assert report["settings"]["explainer_note"] is None
    # A sample's summaries carry their sampling error; explaining every row leaves none.
    for feature in report["features"]:
        attribution = feature["attribution"]
        # About the spread of |SHAP| over the root of 120 rows: a few percent of the mean.
        assert 0 < attribution["mean_abs_shap_se"] < 0.3 * attribution["mean_abs_shap"]
        assert 0 < attribution["slope_se"] < max(0.5 * abs(attribution["slope"]), 1e-3)
    assert analyze_quietly(data_file, out, "--nuisance", "linear") == 0
    every_row = json.loads((out / "report.json").read_text())
    assert every_row["settings"]["rows_explained"] == 600
    assert {f["attribution"]["mean_abs_shap_se"] for f in every_row["features"]} == {0.0}


def test_case_file_sets_nuisance_and_shap_rows_and_the_command_line_wins(data_file, tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    (case / "case.toml").write_text(
        f"data = {str(data_file)!r}\ngraph = {GRAPH!r}\noutcome = 'y'\nrefute = 'none'\n"
        "nuisance = 'linear'\nmax_shap_rows = 80\n"
    )
    assert run("run", case, "--quiet", "--no-graph-test") == 0
    settings = json.loads((case / "report" / "report.json").read_text())["settings"]
    assert (settings["nuisance"], settings["rows_explained"]) == ("linear", 80)
    assert run("run", case, "--quiet", "--no-graph-test", "--nuisance", "auto") == 0
    settings = json.loads((case / "report" / "report.json").read_text())["settings"]
    assert (settings["nuisance"], settings["rows_explained"]) == ("auto", 80)


def test_refit_reaches_the_refuters(data_file, tmp_path):
    out = tmp_path / "out"
    options = ["--refute", "quick", "--nuisance", "linear", "--features", "x"]
    assert analyze_quietly(data_file, out, *options, "--refit") == 0
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["refit"] is True
    (x,) = report["features"]
    bootstrap = next(r for r in x["refutations"] if r["name"] == "bootstrap")
    assert bootstrap["detail"].startswith("mean half-sample estimate")  # re-fitted halves
    assert analyze_quietly(data_file, out, *options, "--no-refit") == 0
    report = json.loads((out / "report.json").read_text())
    assert (report["settings"]["refit"], report["settings"]["refit_mode"]) == (False, "given")
    bootstrap = next(r for r in report["features"][0]["refutations"] if r["name"] == "bootstrap")
    assert bootstrap["detail"].startswith("mean bootstrap estimate")  # resampled scores
    # Unset: the automatic rule re-fits these 600 rows (below 1000) and says why.
    assert analyze_quietly(data_file, out, *options) == 0
    settings = json.loads((out / "report.json").read_text())["settings"]
    assert (settings["refit"], settings["refit_mode"]) == (True, "auto")
    assert "600 rows, below 1000" in settings["refit_reason"]


@pytest.mark.parametrize(
    ("line", "message"),
    [("nuisance = 'forest'", "nuisance: 'forest' is not supported"),
     ("refit = 'no'", "refit: expected True or False, got 'no'")],
)  # fmt: skip
def test_case_file_with_a_bad_option_is_a_one_line_error(
    data_file, tmp_path, capsys, line, message
):
    (tmp_path / "case.toml").write_text(
        f"data = {str(data_file)!r}\ngraph = {GRAPH!r}\noutcome = 'y'\n{line}\n"
    )
    assert run("run", tmp_path, "--quiet") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "report").exists()


def test_missing_data_file(tmp_path, capsys):
    code = run(
        "analyze",
        "--data",
        tmp_path / "none.csv",
        "--graph",
        GRAPH,
        "--outcome",
        "y",
        "--out",
        tmp_path,
    )
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_header_only_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("z,x,y\n")
    code = run("analyze", "--data", path, "--graph", GRAPH, "--outcome", "y", "--out", tmp_path)
    assert code == 2
    assert "0 usable rows" in capsys.readouterr().err


def test_console_script_help_documents_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "causalinterp.cli", "analyze", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (
        "--data",
        "--graph",
        "--outcome",
        "--out",
        "--features",
        "--seed",
        "--n-jobs",
        "--refute",
        "--missing",
        "--no-graph-test",
        "--strict",
        "--quiet",
        "--nuisance",
        "--max-shap-rows",
        "--refit",
    ):
        assert option in result.stdout


def test_every_option_of_analyze_is_a_keyword_a_flag_and_a_case_key():
    import inspect

    from causalinterp import options
    from causalinterp.cli import _CASE_KEYS, build_parser
    from causalinterp.pipeline import analyze

    names = options.names(options.ANALYZE_STAGES)
    keywords = {
        p.name: p.default
        for p in inspect.signature(analyze).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("model", "features")
    }
    assert list(keywords) == list(names)
    assert keywords == {name: options.default(name) for name in names}
    args = build_parser().parse_args(["run", "case"])
    for name in names:
        assert getattr(args, name, None) is None  # not given: analyze() supplies the default
        assert (name in _CASE_KEYS) == options.option(name).case
    usage = subprocess.run(
        [sys.executable, "-m", "causalinterp.cli", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in names:
        spec = options.option(name)
        if spec.cli:
            flag = "--no-" + spec.flag[2:] if spec.default is True else spec.flag
            assert flag in usage, flag
        else:
            assert spec.flag not in usage
    # Options of other stages (monitoring, say) are not analyze's.
    others = [o for o in options.OPTIONS if o.stage not in options.ANALYZE_STAGES and o.cli]
    assert all(o.flag not in usage for o in others)


def test_flags_parse_to_the_values_analyze_receives():
    from causalinterp import options
    from causalinterp.cli import _OPTIONS, build_parser

    parse = build_parser().parse_args
    base = ["analyze", "--data", "d.csv", "--graph", GRAPH, "--outcome", "y", "--out", "o"]
    assert options.given(parse(base), _OPTIONS) == {}
    assert options.given(parse([*base, "--no-test-graph"]), _OPTIONS) == {"test_graph": False}
    assert options.given(parse([*base, "--no-graph-test"]), _OPTIONS) == {"test_graph": False}
    given = options.given(
        parse([*base, "--time-limit", "inf", "--n-folds", "4", "--graph-test-method", "linear",
               "--material-share", "0.2", "--refit"]),
        _OPTIONS,
    )  # fmt: skip
    assert given == {
        "time_limit": float("inf"),  # analyze() reads it as no limit
        "n_folds": 4,
        "graph_test_method": "linear",
        "material_share": 0.2,
        "refit": True,
    }


def test_thresholds_come_from_the_case_file_unless_the_command_line_sets_them(
    data_file, tmp_path
):
    case = tmp_path / "case"
    case.mkdir()
    (case / "case.toml").write_text(
        f"data = {str(data_file)!r}\ngraph = {GRAPH!r}\noutcome = 'y'\nrefute = 'none'\n"
        "nuisance = 'linear'\nmaterial_share = 0.3\ntest_graph = false\n"
    )
    assert run("run", case, "--quiet") == 0
    report = json.loads((case / "report" / "report.json").read_text())
    assert report["settings"]["material_share"] == 0.3
    assert report["settings"]["attribution_factor"] == 1.5  # the table's default
    assert report["graph_test"] is None  # test_graph = false in the case file
    assert run("run", case, "--quiet", "--material-share", "0.1", "--attribution-factor", "2") == 0
    settings = json.loads((case / "report" / "report.json").read_text())["settings"]
    assert (settings["material_share"], settings["attribution_factor"]) == (0.1, 2.0)


def test_a_misspelled_case_key_gets_a_suggestion(data_file, tmp_path, capsys):
    (tmp_path / "case.toml").write_text(
        f"data = {str(data_file)!r}\ngraph = {GRAPH!r}\noutcome = 'y'\nmax_shap_row = 80\n"
    )
    assert run("run", tmp_path, "--quiet") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "max_shap_row: not an option of" in err and "did you mean 'max_shap_rows'?" in err
    assert not (tmp_path / "report").exists()


def test_a_model_file_is_the_model_explained_from_the_flag_or_the_case_file(data_file, tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    frame = pd.read_csv(data_file)
    model = LinearRegression().fit(frame[["z", "x", "after"]], frame["y"])
    sio.dump(model, tmp_path / "model.skops")
    slopes = dict(zip(["z", "x", "after"], model.coef_, strict=True))

    def explained(report_dir):
        report = json.loads((report_dir / "report.json").read_text())
        return {f["name"]: f["attribution"]["slope"] for f in report["features"]}

    out = tmp_path / "out"
    assert analyze_quietly(data_file, out, "--model", tmp_path / "model.skops") == 0
    assert explained(out) == pytest.approx(slopes, rel=1e-4)  # a linear model's SHAP slope

    case = tmp_path / "case"
    case.mkdir()
    (case / "model.skops").write_bytes((tmp_path / "model.skops").read_bytes())
    (case / "case.toml").write_text(
        f"data = {str(data_file)!r}\ngraph = {GRAPH!r}\noutcome = 'y'\nrefute = 'none'\n"
        "model = 'model.skops'\ntest_graph = false\n"
    )
    assert run("run", case, "--quiet") == 0
    assert explained(case / "report") == pytest.approx(slopes, rel=1e-4)


def test_help_says_which_model_is_explained_without_model(capsys):
    for verb in ("analyze", "run"):
        assert run(verb, "--help") == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "--model FILE" in text and "--trust-pickle" in text and "WARNING" in text
        assert "causalinterp fits its own model" in text
        assert "explains that model, not yours" in text


def test_a_slow_model_keeps_to_max_shap_seconds_and_says_so(data_file, tmp_path, capsys):
    import skops.io as sio
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    # Products of columns leave no fast explainer: the model-agnostic exact one runs.
    frame = pd.read_csv(data_file)
    features = ["z", "x", "after"]
    poly = make_pipeline(PolynomialFeatures(2), LinearRegression())
    sio.dump(poly.fit(frame[features], frame["y"]), tmp_path / "poly.skops")
    model = ("--model", tmp_path / "poly.skops", "--nuisance", "linear")
    assert analyze_quietly(data_file, tmp_path / "all", *model) == 0
    assert capsys.readouterr().err == ""  # --quiet: nothing but errors
    full = json.loads((tmp_path / "all" / "report.json").read_text())
    assert full["settings"]["rows_explained"] == 600  # every row, no budget
    code = run(
        "analyze", "--data", data_file, "--graph", GRAPH, "--outcome", "y",
        "--out", tmp_path / "cut", "--refute", "none", "--no-graph-test",
        *model, "--max-shap-seconds", "0.001",
    )  # fmt: skip
    assert code == 0
    err = " ".join(capsys.readouterr().err.split())
    # Announced before it starts: which explainer, why, its cost, and the budget's rows.
    assert "model Pipeline[PolynomialFeatures, LinearRegression]" in err
    assert "model-agnostic exact explainer" in err
    assert "max_shap_seconds=0.001" in err and "standard errors about" in err
    cut = json.loads((tmp_path / "cut" / "report.json").read_text())
    assert 10 <= cut["settings"]["rows_explained"] < 600
    for name in features:
        one = {f["name"]: f["attribution"] for f in cut["features"]}[name]
        every = {f["name"]: f["attribution"] for f in full["features"]}[name]
        assert every["mean_abs_shap_se"] == 0  # all rows explained: no sampling error
        assert one["mean_abs_shap_se"] > 0
        # The subsample's mean |SHAP| is within a few of its standard errors of all rows'.
        assert abs(one["mean_abs_shap"] - every["mean_abs_shap"]) < 5 * one["mean_abs_shap_se"]


def test_case_file_trusted_types_reach_the_skops_check(data_file, tmp_path, capsys):
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    frame = pd.read_csv(data_file)
    sio.dump(LinearRegression().fit(frame[["z", "x"]], frame["y"]), tmp_path / "m.skops")
    base = f"data = {str(data_file)!r}\ngraph = {GRAPH!r}\noutcome = 'y'\nmodel = 'm.skops'\n"
    (tmp_path / "case.toml").write_text(base + "trusted_types = 3\n")
    assert run("run", tmp_path, "--quiet") == 2
    err = capsys.readouterr().err
    assert "trusted_types: in" in err and "expected a list of type names" in err
    assert err.count("\n") == 1 and not (tmp_path / "report").exists()


def test_a_case_file_may_hold_the_graph_as_text_longer_than_a_file_name(tmp_path):
    from causalinterp.cli import load_case

    edges = "; ".join(f"node_with_a_long_name_{i} -> y" for i in range(40))
    (tmp_path / "case.toml").write_text(f"data = 'd.csv'\ngraph = {edges!r}\noutcome = 'y'\n")
    assert load_case(tmp_path)["graph"] == edges  # text, not a path (OSError before)
    (tmp_path / "g.dot").write_text("digraph { a -> y }")
    (tmp_path / "case.toml").write_text("data = 'd.csv'\ngraph = 'g.dot'\noutcome = 'y'\n")
    assert load_case(tmp_path)["graph"] == tmp_path / "g.dot"
