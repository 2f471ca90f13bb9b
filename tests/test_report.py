"""Report: JSON schema and determinism, Markdown and HTML escaping, atomic writes, plots."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _figures import texts_outside
from matplotlib.figure import Figure

from causalinterp import _io
from causalinterp.attribute.attributions import Attributions, FeatureAttribution
from causalinterp.data import CheckedData
from causalinterp.errors import CausalInterpError
from causalinterp.estimate._dowhy import Identification
from causalinterp.estimate._econml import EffectEstimate
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.graph import CausalGraph
from causalinterp.graph.independence import GraphTest, Implication
from causalinterp.refute.results import RefutationResult, Refutations, Sensitivity
from causalinterp.render import html as html_render
from causalinterp.render import plots
from causalinterp.render.json import clean
from causalinterp.report import TABLE_COLUMNS, Report, escape_markdown
from causalinterp.verdicts import FeatureVerdict, advise

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_NAMES = {
    "zip_risk": HOSTILE,
    "late_payments": "a|b",
    "tenure_months": "back`tick` *bold* [link](http://example.com)",
    "age": "âge 年龄 🙂 $x$",
    "neighbourhood": '"quoted" & <b>latent</b>',
    "default": "</title><script>alert(2)</script>",
}

RUN = {
    "started_at": "2026-01-05T09:30:00+00:00",
    "seconds": {"check": 0.02, "effects": 12.5, "attributions": 3.1, "refutation": 40.25},
    "versions": {"causalinterp": "0.1.0", "numpy": "2.4.0"},
}

# (feature, strategy, adjustment set, estimate, stderr, p, slope, mean|SHAP|, rank, verdict,
#  support, flagged)
# fmt: off
_SPEC = [
    ("income", "backdoor", ("age",), -0.0042, 0.0011, 1.3e-4, -0.0039, 0.041, 3,
     "supported", True, False),
    ("debt_ratio", "backdoor", ("income",), 0.21, 0.045, 2.9e-6, 0.46, 0.058, 2,
     "over_attributed", True, False),
    ("age", "backdoor", (), -0.0018, 0.00066, 0.0064, 0.0031, 0.022, 5,
     "sign_conflict", False, True),
    ("late_payments", "backdoor", ("debt_ratio",), 0.031, 0.006, 4e-7, 0.028, 0.035, 4,
     "supported", True, False),
    ("tenure_months", "backdoor", ("age",), -0.0011, 0.0004, 0.007, -0.0012, 0.012, 7,
     "fragile", None, True),
    ("zip_risk", "none", (), None, None, None, 0.09, 0.019, 6,
     "not_identifiable", None, True),
    ("collections_calls", "no_path", (), None, None, None, 0.31, 0.064, 1,
     "no_causal_path", False, True),
]
# fmt: on

_EDGES = [
    ("age", "income"),
    ("age", "tenure_months"),
    ("education", "income"),
    ("income", "debt_ratio"),
    ("income", "default"),
    ("debt_ratio", "late_payments"),
    ("debt_ratio", "default"),
    ("late_payments", "default"),
    ("tenure_months", "default"),
    ("neighbourhood", "zip_risk"),
    ("neighbourhood", "default"),
    ("default", "collections_calls"),
]

_REASONS = {
    "supported": "the attribution slope {slope:.3g} lies within the effect's 95% interval",
    "over_attributed": "the attribution slope {slope:.3g} is more than twice the causal effect",
    "sign_conflict": "the model attributes a positive slope but the causal effect is negative",
    "fragile": "the placebo-treatment refuter failed",
    "not_identifiable": "latent confounding through {latent} blocks identification",
    "no_causal_path": "{name} is a descendant of {outcome}: it cannot cause it",
}


def build_report(
    *,
    hostile: bool = False,
    fits: bool = False,
    with_graph_test: bool = True,
    with_refutations: bool = True,
    seed: int = 3,
    run: dict | None = None,
    reverse_mappings: bool = False,
) -> Report:
    """A realistic report (credit default) built straight from the stage dataclasses."""
    names = {n: n for n in {u for e in _EDGES for u in e}}
    if hostile:
        names.update(HOSTILE_NAMES)
    outcome = names["default"]
    rng = np.random.default_rng(seed)
    n = 400

    age = rng.normal(45, 12, n)
    education = rng.integers(0, 2, n).astype(float)
    income = 30 + 0.5 * age + 8 * education + rng.normal(0, 10, n)
    debt_ratio = np.clip(0.7 - 0.004 * income + rng.normal(0, 0.1, n), 0, 1)
    late = rng.poisson(1 + 4 * debt_ratio).astype(float)
    tenure = np.clip(age * 2 + rng.normal(0, 20, n), 1, None)
    zip_risk = rng.uniform(0, 1, n)
    default = (rng.uniform(size=n) < 0.15 + 0.2 * debt_ratio).astype(float)
    calls = (rng.uniform(size=n) < 0.05 + 0.5 * default).astype(float)
    values = {
        "age": age,
        "education": education,
        "income": income,
        "debt_ratio": debt_ratio,
        "late_payments": late,
        "tenure_months": tenure,
        "zip_risk": zip_risk,
        "collections_calls": calls,
    }
    features = tuple(names[spec[0]] for spec in _SPEC)
    frame = pd.DataFrame({names[k]: v for k, v in values.items()})
    frame[outcome] = default
    kinds = {names[k]: "continuous" for k in values}
    kinds[names["education"]] = "binary"
    kinds[names["collections_calls"]] = "binary"
    kinds[outcome] = "binary"
    latent = (names["neighbourhood"],)
    checked = CheckedData(
        frame=frame,
        kinds=kinds,
        outcome=outcome,
        features=features,
        observed=tuple(frame.columns),
        latent=latent,
        n_rows=n,
        dropped_rows=3,
    )
    graph = CausalGraph.from_edges([(names[u], names[v]) for u, v in _EDGES])

    shap = {}
    by_effect, by_attr, verdicts, by_refute, sensitivity = {}, {}, {}, {}, {}
    observed = tuple(frame.columns)
    total_shap = sum(spec[7] for spec in _SPEC)
    for raw, strategy, adjust, est, se, p, slope, mean_abs, rank, verdict, support, flag in _SPEC:
        name = names[raw]
        x = values[raw]
        shap[name] = slope * (x - x.mean()) + rng.normal(0, abs(slope) * x.std() * 0.2, n)
        ident = Identification(
            strategy=strategy,
            adjustment_set=tuple(sorted(names[a] for a in adjust)),
            blocking_latents=latent if strategy == "none" else (),
        )
        estimate = None
        status = {"none": "not_identifiable", "no_path": "no_path"}.get(strategy, "estimated")
        if est is not None:
            estimate = EffectEstimate(
                estimate=est,
                stderr=se,
                ci_low=est - 1.96 * se,
                ci_high=est + 1.96 * se,
                p_value=p,
                method="LinearDML",
                n_rows=n,
            )
        by_effect[name] = FeatureEffect(
            feature=name, identification=ident, estimate=estimate, status=status
        )
        by_attr[name] = FeatureAttribution(
            feature=name, mean_abs_shap=mean_abs, slope=slope, rank=rank
        )
        reason = _REASONS.get(verdict, verdict).format(
            slope=slope, latent=latent[0], name=name, outcome=outcome
        )
        diagnosis = graph.feature_set_diagnosis(name, outcome, features, observed)
        summary, action = advise(
            name, verdict, outcome, diagnosis, flagged=flag, effect=by_effect[name]
        )
        verdicts[name] = FeatureVerdict(
            feature=name,
            causal_support=support,
            verdict=verdict,
            reasons=(reason,),
            flagged=flag,
            share=mean_abs / total_shap,
            reason_summary=summary,
            action=action,
        )
        if estimate is not None:
            results = []
            for k, (refuter, centre, spread) in enumerate(
                [
                    ("placebo_treatment", 0.0, se),
                    ("random_common_cause", est, se / 5),
                    ("data_subset", est, se),
                ]
            ):
                fails = raw == "tenure_months" and refuter == "placebo_treatment"
                if fails:
                    centre = est * 0.8
                draws = np.random.default_rng([seed, rank, k]).normal(centre, spread, 50)
                results.append(
                    RefutationResult(
                        name=refuter,
                        feature=name,
                        original=est,
                        distribution=draws,
                        p_value=0.001 if fails else 0.4 + 0.1 * k,
                        p_adjusted=0.004 if fails else min(1.0, 0.6 + 0.1 * k),
                        passed=not fails,
                        detail="placebo estimates do not centre on 0" if fails else "",
                        expected=0.0 if refuter == "placebo_treatment" else est,
                    )
                )
            by_refute[name] = tuple(results)
            sensitivity[name] = Sensitivity(
                feature=name,
                partial_r2=0.031,
                robustness_value=0.162,
                robustness_value_alpha=0.085,
                e_value=2.1,
                sentence=(
                    f"An unobserved confounder would have to explain 16.2% of the residual "
                    f"variance of both {name} and {outcome} to bring the effect to zero."
                ),
            )

    shap_values = pd.DataFrame({f: shap[f] for f in features})
    feature_values = frame[list(features)].copy()
    attributions = Attributions(
        by_feature=by_attr,
        shap_values=shap_values,
        feature_values=feature_values,
        explainer="TreeExplainer",
        scale="probability",
        rows_explained=n,
        rows_total=n,
    )
    if reverse_mappings:
        by_effect = dict(reversed(list(by_effect.items())))
        verdicts = dict(reversed(list(verdicts.items())))
        by_attr = dict(reversed(list(by_attr.items())))
    effects = Effects(by_feature=by_effect, seed=seed, seconds={"effects": 12.5})

    refutations = None
    if with_refutations:
        refutations = Refutations(by_feature=by_refute, sensitivity=sensitivity, depth="standard")
    graph_test = None
    if with_graph_test:
        implications = [
            Implication(
                names["education"], names["age"], (), "partial correlation", 0.61, 0.9, False
            ),
            Implication(
                names["zip_risk"], names["income"], (), "partial correlation", 0.33, 0.9, False
            ),
            Implication(
                names["education"],
                names["debt_ratio"],
                (names["income"],),
                "partial correlation",
                0.48,
                0.9,
                False,
            ),
            Implication(
                names["age"],
                names["collections_calls"],
                (outcome,),
                "partial correlation",
                0.2 if fits else 0.0004,
                0.9 if fits else 0.0036,
                not fits,
            ),
        ]
        graph_test = GraphTest(
            method="partial correlation",
            implications=tuple(implications),
            alpha=0.05,
            suggestions=()
            if fits
            else (f"add an edge {names['age']} -> {outcome} or a common cause of both",),
        )
    return Report(
        checked=checked,
        graph=graph,
        effects=effects,
        attributions=attributions,
        verdicts=verdicts,
        refutations=refutations,
        graph_test=graph_test,
        settings={
            "seed": seed,
            "refute": "standard",
            "material_share": 0.05,
            "attribution_factor": 2.0,
            "nuisance": "auto",
            "n_jobs": 2,
        },
        run=dict(RUN if run is None else run),
    )


def _without_run(text: str) -> dict:
    data = json.loads(text)
    data.pop("run")
    return data


class _Collector(HTMLParser):
    """Collects tags, attributes and text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report()


@pytest.fixture(scope="module")
def hostile() -> Report:
    return build_report(hostile=True)


@pytest.fixture(scope="module")
def html(report) -> str:
    return report.to_html()


@pytest.fixture(scope="module")
def hostile_html(hostile) -> str:
    return hostile.to_html()


# ------------------------------------------------------------------------------- JSON


def _is_num(value) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def test_json_follows_the_schema(report):
    data = json.loads(report.to_json())
    # Other features of the report may add keys; these are the ones this schema promises.
    assert set(data) >= {
        "schema_version", "outcome", "outcome_kind", "scale", "n_rows", "dropped_rows",
        "latent", "graph", "settings", "summary", "graph_test", "features", "run",
    }  # fmt: skip
    assert data["schema_version"] == "1.3"
    assert data["outcome"] == "default"
    assert data["outcome_kind"] == "binary"
    assert data["scale"] == "probability"
    assert (data["n_rows"], data["dropped_rows"]) == (400, 3)
    assert data["latent"] == ["neighbourhood"]
    assert set(data["graph"]) == {"nodes", "edges"}
    assert data["graph"]["nodes"] == sorted(data["graph"]["nodes"])
    assert ["default", "collections_calls"] in data["graph"]["edges"]
    assert len(data["graph"]["edges"]) == len(_EDGES)

    expected_settings = {
        "seed": 3, "refute": "standard", "refit": False, "material_share": 0.05,
        "attribution_factor": 2.0,
        "explainer": "TreeExplainer", "rows_explained": 400, "nuisance": "auto",
    }  # fmt: skip
    assert {k: data["settings"].get(k) for k in expected_settings} == expected_settings
    summary = data["summary"]
    assert set(summary) == {"flagged", "verdict_counts", "graph_fits", "findings"}
    assert summary["flagged"] == ["age", "tenure_months", "zip_risk", "collections_calls"]
    assert summary["verdict_counts"] == {
        "fragile": 1, "no_causal_path": 1, "not_identifiable": 1, "over_attributed": 1,
        "sign_conflict": 1, "supported": 2,
    }  # fmt: skip
    assert summary["graph_fits"] is False

    test = data["graph_test"]
    assert set(test) == {"method", "tested", "alpha", "fits", "violations", "suggestions"}
    assert (test["tested"], test["fits"], test["alpha"]) == (4, False, 0.05)
    (violation,) = test["violations"]
    assert violation == {
        "x": "age", "y": "collections_calls", "given": ["default"],
        "test": "partial correlation", "p_value": 0.0004, "p_adjusted": 0.0036,
    }  # fmt: skip
    assert test["suggestions"] == ["add an edge age -> default or a common cause of both"]

    assert [f["name"] for f in data["features"]] == [s[0] for s in _SPEC]
    total = sum(s[7] for s in _SPEC)
    for feature, spec in zip(data["features"], _SPEC, strict=True):
        assert set(feature) >= {
            "name", "kind", "causal_support", "verdict", "flagged", "reasons", "effect",
            "attribution", "identification", "refutations", "sensitivity", "error",
            "reason_summary", "action", "refutation_note",
        }  # fmt: skip
        expected_kind = "binary" if spec[0] == "collections_calls" else "continuous"
        assert feature["kind"] == expected_kind
        assert (feature["verdict"], feature["causal_support"]) == (spec[9], spec[10])
        assert feature["flagged"] is spec[11]
        assert feature["reasons"] == [report.verdicts[spec[0]].reasons[0]]
        assert set(feature["attribution"]) >= {
            "mean_abs_shap", "mean_abs_shap_se", "slope", "slope_se", "rank", "share",
        }  # fmt: skip
        assert feature["attribution"]["rank"] == spec[8]
        assert feature["attribution"]["share"] == pytest.approx(spec[7] / total, rel=1e-5)
        assert set(feature["identification"]) >= {
            "strategy", "adjustment_set", "instruments", "mediators", "blocking_latents",
        }  # fmt: skip
        if feature["effect"] is not None:
            assert set(feature["effect"]) >= {
                "estimate", "ci_low", "ci_high", "p_value", "stderr", "method", "standardized",
            }  # fmt: skip
            assert all(_is_num(feature["effect"][k]) for k in ("estimate", "ci_low", "ci_high"))
            assert feature["effect"]["ci_low"] <= feature["effect"]["estimate"]
        for ref in feature["refutations"]:
            assert set(ref) >= {
                "name", "p_value", "p_adjusted", "passed", "simulations", "distribution", "detail",
            }  # fmt: skip
            assert ref["simulations"] == 50
            assert set(ref["distribution"]) == {"mean", "std", "q025", "q975"}
            assert ref["distribution"]["q025"] < ref["distribution"]["q975"]
        if feature["sensitivity"] is not None:
            assert set(feature["sensitivity"]) == {
                "partial_r2", "robustness_value", "robustness_value_alpha", "e_value", "sentence",
            }  # fmt: skip
        assert feature["error"] is None

    debt = data["features"][1]
    assert debt["effect"]["estimate"] == 0.21
    assert debt["attribution"]["share"] == pytest.approx(0.058 / total, rel=1e-5)
    assert debt["identification"]["adjustment_set"] == ["income"]
    zip_risk = data["features"][5]
    assert zip_risk["effect"] is None and zip_risk["refutations"] == []
    assert zip_risk["identification"]["strategy"] == "none"
    assert zip_risk["identification"]["blocking_latents"] == ["neighbourhood"]
    tenure = data["features"][4]
    assert [r["passed"] for r in tenure["refutations"]] == [False, True, True]

    assert data["run"] == RUN
    assert sum(f["attribution"]["share"] for f in data["features"]) == pytest.approx(1, abs=1e-5)


def test_to_dict_matches_the_json_text_and_keys_are_sorted(report):
    text = report.to_json()
    assert json.loads(text) == report.to_dict()
    assert text.endswith("\n")

    def check(value):
        if isinstance(value, dict):
            assert list(value) == sorted(value)
            for v in value.values():
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)

    check(report.to_dict())


def test_json_is_byte_identical_for_the_same_inputs():
    first = build_report()
    second = build_report(reverse_mappings=True)  # insertion order of mappings must not matter
    assert first.to_json() == second.to_json()
    third = build_report(
        run={"started_at": "2027-02-02T00:00:00+00:00", "seconds": {"effects": 99.0}}
    )
    assert first.to_json() != third.to_json()
    assert _without_run(first.to_json()) == _without_run(third.to_json())
    # Apart from the run object, the texts agree line for line.
    strip = re.compile(r'\n  "run": \{.*?\n  \},?', re.S)
    assert strip.sub("", first.to_json()) == strip.sub("", third.to_json())


def test_run_is_filled_in_when_missing():
    built = build_report(run={})
    run = json.loads(built.to_json())["run"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", run["started_at"])
    # Versions are recorded by the pipeline only; the report adds none of its own.
    assert run["versions"] == {}
    assert run["seconds"] == {"effects": 12.5}
    assert built.to_json() == built.to_json()  # filled once, not at every call


def test_floats_are_rounded_to_six_significant_digits():
    assert clean(
        {"b": 0.123456789, "a": 123456789.0, "c": np.float32(2.5), "d": -0.0, "e": np.int64(7)}
    ) == {"a": 123457000.0, "b": 0.123457, "c": 2.5, "d": 0.0, "e": 7}
    assert clean([True, np.bool_(False), 1e-12 / 3]) == [True, False, 3.33333e-13]


def test_nan_and_infinities_become_null(report):
    name = "income"
    old = report.effects.by_feature[name]
    broken = dataclasses.replace(
        old,
        estimate=dataclasses.replace(
            old.estimate, p_value=math.nan, stderr=math.inf, ci_high=-math.inf
        ),
    )
    attribution = dataclasses.replace(report.attributions.by_feature[name], slope=np.nan)
    patched = dataclasses.replace(
        report,
        effects=dataclasses.replace(
            report.effects, by_feature={**report.effects.by_feature, name: broken}
        ),
        attributions=dataclasses.replace(
            report.attributions, by_feature={**report.attributions.by_feature, name: attribution}
        ),
    )

    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    text = patched.to_json()
    data = json.loads(text, parse_constant=refuse)
    effect = data["features"][0]["effect"]
    assert effect["p_value"] is None and effect["stderr"] is None and effect["ci_high"] is None
    assert effect["estimate"] == -0.0042
    assert data["features"][0]["attribution"]["slope"] is None
    assert "NaN" not in text and "Infinity" not in text
    # The renderers cope with the gaps too.
    assert "| income |" in patched.to_markdown()
    assert '<td class="num">—</td>' in patched.to_html(include_plots=False)
    assert plots.to_svg(_dependence(patched, name)).startswith("<svg")
    assert plots.to_svg(_forest(patched)).startswith("<svg")


def test_error_rows_carry_their_message(report):
    name = "age"
    failed = FeatureEffect(
        feature=name,
        identification=Identification("backdoor"),
        estimate=None,
        status="error",
        message="estimation failed: singular matrix",
    )
    patched = dataclasses.replace(
        report,
        effects=dataclasses.replace(
            report.effects, by_feature={**report.effects.by_feature, name: failed}
        ),
        verdicts={**report.verdicts, name: FeatureVerdict(name, None, "error", ("failed",), False)},
    )
    row = json.loads(patched.to_json())["features"][2]
    assert row["error"] == "estimation failed: singular matrix"
    assert row["verdict"] == "error" and row["effect"] is None
    assert "estimation failed: singular matrix" in patched.to_html(include_plots=False)


def _with_effect(report: Report, name: str, **estimate) -> Report:
    """``report`` with one feature's estimate changed (or added), through the real types."""
    old = report.effects.by_feature[name]
    base = old.estimate or EffectEstimate(
        estimate=0.0, stderr=0.01, ci_low=-0.0196, ci_high=0.0196, p_value=1.0,
        method="LinearDML", n_rows=400,
    )  # fmt: skip
    # An effect with an estimate is "estimated" whatever the verdict says.
    effect = dataclasses.replace(
        old,
        identification=Identification("backdoor"),
        estimate=dataclasses.replace(base, **estimate),
        status="estimated",
    )
    return dataclasses.replace(
        report,
        effects=dataclasses.replace(
            report.effects, by_feature={**report.effects.by_feature, name: effect}
        ),
    )


def test_report_refuses_a_sign_conflict_whose_effect_includes_zero(report):
    # A p-value of 0.23 and an interval across zero: no sign can conflict with that effect.
    with pytest.raises(
        CausalInterpError, match=r"feature 'age' has verdict 'sign_conflict'.*0\.23"
    ):
        _with_effect(report, "age", estimate=-0.0008, ci_low=-0.0021, ci_high=0.0005, p_value=0.23)


def test_report_refuses_a_supported_verdict_with_a_large_p_value(report):
    with pytest.raises(CausalInterpError, match="feature 'income' has verdict 'supported'"):
        _with_effect(report, "income", p_value=0.3)
    with pytest.raises(CausalInterpError, match="feature 'income'"):
        _with_effect(report, "income", ci_high=0.001)  # the interval now includes zero
    # A p-value at the level itself is still significant enough for the judge's interval rule.
    assert _with_effect(report, "income", p_value=0.05).verdicts["income"].verdict == "supported"


def test_report_refuses_no_causal_path_with_an_estimate(report):
    with pytest.raises(CausalInterpError, match="'collections_calls' has verdict 'no_causal_path'"):
        _with_effect(report, "collections_calls", estimate=0.3, ci_low=0.1, ci_high=0.5)


def test_flagged_features_with_causal_support_are_refused(report):
    # The verdict type refuses this itself, so no report can be built with it.
    with pytest.raises(ValueError, match="debt_ratio: flagged although"):
        dataclasses.replace(report.verdicts["debt_ratio"], flagged=True)


def test_report_refuses_a_verdict_filed_under_another_feature(report):
    misfiled = {**report.verdicts, "income": report.verdicts["age"]}
    with pytest.raises(CausalInterpError, match="stored under 'income' is for 'age'"):
        dataclasses.replace(report, verdicts=misfiled)


def test_report_is_frozen_and_copies_its_mappings(report):
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.settings = {}  # type: ignore[misc]
    settings = {"seed": 1}
    built = dataclasses.replace(report, settings=settings)
    settings["seed"] = 2
    assert built.to_dict()["settings"]["seed"] == 1


def test_missing_graph_test_and_refutations():
    built = build_report(with_graph_test=False, with_refutations=False)
    data = built.to_dict()
    assert data["graph_test"] is None
    assert data["summary"]["graph_fits"] is None
    assert all(f["refutations"] == [] and f["sensitivity"] is None for f in data["features"])
    md = built.to_markdown()
    assert "not tested" in md and "Refutation was not run." in md
    html = built.to_html(include_plots=False)
    assert 'class="banner note" id="graph-banner"' in html
    assert "Refutation was not run" in html


# ------------------------------------------------------------------------------ table


def test_table_has_a_row_per_feature_in_model_order(report):
    table = report.table
    assert tuple(table.columns) == TABLE_COLUMNS
    assert list(table["feature"]) == [s[0] for s in _SPEC]
    debt = table.set_index("feature").loc["debt_ratio"]
    assert debt["verdict"] == "over_attributed" and not debt["flagged"]
    assert debt["effect"] == pytest.approx(0.21)
    assert debt["ci_low"] == pytest.approx(0.21 - 1.96 * 0.045)
    assert debt["slope"] == pytest.approx(0.46)
    assert debt["rank"] == 2
    assert debt["strategy"] == "backdoor" and debt["adjustment_set"] == "income"
    assert "twice the causal effect" in debt["reasons"]
    zip_row = table.set_index("feature").loc["zip_risk"]
    assert np.isnan(zip_row["effect"]) and zip_row["causal_support"] is None
    assert table["flagged"].sum() == 4


def test_outcome_and_flagged(report):
    assert report.outcome == "default"
    assert report.flagged == ("age", "tenure_months", "zip_risk", "collections_calls")


# ---------------------------------------------------------------------------- Markdown


def test_markdown_summary(report):
    md = report.to_markdown()
    assert md.splitlines()[0].startswith("### ")
    assert "**7 features**" in md and "2 supported" in md and "**4 flagged**" in md
    assert "debt\\_ratio" in md and "collections\\_calls" in md
    assert "DAG does not fit the data" in md and "1 of 4" in md
    assert "Failing refuters" in md and "placebo treatment" in md
    assert "tenure\\_months" in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(_SPEC)
    assert build_report(fits=True).to_markdown().count("DAG fits the data") == 1


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_escapes_hostile_names(hostile):
    md = hostile.to_markdown()
    assert "<img" not in md and "<script" not in md and "<b>" not in md
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in md
    assert "a\\|b" in md
    assert "back\\`tick\\` \\*bold\\* \\[link\\]\\(http\\://example.com\\)" in md
    assert "âge 年龄 🙂 \\$x\\$" in md  # GitHub would render $x$ as math
    assert "&lt;/title&gt;&lt;script&gt;alert\\(2\\)&lt;/script&gt;" in md
    rows = [line for line in md.splitlines() if line.startswith("|")]
    # Every table row keeps its eight cell borders: no name split a cell.
    assert {_unescaped_pipes(line) for line in rows} == {8}
    assert "`" not in md.replace("\\`", "")


def test_escape_markdown():
    assert escape_markdown("a|b") == "a\\|b"
    assert escape_markdown("x\ny") == "x y"
    assert escape_markdown("<a href='x'>&</a>") == "&lt;a href='x'&gt;&amp;&lt;/a&gt;"
    assert escape_markdown("plain name 1.5") == "plain name 1.5"


# -------------------------------------------------------------------------------- HTML

SECTIONS = ["summary", "effects", "dag", "features", "refutations", "graph-test", "run"]


def test_html_has_every_section_and_plot(report, html):
    parsed = _parse(html)
    ids = {attrs.get("id") for _, attrs in parsed.tags}
    for section in SECTIONS:
        assert section in ids, section
    for index in range(1, len(_SPEC) + 1):
        assert f"feature-{index}" in ids
        assert f"feature-{index}-refutations" in ids
    images = [attrs for tag, attrs in parsed.tags if tag == "img"]
    # forest + DAG + one dependence plot per feature + one refuter plot per refuted feature
    assert len(images) == 2 + len(_SPEC) + 5
    assert all(a["src"].startswith("data:image/svg+xml,") for a in images)
    assert "plot unavailable" not in html
    text = " ".join(parsed.text)
    assert "The DAG does not fit the data." in text
    assert 'class="banner bad" id="graph-banner" role="alert"' in html
    assert "add an edge age -> default or a common cause of both" in text
    assert "An unobserved confounder would have to explain 16.2%" in text
    assert "placebo estimates do not centre on 0" in text
    # flagged rows are marked in the summary table
    rows = html.split('<table class="summary-table">')[1].split("</table>")[0]
    assert rows.count('<tr class="flagged">') == 4 and rows.count('<tr class="ok">') == 3


def test_html_banner_follows_the_graph_test():
    html = build_report(fits=True).to_html(include_plots=False)
    assert 'class="banner good"' in html and 'class="banner bad"' not in html


def test_html_is_self_contained(html):
    parsed = _parse(html)
    assert not [
        t
        for t, _ in parsed.tags
        if t in {"script", "iframe", "object", "embed", "link"}
        and not (t == "link" and _.get("href") == "data:,")
    ]
    for _, attrs in parsed.tags:
        for key in ("src", "href", "action", "srcset", "data"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), (key, value[:60])
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # The page's own markup and styles load nothing; inside the plots, url() only names the
    # plot's own clip paths (a fragment, "#" percent-encoded in the data URI).
    images = re.findall(r'src="(data:image/svg\+xml,[^"]*)"', html)
    assert images
    page = re.sub(r'src="data:image/svg\+xml,[^"]*"', 'src=""', html)
    assert "@import" not in page and "url(" not in page
    for uri in images:
        assert "@import" not in uri
        assert re.findall(r"url\(([^)]*)\)", uri) == re.findall(r"url\((%23[\w-]+)\)", uri)


def test_html_escapes_hostile_names(hostile_html):
    parsed = _parse(hostile_html)
    tags = [t for t, _ in parsed.tags]
    assert "script" not in tags and "b" not in tags
    for tag, attrs in parsed.tags:
        assert "onerror" not in attrs and "onmouseover" not in attrs
        if tag == "img":
            assert attrs["src"].startswith("data:image/svg+xml,")
    text = "".join(parsed.text)
    for name in HOSTILE_NAMES.values():
        assert name in text, name
    assert "&lt;img src=x onerror=alert(1)&gt;" in hostile_html
    assert "<b>latent</b>" not in hostile_html
    title = hostile_html.split("<title>")[1].split("</title>")[0]
    assert "&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in title
    assert "plot unavailable" not in hostile_html


def test_a_failing_plot_degrades_to_a_message(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("renderer exploded on <two> lines\nTraceback details")

    report = build_report(with_refutations=False)
    monkeypatch.setattr(plots, "plot_dependence", boom)
    html = report.to_html()
    # One line (errors.first_line): escaped, the traceback's further lines left out.
    message = "plot unavailable: RuntimeError: renderer exploded on &lt;two&gt; lines<"
    assert "Traceback details" not in html
    assert html.count(message) == len(_SPEC)
    assert 'id="dag"' in html and html.count("data:image/svg+xml,") == 2

    monkeypatch.setattr(plots, "plot_dag", boom)
    html = report.to_html()
    dag = html.split('<section id="dag">')[1].split("</section>")[0]
    assert message in dag and "<img" not in dag
    assert html.count("data:image/svg+xml,") == 1


def test_html_without_plots_keeps_every_table(report):
    html = report.to_html(include_plots=False)
    assert "<img" not in html and "plot unavailable" not in html
    assert html.count("Plot omitted.") == 2 + len(_SPEC)
    assert html.count('<tr class="flagged">') == 4 + 1  # summary rows and the failing refuter
    assert "placebo estimates do not centre on 0" in html


def test_repr_html_is_the_summary_table(report):
    fragment = report._repr_html_()
    assert fragment.lstrip().startswith('<div class="causalinterp-summary">')
    assert "<html" not in fragment and "<img" not in fragment
    assert fragment.count('<tr class="flagged">') == 4
    # Names may wrap between their words (after "_"), never inside one.
    assert "debt_<wbr>ratio" in fragment and "The DAG does not fit the data." in fragment


def test_hostile_repr_html_is_escaped(hostile):
    fragment = hostile._repr_html_()
    assert HOSTILE not in fragment and "&lt;img src=x onerror=alert(1)&gt;" in fragment


# ------------------------------------------------------------------------------ writing


def _folder_listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_write_creates_three_files_and_can_run_twice(report, tmp_path):
    out = tmp_path / "nested" / "out"
    paths = report.write(out, include_plots=False)
    assert set(paths) == {"json", "markdown", "html"}
    assert _folder_listing(out) == ["report.html", "report.json", "report.md"]
    first = (out / "report.json").read_text(encoding="utf-8")
    assert json.loads(first)["outcome"] == "default"
    assert (out / "report.md").read_text(encoding="utf-8") == report.to_markdown()

    other = build_report(fits=True)
    other.write(out, include_plots=False)
    assert _folder_listing(out) == ["report.html", "report.json", "report.md"]
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["summary"]["graph_fits"]
    assert 'class="banner good"' in (out / "report.html").read_text(encoding="utf-8")


def test_failed_render_leaves_old_files_untouched(report, tmp_path, monkeypatch):
    report.write(tmp_path, include_plots=False)
    before = {name: (tmp_path / name).read_bytes() for name in _folder_listing(tmp_path)}

    def broken(self, **kwargs):
        raise RuntimeError("template failure")

    monkeypatch.setattr(html_render, "render_html", broken)
    with pytest.raises(RuntimeError, match="template failure"):
        report.to_html(tmp_path / "report.html")
    with pytest.raises(RuntimeError, match="template failure"):
        build_report(fits=True).write(tmp_path)
    after = {name: (tmp_path / name).read_bytes() for name in _folder_listing(tmp_path)}
    assert after == before  # nothing replaced, no temporary files left


def test_to_json_and_to_html_write_atomically(report, tmp_path):
    text = report.to_json(tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == text
    html = report.to_html(tmp_path / "r.html", include_plots=False)
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == html
    assert _folder_listing(tmp_path) == ["r.html", "r.json"]


def test_write_text_atomic_keeps_the_original_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "file.txt"
    _io.write_text_atomic(target, "old ✓\n")
    target.chmod(0o640)

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(_io.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        _io.write_text_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old ✓\n"
    assert _folder_listing(tmp_path) == ["file.txt"]

    monkeypatch.undo()
    monkeypatch.setattr(_io.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("nope")))
    with pytest.raises(OSError, match="nope"):
        _io.write_text_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old ✓\n"
    assert _folder_listing(tmp_path) == ["file.txt"]

    monkeypatch.undo()
    _io.write_text_atomic(target, "new\r\n")
    assert target.read_bytes() == b"new\r\n"  # no newline translation
    assert target.stat().st_mode & 0o777 == 0o640  # permissions kept


def test_write_text_atomic_new_file_gets_normal_permissions(tmp_path):
    target = _io.write_text_atomic(tmp_path / "new.txt", "x")
    assert target.stat().st_mode & 0o777 == _io._DEFAULT_MODE
    assert target.stat().st_mode & 0o444  # readable, unlike mkstemp's 0o600 default


# -------------------------------------------------------------------------------- plots


def _dag(report: Report) -> Figure:
    return plots.plot_dag(
        report.graph, report.checked, verdicts=report.verdicts, graph_test=report.graph_test
    )


def _dependence(report: Report, feature: str) -> Figure:
    return plots.plot_dependence(
        feature,
        report.effects,
        report.attributions,
        checked=report.checked,
        verdicts=report.verdicts,
    )


def _forest(report: Report) -> Figure:
    return plots.plot_effects_vs_attributions(
        report.effects, report.attributions, report.verdicts, checked=report.checked
    )


def _texts_by_label(fig: Figure) -> dict[str, object]:
    return {t.get_text(): t for t in fig.axes[0].texts if t.get_text()}


def test_plot_dag_marks_flagged_outcome_latent_and_violations(report):
    fig = _dag(report)
    texts = _texts_by_label(fig)
    assert set(texts) == set(report.graph.nodes)

    def box(name):
        return texts[name].get_bbox_patch()

    red = (0xC6 / 255, 0x28 / 255, 0x28 / 255, 1.0)
    assert box("age").get_edgecolor() == pytest.approx(red)
    assert box("debt_ratio").get_edgecolor() != pytest.approx(red)
    assert box("collections_calls").get_edgecolor() == pytest.approx(red)
    assert box("income").get_edgecolor() != pytest.approx(red)
    assert box("default").get_linewidth() > 2
    assert box("neighbourhood").get_linestyle() == "--"
    assert box("income").get_linestyle() == "-"
    arrows = [a.arrow_patch for a in fig.axes[0].texts if getattr(a, "arrow_patch", None)]
    assert len(arrows) == len(_EDGES) + 1  # edges plus the one violation
    violation_arrows = [a for a in arrows if a.get_edgecolor() == pytest.approx(red)]
    assert len(violation_arrows) == 1 and violation_arrows[0].get_linestyle() != "-"
    svg = plots.to_svg(fig)
    assert svg.startswith("<svg") and "</svg>" in svg


def test_dag_layout_is_layered(report):
    pos = plots.dag_layout(report.graph.to_networkx())
    for u, v in report.graph.edges:
        assert pos[u][0] < pos[v][0]  # every edge points right
    assert pos == plots.dag_layout(report.graph.to_networkx())


def test_plot_dependence_draws_the_effect_through_the_mean_point(report):
    fig = _dependence(report, "debt_ratio")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    effect = next(v for k, v in lines.items() if k.startswith("causal effect"))
    slope_line = next(v for k, v in lines.items() if k.startswith("attribution slope"))
    x_mean = report.attributions.feature_values["debt_ratio"].mean()
    y_mean = report.attributions.shap_values["debt_ratio"].mean()
    xs, ys = effect.get_data()
    assert np.polyfit(xs, ys, 1)[0] == pytest.approx(0.21)
    assert np.interp(x_mean, xs, ys) == pytest.approx(y_mean)
    xs, ys = slope_line.get_data()
    assert np.polyfit(xs, ys, 1)[0] == pytest.approx(0.46)
    assert len(ax.collections) == 2  # the scatter and the CI band
    assert fig.legends and len(fig.legends[0].get_texts()) == 5
    plots.to_svg(fig)

    no_effect = _dependence(report, "collections_calls")
    assert any("no causal estimate" in t.get_text() for t in no_effect.axes[0].texts)
    with pytest.raises(ValueError, match="no SHAP values"):
        _dependence(report, "education")


def test_plot_refutation_marks_original_and_expected(report):
    placebo, common_cause, _ = report.refutations.by_feature["tenure_months"]
    fig = plots.plot_refutation(placebo)
    xs = sorted(line.get_xdata()[0] for line in fig.axes[0].get_lines())
    assert xs == pytest.approx(sorted([placebo.original, 0.0]))
    assert "failed" in fig.axes[0].get_title()
    fig = plots.plot_refutation(common_cause)
    xs = [line.get_xdata()[0] for line in fig.axes[0].get_lines()]
    assert xs == pytest.approx([common_cause.original, common_cause.original])
    # The refuter's own expected value is drawn, whatever its name suggests.
    renamed = dataclasses.replace(placebo, name="random_common_cause", expected=0.0)
    xs = sorted(line.get_xdata()[0] for line in plots.plot_refutation(renamed).axes[0].get_lines())
    assert xs == pytest.approx(sorted([placebo.original, 0.0]))
    overridden = plots.plot_refutation(placebo, expected=0.5)
    assert 0.5 in [line.get_xdata()[0] for line in overridden.axes[0].get_lines()]
    empty = dataclasses.replace(placebo, distribution=np.array([]))
    with pytest.raises(ValueError, match="no simulated estimates"):
        plots.plot_refutation(empty)


def test_refuter_rows_share_the_effect_axis(report):
    placebo, common_cause, subset = report.refutations.by_feature["tenure_months"]
    not_run = dataclasses.replace(
        subset, distribution=np.array([]), p_value=np.nan, p_adjusted=np.nan, passed=False
    )
    fig = plots.plot_refutations([placebo, common_cause, not_run])
    ax = fig.axes[0]
    vertical = [line for line in ax.get_lines() if len(set(line.get_xdata())) == 1]
    # The original estimate spans every row; each refuter's expected value marks its own row.
    original = [line for line in vertical if line.get_ydata()[1] - line.get_ydata()[0] == 1]
    assert [line.get_xdata()[0] for line in original] == pytest.approx([placebo.original])
    marks = sorted(line.get_xdata()[0] for line in vertical if line not in original)
    assert marks == pytest.approx(sorted([0.0, common_cause.original]))  # none without runs
    headings = {t.get_text(): t.get_color() for t in ax.texts}
    failed = next(text for text in headings if text.startswith("placebo treatment: failed"))
    assert headings[failed] == plots.RED and "adjusted p = " in failed
    assert any(text.startswith("random common cause: passed") for text in headings)
    assert headings["data subset: not run"] == plots.RED  # not run: not passed
    assert "no simulated estimates" in headings
    # Every simulated estimate of the refuters that ran is drawn, in one rasterized scatter.
    (points,) = ax.collections
    assert len(points.get_offsets()) == placebo.simulations + common_cause.simulations
    assert points.get_rasterized()
    with pytest.raises(ValueError, match="no refuter results"):
        plots.plot_refutations([])


def _clipped_tick_labels(fig: Figure) -> list[str]:
    """The x tick labels drawn (inside the view) whose box leaves the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    low, high = sorted(ax.get_xlim())
    out = []
    for loc, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True):
        if not (low <= loc <= high) or not label.get_text():
            continue  # matplotlib does not draw ticks outside the view
        box = label.get_window_extent(renderer)
        if box.x0 < 0 or box.x1 > fig.bbox.width:
            out.append(label.get_text())
    return out


@pytest.mark.parametrize("centre", [-0.0266, 0.006046, 123456.5, -0.1384])
def test_refuter_histogram_keeps_every_tick_label_inside_the_figure(report, centre):
    # Narrow distributions far from zero have the longest tick labels (e.g. "-0.026625").
    result = dataclasses.replace(
        report.refutations.by_feature["income"][1],
        original=centre,
        expected=centre,
        distribution=np.random.default_rng(0).normal(centre, abs(centre) * 2e-3, 200),
    )
    assert _clipped_tick_labels(plots.plot_refutation(result)) == []


@pytest.mark.parametrize("centre", [-0.0266, 123456.5])
def test_fixed_margin_plots_keep_every_text_inside_the_figure(report, centre):
    # These figures skip the layout pass (it would draw them twice), so their margins must
    # hold the longest tick labels: narrow distributions far from zero (e.g. "-0.026625").
    results = [
        dataclasses.replace(
            result,
            original=centre,
            expected=centre if result.expected else 0.0,
            distribution=np.random.default_rng(0).normal(centre, abs(centre) * 2e-3, 200),
        )
        for result in report.refutations.by_feature["income"]
    ]
    assert texts_outside(plots.plot_refutations(results)) == []
    assert texts_outside(_forest(report)) == []
    from causalinterp.estimate.curves import FeatureCurve
    from causalinterp.render.curves import plot_curve

    x = tuple(centre * (1 + 1e-3 * np.arange(5)))
    curve = FeatureCurve("a_rather_long_feature_name", x, x, x, x, x, x)
    assert texts_outside(plot_curve(curve, outcome="an_outcome_with_a_long_name")) == []
    for feature in report.checked.features:
        assert texts_outside(_dependence(report, feature)) == [], feature


def test_text_width_is_the_width_matplotlib_draws():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from causalinterp.render._figure import text_width

    fig = Figure()
    name = "a_rather_long_feature_name"
    drawn = fig.text(0, 0, name, fontsize=8, fontweight="bold")
    width = drawn.get_window_extent(FigureCanvasAgg(fig).get_renderer()).width / fig.dpi
    assert text_width([name, "short"], 8, bold=True) == pytest.approx(width, rel=0.05)
    assert text_width([name], 8) < text_width([name], 8, bold=True)


def test_dependence_captions_name_only_what_is_drawn(html):
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html, flags=re.S)
    by_text = [" ".join(c.split()) for c in captions]
    estimated = [c for c in by_text if c.startswith("SHAP values") and "causal effect (blue" in c]
    missing = [c for c in by_text if "No causal effect is drawn" in c]
    # 5 estimated features draw the effect; zip_risk and collections_calls draw none.
    assert len(estimated) == 5 and len(missing) == 2
    assert any("no causal path from it to the outcome, so its effect is 0" in c for c in missing)
    assert any("not identifiable" in c for c in missing)
    assert not any("blue" in c for c in missing)


def test_structural_zeros_read_as_zero(report, html):
    md = report.to_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| **collections\\_calls"))
    assert "0 \\(no causal path in the DAG\\)" in row
    table = html.split('<table class="summary-table">')[1].split("</table>")[0]
    assert table.count("no causal path in the DAG") == 1
    # Not identifiable is not zero: it stays a dash.
    zip_row = table.split("zip_<wbr>risk")[1].split("</tr>")[0]
    assert '<td class="num effect">—</td>' in zip_row


def test_findings_of_the_hand_built_report(report):
    found = report.to_dict()["summary"]["findings"]
    assert [(f["kind"], f["feature"]) for f in found] == [
        ("leakage", "collections_calls"),
        ("flagged", "age"),
        ("flagged", "zip_risk"),
        ("flagged", "tenure_months"),
        ("graph", None),
    ]
    assert all(f["action"] and f["text"].endswith(".") for f in found)
    html = report.to_html(include_plots=False)
    assert html.count('<li class="finding kind-') == 5
    md = report.to_markdown()
    assert md.index("**Findings**") < md.index("| feature |")
    assert "5. **Graph**: The DAG does not fit the data" in md


def test_plot_effects_vs_attributions(report):
    fig = _forest(report)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [s[0] for s in reversed(_SPEC)]
    red = [t.get_text() for t in ax.get_yticklabels() if t.get_color() == plots.RED]
    assert sorted(red) == sorted(report.flagged)
    # A structural zero reads as zero; a missing estimate says why it is missing.
    notes = sorted(t.get_text().strip() for t in ax.texts)
    assert notes == ["0 (no causal path in the DAG)", "no estimate (not identifiable)"]
    plots.to_svg(fig)


def test_plots_handle_dollar_signs_and_leave_no_pyplot_figures(hostile):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for make in (
        lambda: _dag(hostile),
        lambda: _dependence(hostile, HOSTILE_NAMES["age"]),
        lambda: _forest(hostile),
    ):
        svg = plots.to_svg(make())
        assert "<script" not in svg and "onerror" not in svg
    assert plt.get_fignums() == before
