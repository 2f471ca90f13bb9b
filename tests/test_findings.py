"""What a report tells its reader to do: per-feature actions and reason summaries, the ranked
findings, structural zeros, categorical contrasts and the one-screen ``--summary`` text.

The retention world (causalinterp.simulators.retention_model) has a known structure: a leak
(cancel_page_visits is a consequence of churning), a proxy (premium_device has no effect but
shares the cause household_income, which the model lacks), a symptom of a latent cause
(support_calls, confounded by the unmeasured frustration) and an effect hidden behind its
mediator (loyalty_discount lowers the bill, monthly_bill is in the model). Each must come out
of the report as a finding naming that structure and the right action.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from causalinterp import analyze
from causalinterp.cli import main
from causalinterp.refute.results import Refutations
from causalinterp.render.summary import LARGE_EFFECT, MAX_FINDINGS, findings, summary_text
from causalinterp.simulators import retention_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_categorical import GRAPH as PLAN_GRAPH
from test_categorical import PLAN_EFFECT, plans

FEATURES = [
    "tenure_years",
    "loyalty_discount",
    "monthly_bill",
    "outage_hours",
    "premium_device",
    "support_calls",
    "cancel_page_visits",
]


@pytest.fixture(scope="module")
def world():
    return retention_model()


@pytest.fixture(scope="module")
def report(world):
    data = world.sample(3000, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(
            data,
            world.graph,
            "churned",
            features=FEATURES,
            seed=0,
            refute="none",
            nuisance="linear",
            test_graph=False,
            progress=False,
        )


@pytest.fixture(scope="module")
def data(report):
    return report.to_dict()


def _rows(data):
    return {row["name"]: row for row in data["features"]}


def test_findings_name_the_simulated_structure_most_material_first(data):
    found = data["summary"]["findings"]
    kinds = [(f["kind"], f["feature"]) for f in found]
    # The leak carries the largest share, so it comes first; the two other flagged
    # attributions follow by share; the hidden effect comes after every flagged one.
    assert kinds[0] == ("leakage", "cancel_page_visits")
    assert {k for k in kinds[1:3]} == {("flagged", "premium_device"), ("flagged", "support_calls")}
    assert kinds[3:] == [("under_used", "loyalty_discount")]
    shares = [_rows(data)[f]["attribution"]["share"] for _, f in kinds[:3]]
    assert shares == sorted(shares, reverse=True)
    actions = {f["feature"]: f["action"] for f in found}
    assert actions["cancel_page_visits"].startswith("Drop cancel_page_visits from the model")
    assert "Add household_income to the model" in actions["premium_device"]
    assert "collect frustration" in actions["support_calls"]
    assert "not on monthly_bill" in actions["loyalty_discount"]


def test_reason_summaries_and_actions_per_feature(data):
    rows = _rows(data)
    assert rows["premium_device"]["reason_summary"] == (
        "no causal path to churned; proxy of household_income"
    )
    assert rows["cancel_page_visits"]["reason_summary"] == (
        "no causal path to churned; leakage: a consequence of churned"
    )
    assert rows["support_calls"]["reason_summary"].startswith(
        "effect not identifiable (latent frustration)"
    )
    assert rows["loyalty_discount"]["verdict"] == "under_attributed"
    assert rows["loyalty_discount"]["reason_summary"].endswith("effect carried by monthly_bill")
    # Nothing to do about a supported attribution.
    for name, row in rows.items():
        if row["verdict"] == "supported":
            assert row["action"] is None, name
        if row["flagged"]:
            assert row["action"] and row["action"].endswith("."), name


def test_the_under_used_effect_is_large_in_outcome_standard_deviations(world, data):
    row = _rows(data)["loyalty_discount"]
    truth = world.true_effect("loyalty_discount", "churned", n=200_000)
    assert row["effect"]["ci_low"] < truth < row["effect"]["ci_high"]
    sd = float(np.std(world.sample(200_000, seed=5)["churned"], ddof=1))
    assert row["effect"]["standardized"] == pytest.approx(truth / sd, rel=0.25)
    assert abs(row["effect"]["standardized"]) >= LARGE_EFFECT
    # Its attribution slope is well under half the effect: the model under-uses it.
    assert abs(row["attribution"]["slope"]) < abs(truth) / 1.5


def test_markdown_and_html_lead_with_the_findings(report):
    md = report.to_markdown()
    assert md.index("**Findings**") < md.index("| feature |")
    assert "1. **Leakage**: cancel\\_page\\_visits carries" in md
    assert "*What to do*: Drop cancel\\_page\\_visits" in md
    premium = next(line for line in md.splitlines() if line.startswith("| **premium\\_device**"))
    assert "0 \\(no causal path in the DAG\\)" in premium
    assert "proxy of household\\_income" in premium
    html = report.to_html(include_plots=False)
    assert html.index('<section id="findings">') < html.index('<section id="summary">')
    assert html.count('<li class="finding kind-') == 4
    table = html.split('<table class="summary-table">')[1].split("</table>")[0]
    assert "What to do" in table and "no causal path in the DAG" in table
    assert "Add household_<wbr>income to the model" not in table  # actions are plain text
    assert "Add household_income to the model" in table


def test_summary_text_fits_one_screen(report):
    text = summary_text(report)
    lines = text.splitlines()
    assert lines[0] == "churned: 7 features, 3 flagged. Findings, most material first (4):"
    assert len(lines) <= 24 and max(map(len, lines)) <= 100
    numbered = [line for line in lines if re.match(r"^\d\. ", line)]
    assert [line[:2] for line in numbered] == ["1.", "2.", "3.", "4."]
    assert numbered[0].startswith("1. [leakage] cancel_page_visits")
    assert "   -> Drop cancel_page_visits from the model" in text
    assert summary_text(report.to_dict()) == text


def _row(name, share, *, flagged=True, verdict="no_causal_path", summary="no causal path"):
    return {
        "name": name,
        "verdict": verdict,
        "flagged": flagged,
        "reason_summary": summary,
        "action": f"Do something about {name}.",
        "attribution": {"share": share, "slope": 0.01},
        "effect": None,
    }


def test_findings_are_capped_ranked_and_keep_a_failing_graph():
    rows = [_row(f"f{i}", share) for i, share in enumerate([0.05, 0.3, 0.1, 0.2, 0.08, 0.06])]
    hidden = _row("hidden", 0.01, flagged=False, verdict="under_attributed", summary="short")
    hidden["effect"] = {"estimate": -0.2, "ci_low": -0.25, "ci_high": -0.15, "standardized": -0.4}
    small = dict(hidden, name="small", effect=dict(hidden["effect"], standardized=-0.05))
    leak = _row("leak", 0.001, flagged=False, summary="no causal path; leakage: a consequence")
    test = {
        "fits": False,
        "tested": 9,
        "violations": [{"x": "a", "y": "b", "given": ["c"]}, {"x": "a", "y": "d", "given": []}],
    }
    data = {"outcome": "y", "features": [*rows, hidden, small, leak], "graph_test": test}
    found = findings(data)
    assert len(found) == MAX_FINDINGS
    assert [f["feature"] for f in found[:4]] == ["f1", "f3", "f2", "f4"]
    assert found[-1]["kind"] == "graph" and "2 of 9 implied independences" in found[-1]["text"]
    assert "a ⟂ b | c" in found[-1]["text"] and found[-1]["action"].startswith("Revise the DAG")
    # Without the flagged rows: the large hidden effect, then the leak; the small one is out.
    data = {"outcome": "y", "features": [leak, small, hidden], "graph_test": None}
    assert [(f["kind"], f["feature"]) for f in findings(data)] == [
        ("under_used", "hidden"),
        ("leakage", "leak"),
    ]
    assert "-0.2 [-0.25, -0.15]" in findings(data)[0]["text"]
    assert findings({"outcome": "y", "features": [], "graph_test": dict(test, fits=True)}) == []


def test_cli_summary_prints_the_findings(world, tmp_path, capsys):
    case = tmp_path / "case"
    case.mkdir()
    world.sample(2000, seed=3).drop(columns=["household_income"]).to_csv(
        case / "data.csv", index=False
    )
    graph = Path(__file__).resolve().parents[1] / "graphs" / "retention.dot"
    (case / "case.toml").write_text(
        f'data = "data.csv"\ngraph = "{graph.as_posix()}"\noutcome = "churned"\n'
        f"features = {FEATURES!r}\nseed = 0\n".replace("'", '"'),
        encoding="utf-8",
    )
    code = main(
        [
            "run",
            str(case),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--summary",
            "--refute",
            "none",
            "--nuisance",
            "linear",
            "--no-test-graph",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("churned: 7 features, ")
    assert "1. [leakage] cancel_page_visits" in out
    # household_income is not in the data this time: the proxy's confounder is latent.
    assert "premium_device" in out and "collect household_income" in out


@pytest.fixture(scope="module")
def plan_report():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(
            plans(),
            PLAN_GRAPH,
            "y",
            features=["plan", "w"],
            refute="none",
            test_graph=False,
            seed=2,
            progress=False,
        )


def test_categorical_rows_name_their_contrast_and_levels(plan_report):
    plan = _rows(plan_report.to_dict())["plan"]
    # 'pro' (-2) is the most significant contrast against the reference 'basic'.
    assert plan["effect"]["contrast"] == {"level": "pro", "reference": "basic"}
    assert plan["effect"]["standardized"] is None
    for level in plan["effect"]["levels"]:
        truth = PLAN_EFFECT[level["level"]]
        assert level["ci_low"] < truth < level["ci_high"]
        # The model's own contrast has the sign of the true one.
        assert np.sign(level["attribution"]) == np.sign(truth)
    md = plan_report.to_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| plan |"))
    assert "\\('pro' vs 'basic'\\)" in row
    html = plan_report.to_html(include_plots=False)
    assert "pro vs basic" in html.split('<table class="summary-table">')[1].split("</table>")[0]
    levels = html.split('<table class="levels">')[1].split("</table>")[0]
    assert levels.count("<tr>") == 3  # a header and one row per non-reference level
    assert "Model contrast [95% CI]" in levels  # the number the level verdict reads
    assert "Refutation was not run." in html  # refute="none"


def test_categorical_refutation_status_is_honest(plan_report):
    ran = dataclasses.replace(
        plan_report, refutations=Refutations(by_feature={}, sensitivity={}, depth="quick")
    )
    plan = _rows(ran.to_dict())["plan"]
    assert plan["refutations"] == []
    # No refuter ran on a level: the report never says "not refuted" about it.
    assert plan["refutation_note"].startswith("no refuter ran: each level has its own estimate")
    html = ran.to_html(include_plots=False)
    assert "No refuters apply (no estimated effect)" not in html
    assert "ot refuted" not in html
    # Under the level table and in the refutation section.
    assert html.count("No refuter ran: each level has its own estimate") == 2


def test_a_failure_to_rank_findings_does_not_take_the_report_down(report, monkeypatch):
    from causalinterp.render import json as json_render

    def broken(data):
        raise KeyError("share")

    monkeypatch.setattr(json_render, "findings", broken)
    data = report.to_dict()
    assert data["summary"]["findings"] == [
        {
            "kind": "error",
            "feature": None,
            "text": "the findings could not be ranked: KeyError: 'share'",
            "action": None,
        }
    ]
    assert len(data["features"]) == 7
    assert "the findings could not be ranked" in report.to_html(include_plots=False)
