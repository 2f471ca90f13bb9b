"""Estimands (ate, att, atc) of a binary treatment: estimates against simulated truths, the
option through analyze/CLI/case.toml, and the attribution compared on the same population."""

from __future__ import annotations

import argparse
import inspect
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from causalinterp import options
from causalinterp.data import check_data
from causalinterp.errors import OptionError
from causalinterp.estimate import estimate_effects
from causalinterp.estimate._econml import DoublyRobustNuisances
from causalinterp.estimate.estimands import (
    population_estimate,
    population_slope,
    population_weights,
)
from causalinterp.graph import CausalGraph
from causalinterp.pipeline import analyze

GRAPH = "x -> t; x -> y; t -> y"


def heterogeneous(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Selection on x and an effect 1 + x that grows with x: ATT > ATE > ATC.

    Returns the data and the sample truths (means of the unit effects over each population).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-(0.8 * x)))
    t = (rng.random(n) < p).astype(float)
    effect = 1.0 + x
    y = 0.5 * x + t * effect + rng.normal(size=n)
    truth = {
        "ate": float(effect.mean()),
        "att": float(effect[t == 1].mean()),
        "atc": float(effect[t == 0].mean()),
    }
    return pd.DataFrame({"x": x, "t": t.astype(int), "y": y}), truth


def test_population_estimates_cover_at_about_the_nominal_rate():
    # Oracle nuisances (true outcome means and propensity): only the influence-function
    # variance is tested, over 300 simulated data sets.
    hits = {"ate": 0, "att": 0, "atc": 0}
    reps = 300
    for seed in range(reps):
        rng = np.random.default_rng(seed)
        n = 800
        x = rng.normal(size=n)
        p = 1.0 / (1.0 + np.exp(-x))
        t = (rng.random(n) < p).astype(float)
        y = x + t * (1.0 + x) + rng.normal(size=n)
        truth = {"ate": 1.0, "att": 1.0 + _mean_x_given(1), "atc": 1.0 + _mean_x_given(0)}
        for estimand in hits:
            e = population_estimate(y, t, x, 1.0 + 2.0 * x, p, estimand=estimand)
            hits[estimand] += e.ci_low <= truth[estimand] <= e.ci_high
    for estimand, count in hits.items():
        assert 0.91 <= count / reps <= 0.985, (estimand, count / reps)


def _mean_x_given(arm: int) -> float:
    # E[x | t = arm] for x ~ N(0, 1), P(t = 1 | x) = logistic(x), by quadrature.
    grid = np.linspace(-8, 8, 20001)
    density = np.exp(-(grid**2) / 2)
    p = 1.0 / (1.0 + np.exp(-grid))
    weight = density * (p if arm == 1 else 1 - p)
    return float(np.sum(grid * weight) / np.sum(weight))


@pytest.mark.parametrize("estimand", ["ate", "att", "atc"])
def test_estimate_effects_covers_each_estimands_truth(estimand):
    data, truth = heterogeneous(3000, seed=1)
    graph = CausalGraph.parse(GRAPH)
    checked = check_data(data, graph, "y", features=["t"])
    effects = estimate_effects(checked, graph, seed=0, nuisance="linear", estimand=estimand)
    e = effects.by_feature["t"].estimate
    assert e.ci_low <= truth[estimand] <= e.ci_high, (e, truth[estimand])
    assert effects.estimand == estimand
    if estimand != "ate":
        assert f"doubly robust {estimand.upper()}" in e.method
    # The three truths are far apart (about 1.35 / 1.0 / 0.65): the estimate is not the others'.
    others = [v for k, v in truth.items() if k != estimand]
    assert all(not (e.ci_low <= v <= e.ci_high) for v in others)


def test_estimand_is_an_option_of_analyze_cli_and_case():
    spec = options.option("estimand")
    assert spec.choices == ("ate", "att", "atc") and spec.default == "ate" and spec.case
    assert inspect.signature(analyze).parameters["estimand"].default == "ate"
    parser = argparse.ArgumentParser()
    options.add_arguments(parser, ["estimand"])
    assert parser.parse_args(["--estimand", "att"]).estimand == "att"
    assert options.from_case({"estimand": "atc"}, ["estimand"], "case.toml") == {"estimand": "atc"}
    with pytest.raises(OptionError, match="estimand"):
        options.from_case({"estimand": "att2"}, ["estimand"], "case.toml")


def test_unknown_estimand_is_one_line_error_naming_it():
    data, _ = heterogeneous(200, seed=2)
    graph = CausalGraph.parse(GRAPH)
    checked = check_data(data, graph, "y", features=["t"])
    message = r"^estimand: unknown value 'treated'; did you mean 'ate'\?$"
    with pytest.raises(OptionError, match=message) as info:
        estimate_effects(checked, graph, estimand="treated")
    assert "\n" not in str(info.value)


def test_attribution_slope_is_taken_on_the_effects_population():
    # A model whose implied effect is 1 + x: interventional SHAP of t is (1 + x)(t - mean t).
    # Over all rows its slope is about the ATE; weighted to the treated, about the ATT.
    data, truth = heterogeneous(20000, seed=3)
    x, t = data["x"].to_numpy(), data["t"].to_numpy(dtype=float)
    p = 1.0 / (1.0 + np.exp(-(0.8 * x)))
    shap = (1.0 + x) * (t - t.mean())
    nuisances = DoublyRobustNuisances(t=t, y=data["y"].to_numpy(), y0=x, y1=x, propensity=p)
    attributions = SimpleNamespace(shap_values=pd.DataFrame({"t": shap}, index=data.index))
    checked = SimpleNamespace(frame=data)
    for estimand in ("att", "atc"):
        effects = SimpleNamespace(estimand=estimand, nuisances={"t": nuisances})
        slope = population_slope(effects, attributions, checked, "t")
        assert slope == pytest.approx(truth[estimand], abs=0.06), estimand
    effects = SimpleNamespace(estimand="ate", nuisances={"t": nuisances})
    assert math.isnan(population_slope(effects, attributions, checked, "t"))
    plain = np.polyfit(t, shap, 1)[0]
    assert abs(plain - truth["att"]) > 0.3  # the unweighted slope would have missed it


def test_population_weights_make_controls_look_treated():
    rng = np.random.default_rng(4)
    x = rng.normal(size=50000)
    p = 1.0 / (1.0 + np.exp(-x))
    t = (rng.random(x.size) < p).astype(float)
    w = population_weights(t, p, estimand="att")
    reweighted = np.average(x[t == 0], weights=w[t == 0])
    assert reweighted == pytest.approx(x[t == 1].mean(), abs=0.03)
    assert abs(x[t == 0].mean() - x[t == 1].mean()) > 0.5
