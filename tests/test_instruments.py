"""Conditional instruments, front-door sets with covariates, first-stage strength and the
Anderson-Rubin set, on simulated data with known effects."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causalinterp.data import check_data
from causalinterp.estimate import estimate_effects
from causalinterp.estimate._dowhy import _api, identify_effect
from causalinterp.estimate.closed_forms import IV_METHOD, estimate_iv
from causalinterp.estimate.instruments import (
    WEAK_F,
    anderson_rubin,
    conditional_frontdoor,
    conditional_instruments,
    first_stage,
)
from causalinterp.graph import CausalGraph
from causalinterp.refute.sensitivity import sensitivity

#: R confounds the instrument Z and the outcome: Z is an instrument only given R.
CONDITIONAL_IV = "R -> Z; R -> Y; Z -> T; U -> T; U -> Y; T -> Y"
TRUE_EFFECT = 1.0


def conditional_iv_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = rng.normal(size=n)
    z = r + rng.normal(size=n)
    u = rng.normal(size=n)
    t = z + u + rng.normal(size=n)
    y = TRUE_EFFECT * t + 2.0 * r + u + rng.normal(size=n)
    return pd.DataFrame({"R": r, "Z": z, "T": t, "Y": y})


# ------------------------------------------------------------------------------ the criterion


def test_dowhy_misses_the_conditional_instrument_and_we_find_it():
    graph = CausalGraph.parse(CONDITIONAL_IV)
    g = graph.to_networkx()
    # DoWhy's search demands no common cause of Z and Y: it finds nothing here.
    assert set(_api().get_instruments(g, ["T"], ["Y"])) & {"R", "Z"} == set()
    ident = identify_effect(graph, "T", "Y", ["R", "Z", "T", "Y"])
    assert ident.strategy == "iv"
    assert ident.instruments == ("Z",) and ident.adjustment_set == ("R",)
    assert ident.conditional
    assert "conditional instrument for T given R" in ident.assumptions
    assert "local average effect" in ident.assumptions


def test_no_instrument_when_the_confounder_of_z_and_y_is_latent():
    # R unobserved: nothing blocks Z <- R -> Y, so Z is no instrument and nothing identifies T.
    graph = CausalGraph.parse(CONDITIONAL_IV)
    assert conditional_instruments(graph.to_networkx(), "T", "Y", ["Z", "T", "Y"]) is None
    ident = identify_effect(graph, "T", "Y", ["Z", "T", "Y"])
    assert ident.strategy == "none" and ident.blocking_latents == ("U",)


def test_instrument_with_a_direct_path_to_the_outcome_is_rejected():
    g = nx.DiGraph([("Z", "T"), ("Z", "Y"), ("U", "T"), ("U", "Y"), ("T", "Y")])
    assert conditional_instruments(g, "T", "Y", ["Z", "T", "Y"]) is None


def test_conditioning_set_never_holds_a_descendant_of_the_treatment():
    # M is a mediator and a child of R: conditioning on it would cut part of the effect.
    g = nx.DiGraph(
        [("R", "Z"), ("R", "Y"), ("Z", "T"), ("U", "T"), ("U", "Y"), ("T", "M"), ("M", "Y")]
    )
    found = conditional_instruments(g, "T", "Y", ["R", "Z", "T", "M", "Y"])
    assert found == (("Z",), ("R",))


def test_collider_instrument_needs_its_other_parent_left_out():
    # Z <- A -> Y and Z -> T: conditioning on A is required; a collider C (Z -> C <- Y) never
    # enters the set because it would open Z -> C <- Y.
    g = nx.DiGraph(
        [("A", "Z"), ("A", "Y"), ("Z", "T"), ("Z", "C"), ("Y", "C"), ("U", "T"), ("U", "Y"),
         ("T", "Y")]
    )  # fmt: skip
    instruments, given = conditional_instruments(g, "T", "Y", ["A", "Z", "C", "T", "Y"])
    assert instruments == ("Z",) and given == ("A",)


def test_front_door_with_an_observed_covariate():
    # C confounds T and M: the plain front-door criterion fails, given C it holds.
    graph = CausalGraph.parse("C -> T; C -> M; T -> M; M -> Y; U -> T; U -> Y")
    g = graph.to_networkx()
    assert not _api().identify_frontdoor(g, ["T"], ["Y"], ["C", "M"])
    assert conditional_frontdoor(g, "T", "Y", ["C", "T", "M", "Y"]) == (("M",), ("C",))
    ident = identify_effect(graph, "T", "Y", ["C", "T", "M", "Y"])
    assert (ident.strategy, ident.mediators, ident.adjustment_set) == ("frontdoor", ("M",), ("C",))
    assert ident.conditional and "given C" in ident.assumptions


def test_front_door_with_covariate_estimate_covers_the_truth():
    rng = np.random.default_rng(0)
    n = 3000
    c, u = rng.normal(size=n), rng.normal(size=n)
    t = c + u + rng.normal(size=n)
    m = 0.8 * t + c + rng.normal(size=n)
    y = 0.5 * m + 1.5 * u + rng.normal(size=n)  # total effect 0.4
    frame = pd.DataFrame({"C": c, "T": t, "M": m, "Y": y})
    graph = CausalGraph.parse("C -> T; C -> M; T -> M; M -> Y; U -> T; U -> Y")
    checked = check_data(frame, graph, "Y", features=["T"])
    effect = estimate_effects(checked, graph, seed=0, nuisance="linear").by_feature["T"]
    assert effect.identification.adjustment_set == ("C",)
    e = effect.estimate
    assert e.ci_low < 0.4 < e.ci_high, e
    # Without C in the second stage the front-door estimate is biased (C -> M, C -> T -> ...).
    naive = estimate_effects(
        check_data(frame, graph, "Y", features=["T"]),
        CausalGraph.parse("T -> M; M -> Y; U -> T; U -> Y"),
        seed=0,
        nuisance="linear",
    ).by_feature["T"].estimate
    assert not naive.ci_low < 0.4 < naive.ci_high, naive


# ------------------------------------------------------------------------------ estimation


def test_conditional_instrument_estimate_covers_the_truth_and_unconditional_use_is_biased():
    frame = conditional_iv_data(3000, seed=1)
    graph = CausalGraph.parse(CONDITIONAL_IV)
    checked = check_data(frame, graph, "Y", features=["T"])
    effect = estimate_effects(checked, graph, seed=0, nuisance="linear").by_feature["T"]
    e = effect.estimate
    assert e.ci_low < TRUE_EFFECT < e.ci_high, e
    assert e.first_stage is not None and not e.first_stage.weak
    # The same instrument without R as a control: Z <- R -> Y biases it upwards (to about 2).
    y, t, z = (frame[c].to_numpy() for c in ("Y", "T", "Z"))
    biased = estimate_iv(y, t, z, None, treatment_kind="continuous",
                         outcome_kind="continuous", seed=0, nuisance="linear")  # fmt: skip
    assert biased.ci_low > TRUE_EFFECT + 0.5, biased
    # Back-door adjustment for the observed R is biased too (U is latent).
    assert abs(e.estimate - TRUE_EFFECT) < 0.15


def test_iv_and_front_door_get_no_backdoor_sensitivity_sentence():
    frame = conditional_iv_data(1000, seed=2)
    graph = CausalGraph.parse(CONDITIONAL_IV)
    checked = check_data(frame, graph, "Y", features=["T", "R"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear")
    iv = sensitivity(effects.by_feature["T"], checked, 0.05)
    assert iv.sentence.startswith("No confounding sensitivity analysis")
    assert "Z reaching Y only through T" in iv.sentence
    assert np.isnan(iv.robustness_value)
    backdoor = sensitivity(effects.by_feature["R"], checked, 0.05)
    assert backdoor.sentence.startswith("A hidden confounder would need")
    assert 0 < backdoor.robustness_value < 1


# ------------------------------------------------------------------- first stage and AR set


def weak_iv(n: int, pi: float, rng: np.random.Generator, noise: float = 1.0):
    """Instrument z of strength ``pi``, covariate w, latent u; effect 1. A small ``noise``
    makes u dominate both errors (strong endogeneity: where the Wald interval fails)."""
    z = rng.normal(size=n)
    w = rng.normal(size=n)
    u = rng.normal(size=n)
    t = pi * z + w + u + noise * rng.normal(size=n)
    y = 1.0 * t + w + 2.0 * u + noise * rng.normal(size=n)
    return y, t, z, w


def test_first_stage_f_matches_its_expectation_and_flags_weakness():
    rng = np.random.default_rng(0)
    n = 4000
    _, t, z, w = weak_iv(n, 0.3, rng)
    strong = first_stage(t, z, w)
    # The first-stage error has variance 2: F is about n pi^2 / 2 = 180 (sd about 20).
    assert 120 < strong.f_statistic < 250 and not strong.weak
    assert 0.03 < strong.partial_r2 < 0.06  # pi^2 / (pi^2 + 2) = 0.043
    weak = first_stage(*weak_iv(n, 0.02, rng)[1:])
    assert weak.f_statistic < WEAK_F and weak.weak
    # Several instruments: the effective F is reported (one strong, one useless).
    _, t, z, w = weak_iv(n, 0.3, rng)
    both = first_stage(t, np.column_stack([z, rng.normal(size=n)]), w)
    assert both.n_instruments == 2 and 40 < both.f_statistic < strong.f_statistic


def test_anderson_rubin_covers_at_the_nominal_rate_where_wald_does_not():
    rng = np.random.default_rng(7)
    n, reps, pi = 400, 300, 0.05  # expected first-stage F about 1 + 400 pi^2 / 1.09 = 1.9
    ar_cover = wald_cover = unbounded = 0
    for _ in range(reps):
        y, t, z, w = weak_iv(n, pi, rng, noise=0.3)
        ar = anderson_rubin(y, t, z, w)
        if ar.shape == "interval":
            ar_cover += ar.low <= 1.0 <= ar.high
        elif ar.shape == "whole_line":
            ar_cover += 1
            unbounded += 1
        else:  # two rays: the truth is covered when it is outside the excluded gap
            unbounded += 1
            ar_cover += _in_two_rays(y, t, z, w, 1.0)
        # The textbook 2SLS Wald interval, for contrast.
        wald_cover += _wald_covers(y, t, z, w, 1.0)
    assert 0.92 <= ar_cover / reps <= 0.98, ar_cover / reps
    assert wald_cover / reps < 0.85, wald_cover / reps
    assert unbounded > 0  # an unbounded set is an honest answer with such an instrument


def _in_two_rays(y, t, z, w, beta: float) -> bool:
    from scipy import stats

    from causalinterp.estimate.instruments import _residualise

    e = _residualise(y - beta * t, w[:, None])
    zr = _residualise(z[:, None], w[:, None])
    coef, *_ = np.linalg.lstsq(zr, e, rcond=None)
    fitted = zr @ coef
    dof = len(y) - 1 - 2
    f = float(fitted @ fitted) / (float((e - fitted) @ (e - fitted)) / dof)
    return f <= stats.f.ppf(0.95, 1, dof)


def _wald_covers(y, t, z, w, beta: float) -> bool:
    from causalinterp.estimate.instruments import _residualise

    yr, tr = _residualise(y, w[:, None]), _residualise(t, w[:, None])
    zr = _residualise(z, w[:, None])
    b = float(zr @ yr) / float(zr @ tr)
    resid = yr - b * tr
    se = np.sqrt(np.sum(zr**2 * resid**2)) / abs(float(zr @ tr))
    return abs(b - beta) <= 1.96 * se


def test_weak_instrument_estimate_reports_the_anderson_rubin_set():
    rng = np.random.default_rng(3)
    y, t, z, w = weak_iv(600, 0.05, rng)
    e = estimate_iv(y, t, z, w, treatment_kind="continuous", outcome_kind="continuous",
                    seed=0, nuisance="linear")  # fmt: skip
    assert e.first_stage.weak
    assert "Anderson-Rubin" in e.method and e.anderson_rubin is not None
    assert (e.ci_low, e.ci_high) == (e.anderson_rubin.low, e.anderson_rubin.high)
    assert e.p_value == pytest.approx(e.anderson_rubin.p_value_zero)


def test_strong_instrument_keeps_the_analytic_interval():
    rng = np.random.default_rng(5)
    y, t, z, w = weak_iv(2000, 0.8, rng)
    e = estimate_iv(y, t, z, w, treatment_kind="continuous", outcome_kind="continuous",
                    seed=0, nuisance="linear")  # fmt: skip
    assert not e.first_stage.weak and e.anderson_rubin is None
    assert e.ci_low < 1.0 < e.ci_high and e.method == IV_METHOD
    # The AR interval agrees with it when the instrument is strong.
    ar = anderson_rubin(y, t, z, w)
    assert ar.shape == "interval"
    assert abs((ar.high - ar.low) / (e.ci_high - e.ci_low) - 1) < 0.3


def test_a_failed_first_stage_is_recorded_not_silent(monkeypatch):
    # The diagnostics fail (here: a singular first stage): the estimate keeps its Wald
    # interval, but its method and the verdict's reasons say the instruments' strength is
    # unknown, and why.
    from types import SimpleNamespace

    from causalinterp.estimate import instruments

    def singular(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    rng = np.random.default_rng(5)
    y, t, z, w = weak_iv(2000, 0.05, rng)
    monkeypatch.setattr(instruments, "first_stage", singular)
    e = estimate_iv(y, t, z, w, treatment_kind="continuous", outcome_kind="continuous",
                    seed=0, nuisance="linear")  # fmt: skip
    assert e.first_stage is None and e.anderson_rubin is None
    assert e.method == f"{IV_METHOD}; {instruments.UNKNOWN_STRENGTH} (Singular matrix)"
    assert np.isfinite(e.ci_low) and np.isfinite(e.ci_high)  # the Wald interval, kept
    effect = SimpleNamespace(
        identification=SimpleNamespace(strategy="iv", assumptions="", instruments=("Z",)),
        estimate=e,
    )
    (reason,) = instruments.instrument_reasons(effect)
    assert reason == (
        f"instrument(s) Z: {instruments.UNKNOWN_STRENGTH} (Singular matrix); if they are "
        "weak the interval is too narrow"
    )


# ------------------------------------------------------------------------------ the report


def test_report_names_instrument_conditioning_set_strength_and_latents():
    from causalinterp import analyze

    rng = np.random.default_rng(3)
    n = 600
    r, u = rng.normal(size=n), rng.normal(size=n)
    z = r + rng.normal(size=n)
    t = 0.05 * z + u + 0.3 * rng.normal(size=n)  # a weak conditional instrument
    y = t + 2.0 * r + 2.0 * u + 0.3 * rng.normal(size=n)
    frame = pd.DataFrame({"R": r, "Z": z, "T": t, "Y": y})
    dot = "digraph { U [latent=true]; R -> Z; R -> Y; Z -> T; U -> T; U -> Y; T -> Y }"
    report = analyze(frame, dot, "Y", features=["T", "R"], refute="none", nuisance="linear",
                     test_graph=False, seed=0)  # fmt: skip
    data = report.to_dict()
    assert (data["latent_declared"], data["latent_undeclared"]) == (["U"], [])
    row = next(f for f in data["features"] if f["name"] == "T")
    assert row["identification"]["conditional"] is True
    assert row["identification"]["adjustment_set"] == ["R"]
    assert "Z is a conditional instrument for T given R" in row["identification"]["assumptions"]
    assert row["effect"]["first_stage"]["weak"] is True
    assert row["effect"]["anderson_rubin"]["shape"] != "interval"  # unbounded here
    assert (row["effect"]["ci_low"], row["effect"]["ci_high"]) == (None, None)
    # An unbounded set cannot tell: inconclusive, support null, the cause named first.
    assert row["verdict"] == "inconclusive" and row["causal_support"] is None
    assert row["reason_summary"].startswith("weak instrument (F = ")
    assert any(reason.startswith("weak instrument(s) Z") for reason in row["reasons"])
    assert row["sensitivity"]["robustness_value"] is None
    html = report.to_html(include_plots=False)
    assert "Anderson-Rubin" in html and "Z is a conditional instrument for T given R" in html
    assert "−∞, ∞" in report.to_markdown()  # the unbounded interval, not a dash
