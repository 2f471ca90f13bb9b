"""Domain logic: directions declared on the DAG, checked on a model, enforced by refitting.

* :func:`derive_directions` — which direction each model feature must follow, from signs on
  the DAG's edges and the model's feature set (:mod:`causalinterp.domain.directions`);
* :func:`verify` — ICE curves and an exact tree check against those directions;
* :func:`constrain` — refit the model with monotone constraints and compare;
* :func:`domain_objects`, :func:`domain_markdown`, :func:`plot_ice` — the report's pieces.

See ``docs/domain-logic.md``. scikit-learn, LightGBM, XGBoost and matplotlib load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Constrained",
    "Direction",
    "Directions",
    "DomainCheck",
    "ExactCheck",
    "FeatureCheck",
    "PathSign",
    "ScoreChange",
    "Verification",
    "constrain",
    "derive_directions",
    "domain_markdown",
    "domain_objects",
    "edge_signs",
    "parse_signs",
    "plot_ice",
    "suggest_direction",
    "verify",
]

#: Public name -> module, imported on first access (``causalinterp --help`` stays fast).
_LAZY = {
    "Constrained": "refit", "ScoreChange": "refit", "constrain": "refit",
    "Direction": "directions", "Directions": "directions", "PathSign": "directions",
    "derive_directions": "directions", "edge_signs": "directions",
    "parse_signs": "directions", "suggest_direction": "directions",
    "domain_markdown": "render", "domain_objects": "render", "plot_ice": "render",
    "ExactCheck": "verification", "FeatureCheck": "verification",
    "Verification": "verification", "verify": "verification", "DomainCheck": "check",
}

if TYPE_CHECKING:
    from causalinterp.domain.check import DomainCheck
    from causalinterp.domain.directions import (
        Direction,
        Directions,
        PathSign,
        derive_directions,
        edge_signs,
        parse_signs,
        suggest_direction,
    )
    from causalinterp.domain.refit import Constrained, ScoreChange, constrain
    from causalinterp.domain.render import domain_markdown, domain_objects, plot_ice
    from causalinterp.domain.verification import ExactCheck, FeatureCheck, Verification, verify


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f"causalinterp.domain.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module 'causalinterp.domain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
