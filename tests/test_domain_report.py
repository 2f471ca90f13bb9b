"""End to end: signs on the DAG -> analyze()'s domain check -> report.json, Markdown, HTML; and
``causalinterp constrain`` on the command line."""

import json

import pytest
from _domain_worlds import ARTEFACT, world
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

import causalinterp
from causalinterp import analyze
from causalinterp.errors import GraphError

#: The world's DAG with its signs written in the edge-string syntax.
SIGNED_GRAPH = "income -> price [+]; price -> y [+]; income -> y [-]"
FAST = {"refute": "none", "test_graph": False, "max_shap_rows": 200, "progress": False,
        "ice_rows": 80, "ice_grid": 40}


@pytest.fixture(autouse=True)
def _one_thread():
    # Two shared cores: OpenMP thread pools would oversubscribe them.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data():
    return world("continuous").sample(1500, seed=3)


def _fit(data, monotonic_cst=None):
    with threadpool_limits(limits=1):
        return HistGradientBoostingRegressor(
            max_iter=100, random_state=0, monotonic_cst=monotonic_cst
        ).fit(data[["price", "income"]], data["y"])


@pytest.fixture(scope="module")
def planted_report(data):
    with threadpool_limits(limits=1):
        return analyze(data, SIGNED_GRAPH, "y", model=_fit(data), **FAST)


def test_planted_violation_reaches_report_json(planted_report):
    data = json.loads(planted_report.to_json())
    rows = {row["name"]: row for row in data["features"]}
    price = rows["price"]["domain"]
    assert price["direction"] == "+" and price["source"] == "declared"
    # The drop planted in the band of high prices: most rows' curves fall there.
    assert price["violation_share"] > 0.8
    low, high = price["max_violation_at"]
    assert ARTEFACT[0] - 1.0 < low < high < ARTEFACT[1] + 1.0
    assert price["max_violation"] > 1.0  # the planted drop is 3; noise wiggles are tenths
    assert price["against_direction"] is True  # price's attribution is material
    assert "price" in data["domain"]["against_direction"]
    assert {"edge": ["price", "y"], "sign": "+"} in data["domain"]["signs"]
    assert data["domain"]["ice_rows"] == 80 and data["domain"]["error"] is None
    # The default relative tolerance, and the move on the prediction scale it amounts to:
    # far below the planted drop of 3.
    assert data["domain"]["ice_tolerance"] == 0.01
    assert 0.001 < data["domain"]["threshold"] < 0.1
    assert any("against the declared direction +" in r for r in rows["price"]["reasons"])
    assert planted_report.run["seconds"]["domain"] > 0  # the check ran and its time is kept


def test_markdown_and_html_show_the_domain_section(planted_report):
    md = planted_report.to_markdown()
    section = md.split("## Domain logic", 1)[1]
    assert "| price | + | declared |" in section and "**Against a declared direction:**" in section
    html = planted_report.to_html(include_plots=True)
    assert 'id="domain"' in html and "Material attributions against a declared direction" in html
    domain_html = html.split('id="domain"', 1)[1].split("</section>", 1)[0]
    # The ICE plot of each checked feature (price and income), curves drawn as pixels.
    assert domain_html.count('src="data:image/svg+xml,') == 2
    assert domain_html.count("data:image/png;base64,") >= 2
    # "Flagged" and its mark belong to the attribution flag: a violated direction has its own.
    assert "Flag" not in section.split("###", 1)[0] and "⚑" not in section.split("###", 1)[0]
    assert "&#9873;" not in domain_html and "flagged" not in domain_html.lower()
    assert "plot unavailable" not in domain_html


def test_a_constrained_model_passes_and_is_not_flagged(data):
    with threadpool_limits(limits=1):
        report = analyze(data, SIGNED_GRAPH, "y", model=_fit(data, [1, -1]), **FAST)
    rows = {row["name"]: row["domain"] for row in report.to_dict()["features"]}
    assert rows["price"]["violation_share"] == 0 and rows["price"]["against_direction"] is False
    assert rows["income"]["violation_share"] == 0
    assert report.to_dict()["domain"]["against_direction"] == []


def test_signs_option_overrides_and_bad_signs_fail_before_the_slow_stages(data):
    with pytest.raises(GraphError, match=r"signs: edge y -> price is not in the graph"):
        analyze(data, SIGNED_GRAPH, "y", signs={("y", "price"): "+"}, **FAST)
    with pytest.raises(GraphError, match=r"line 1:34: sign 'x' on edge price -> y"):
        analyze(data, "income -> price [+]; price -> y [x]", "y", **FAST)


def test_a_failing_domain_check_leaves_the_report_whole(data, monkeypatch):
    import causalinterp.domain.check as check

    def broken(*args, **kwargs):
        raise RuntimeError("ICE exploded")

    monkeypatch.setattr(check, "verify", broken)
    with threadpool_limits(limits=1):
        report = analyze(data, SIGNED_GRAPH, "y", model=_fit(data), **FAST)
    out = report.to_dict()
    price = {row["name"]: row for row in out["features"]}["price"]
    assert price["verdict"] != "error" and price["effect"] is not None
    assert price["domain"]["direction"] == "+" and price["domain"]["violation_share"] is None
    assert "ICE exploded" in price["domain"]["error"] and "ICE exploded" in out["domain"]["error"]
    assert "did not run completely" in report.to_markdown()


def test_constrain_is_exported_lazily():
    assert "constrain" in causalinterp.__all__
    from causalinterp.domain.refit import constrain

    assert causalinterp.constrain is constrain


def test_cli_constrain_reads_signs_from_the_graph(tmp_path, data, capsys):
    from causalinterp.cli import main

    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["constrain", "--data", str(path), "--graph", SIGNED_GRAPH, "--outcome", "y",
                 "--out", str(out), "--score-bootstrap", "200", "--ice-rows", "60",
                 "--ice-grid", "30", "--quiet"])
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "constrain.json").read_text())
    price = result["features"]["price"]
    assert price["source"] == "declared" and price["constraint"] == 1
    assert price["violation_share_before"] > 0.8 and price["violation_share_after"] == 0
    assert result["features"]["income"]["violation_share_after"] == 0
    assert set(result["scores"]) == {"rmse"}
    assert (out / result["model_file"]).is_file()
    code = main(["constrain", "--data", str(path), "--graph", "price -> y [?]",
                 "--outcome", "y", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "sign '?' on edge price -> y is not '+' or '-'" in err


def test_an_unknown_attribution_share_is_said_not_read_as_zero(data):
    # price's attribution failed (no share): whether its violation is material is unknown,
    # and its domain object says so instead of calling it immaterial.
    from types import SimpleNamespace

    from causalinterp.data import check_data
    from causalinterp.domain.check import check_domain
    from causalinterp.graph import CausalGraph

    graph = CausalGraph.parse(SIGNED_GRAPH)
    checked = check_data(data, graph, "y")
    verdicts = {"price": SimpleNamespace(share=float("nan")), "income": SimpleNamespace(share=0.4)}
    check = check_domain(_fit(data), data, graph, checked, None, verdicts, ice_rows=60,
                         ice_grid=30, seed=0)
    price, income = check.objects["price"], check.objects["income"]
    assert price["violation_share"] > 0.8 and price["material"] is None
    assert price["against_direction"] is False and check.against_direction == ("income",)
    assert income["material"] is True and income["violation_share"] > 0
