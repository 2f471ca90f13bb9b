"""Image models: which of a convolutional network's evidence is causal for its decision.

For a PyTorch image classifier, a set of images and a target class, :func:`audit` shows each
layer's channels (activation maps, top-activating images and patches), attributes the target to
pixels (Integrated Gradients) and to channels (layer Grad-CAM), ablates every channel of the
chosen layers (each replaced by its mean over the set: a do-intervention) and removes or inserts
user-named concepts, each with a bootstrap interval. A channel gets the tabular audit's
verdicts by comparing its attribution share with its ablation-effect share; a concept the user
declares not part of the object, with a material effect, is flagged as a shortcut.

Needs the vision extra (``pip install -e .[vision]``: PyTorch and Captum). ``import
causalinterp`` never imports them; this package imports them only when one of its names is
used. See docs/vision.md.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChannelResult",
    "Concept",
    "ConceptResult",
    "LayerResult",
    "VisionAudit",
    "audit",
    "load_concept",
    "load_image_model",
    "load_images",
]

_WHERE = {
    "audit": "causalinterp.vision.core",
    "Concept": "causalinterp.vision.inputs",
    "load_concept": "causalinterp.vision.inputs",
    "load_images": "causalinterp.vision.inputs",
    "load_image_model": "causalinterp.vision._export",
    "ChannelResult": "causalinterp.vision.results",
    "ConceptResult": "causalinterp.vision.results",
    "LayerResult": "causalinterp.vision.results",
    "VisionAudit": "causalinterp.vision.results",
}


def __getattr__(name: str) -> Any:
    # Lazily, so that the command line can build its parser (and say what is missing)
    # without importing PyTorch.
    if name not in _WHERE:
        raise AttributeError(f"module 'causalinterp.vision' has no attribute {name!r}")
    from importlib import import_module

    from causalinterp.vision._deps import require_extra

    require_extra()
    return getattr(import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
