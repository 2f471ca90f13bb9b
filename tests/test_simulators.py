"""The simulators' ground truth: interventions give the effects the mechanisms imply."""

import numpy as np
import pytest

from causalinterp.simulators import Mechanism, StructuralModel, retention_model


def linear_model():
    return StructuralModel(
        {
            "u": Mechanism((), lambda p, e: e),
            "z": Mechanism(("u",), lambda p, e: 0.8 * p["u"] + e),
            "t": Mechanism(("z",), lambda p, e: 1 / (1 + np.exp(-p["z"])), kind="binary"),
            "m": Mechanism(("t",), lambda p, e: 2.0 * p["t"] + e),
            "y": Mechanism(("m", "z", "t"), lambda p, e: 1.5 * p["m"] - 0.5 * p["t"] + p["z"] + e),
        },
        latent=("u",),
    )


def test_true_effect_of_binary_treatment_is_direct_plus_mediated():
    assert linear_model().true_effect("t", "y", n=20_000) == pytest.approx(2.0 * 1.5 - 0.5)


def test_true_effect_of_continuous_treatment_is_per_unit():
    assert linear_model().true_effect("m", "y", n=20_000) == pytest.approx(1.5)
    assert linear_model().true_effect("z", "m", n=20_000) > 0  # through t, a probability


def test_non_causes_have_zero_effect():
    assert linear_model().true_effect("m", "z", n=5_000) == 0.0


def test_latent_variables_are_hidden_unless_asked_and_seeds_reproduce():
    model = linear_model()
    assert "u" not in model.sample(10, seed=3)
    assert "u" in model.sample(10, seed=3, include_latent=True)
    assert model.sample(50, seed=3).equals(model.sample(50, seed=3))
    assert not model.sample(50, seed=3).equals(model.sample(50, seed=4))


def test_interventions_keep_the_other_variables_random_numbers():
    model = linear_model()
    natural = model.sample(100, seed=1)
    shifted = model.sample(100, seed=1, interventions={"m": lambda m: m + 1})
    assert np.allclose(shifted["z"], natural["z"])
    assert np.allclose(shifted["y"] - natural["y"], 1.5)


def test_retention_structure_matches_its_story():
    model = retention_model()
    graph = model.graph
    assert graph.latent(model.sample(5, seed=0).columns) == {"frustration"}
    assert "churned" in graph.parents("cancel_page_visits")
    assert not graph.has_directed_path("premium_device", "churned")
    truth = {
        f: model.true_effect(f, "churned", n=100_000)
        for f in ("premium_device", "cancel_page_visits", "loyalty_discount", "monthly_bill")
    }
    assert truth["premium_device"] == 0.0 and truth["cancel_page_visits"] == 0.0
    # discount: direct -0.04 plus -15 dollars x 0.006 per dollar through the bill
    assert truth["loyalty_discount"] == pytest.approx(-0.04 - 15 * 0.006, abs=0.004)
    assert truth["monthly_bill"] == pytest.approx(0.006, abs=0.0003)
