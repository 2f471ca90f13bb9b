"""Simulated worlds for the domain-logic tests and benchmark: known directions, planted artefacts.

``price`` raises the outcome and ``income`` lowers it (``income`` also raises ``price``). The
artefact: in the sparse band ``ARTEFACT`` of high prices the outcome drops, so a model fitted
on it learns a curve that falls there, against the declared direction of ``price``.
"""

import numpy as np

from causalinterp.simulators import Mechanism, StructuralModel

SIGNS = {("price", "y"): "+", ("income", "y"): "-", ("income", "price"): "+"}
GRAPH = "income -> price; price -> y; income -> y"
#: Where the planted drop sits on the price axis.
ARTEFACT = (13.0, 15.0)


def _band(price: np.ndarray) -> np.ndarray:
    return ((price > ARTEFACT[0]) & (price < ARTEFACT[1])).astype(float)


def world(kind: str = "continuous", artefact: float = 3.0) -> StructuralModel:
    """``kind`` "continuous" (Gaussian outcome) or "binary" (logistic); ``artefact`` the drop."""
    if kind == "continuous":
        outcome = Mechanism(
            ("price", "income"),
            lambda p, e: 0.6 * p["price"] - 0.8 * p["income"] - artefact * _band(p["price"]) + e,
            noise_scale=0.3,
        )
    else:
        outcome = Mechanism(
            ("price", "income"),
            lambda p, e: 1 / (1 + np.exp(-(0.9 * (p["price"] - 10.5) - 0.9 * p["income"]
                                           - artefact * _band(p["price"])))),
            kind="binary",
        )
    return StructuralModel({
        "income": Mechanism((), lambda p, e: e),
        "price": Mechanism(("income",), lambda p, e: 10.0 + 1.2 * p["income"] + 1.5 * e),
        "y": outcome,
    })
