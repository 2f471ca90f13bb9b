"""The audit's frozen results; they render themselves (``to_dict``, ``write``).

Arrays (activation maps, the images) are kept for the HTML page; ``to_dict`` holds what
``vision.json`` documents (docs/vision.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from causalinterp.verdicts import Verdict

__all__ = ["Carrier", "ChannelResult", "ConceptResult", "LayerResult", "VisionAudit"]

#: A (top, bottom, left, right) pixel box, bottom and right exclusive.
Box = tuple[int, int, int, int]


@dataclass(frozen=True, eq=False)
class ChannelResult:
    """One channel of an audited layer.

    Attributes
    ----------
    index : int
        The channel's index in the layer's output.
    attribution_share : float
        The channel's share of the layer's Grad-CAM attribution of the target (mean absolute
        per-image channel term over the target's images, over the layer's sum).
    attribution : float
        The mean signed Grad-CAM term (positive: the channel's activation speaks for the target).
    ablation_effect, ci_low, ci_high : float
        Mean change of the target's probability on the target's images when the channel is set
        to its mean map over the set, with its 95% bootstrap interval.
    effect_share : float
        ``|ablation_effect|`` over the layer's sum of ``|ablation_effect|``.
    verdict : Verdict
        ``supported``, ``over_attributed``, ``under_attributed`` or ``no_detectable_effect``
        (rule in docs/vision.md).
    flagged : bool
        A material attribution share without a detectable ablation effect.
    top_images : tuple of int
        The images (positions in the analysed set) where the channel's maximum activation is
        highest, highest first, with those maxima in ``top_activations`` and, in ``patches``,
        the input box the maximal unit depends on.
    activation_map : numpy.ndarray
        The channel's activation map ``(h, w)`` for the shown image.
    """

    index: int
    attribution_share: float
    attribution: float
    ablation_effect: float
    ci_low: float
    ci_high: float
    effect_share: float
    verdict: Verdict
    flagged: bool
    top_images: tuple[int, ...]
    top_activations: tuple[float, ...]
    patches: tuple[Box, ...]
    activation_map: np.ndarray = field(repr=False)

    @property
    def causal_support(self) -> bool | None:
        return Verdict(self.verdict).causal_support

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "attribution_share": self.attribution_share,
            "attribution": self.attribution,
            "ablation_effect": self.ablation_effect,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "effect_share": self.effect_share,
            "verdict": str(self.verdict),
            "causal_support": self.causal_support,
            "flagged": self.flagged,
            "top_images": list(self.top_images),
            "top_activations": list(self.top_activations),
            "patches": [list(box) for box in self.patches],
        }


@dataclass(frozen=True, eq=False)
class LayerResult:
    """One audited layer: its channels and the shown image's Grad-CAM map."""

    name: str
    shape: tuple[int, int, int]
    channels: tuple[ChannelResult, ...]
    gradcam_map: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "channels": [c.to_dict() for c in self.channels],
        }


@dataclass(frozen=True, eq=False)
class Carrier:
    """The channels of one layer that carry a concept's effect.

    Attributes
    ----------
    layer : str
    channels : tuple of int
        The carriers, largest share first: channels set to their values on the concept-free
        images (everything else unchanged), added one by one in the order of their shares
        alone until together they reproduce at least half of the concept's effect. Empty when
        even every channel together falls short.
    shares : numpy.ndarray
        Every channel's mediated effect patched alone, as a share of the concept's effect.
    mediated_effect : float
        The change of the target's probability with only the carriers patched.
    share : float
        ``mediated_effect`` over the concept's effect.
    """

    layer: str
    channels: tuple[int, ...]
    shares: np.ndarray = field(repr=False)
    mediated_effect: float = float("nan")
    share: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "channels": list(self.channels),
            "shares_alone": [float(r) for r in self.shares],
            "mediated_effect": self.mediated_effect,
            "share": self.share,
        }


@dataclass(frozen=True, eq=False)
class ConceptResult:
    """One concept's interventions.

    Attributes
    ----------
    name : str
    effect, ci_low, ci_high : float
        Mean change of the target's probability on the target's images when the concept is
        removed, with its 95% bootstrap interval.
    attribution_share : float or None
        Share of the Integrated Gradients mass (absolute, over the target's images) inside the
        concept's mask; None for a concept given by a transform alone.
    material : bool
        Removing the concept lowers the target's probability by at least ``material_effect``
        with 95% confidence (``ci_high <= -material_effect``): the decision leans on it.
    declared_shortcut : bool
        The user declared the concept not part of the object.
    shortcut : bool
        Declared a shortcut and material: the decision depends on it.
    insertion_effect, insertion_ci_low, insertion_ci_high : float or None
        Mean change of the target's probability on the other images when the concept's values
        are written in (None without values).
    carriers : tuple of Carrier
        Per audited layer, the channels that carry the removal effect (for a material one).
    """

    name: str
    effect: float
    ci_low: float
    ci_high: float
    attribution_share: float | None
    material: bool
    declared_shortcut: bool
    shortcut: bool
    n_images: int
    insertion_effect: float | None
    insertion_ci_low: float | None
    insertion_ci_high: float | None
    n_inserted: int
    carriers: tuple[Carrier, ...]
    removed_example: np.ndarray = field(repr=False)
    inserted_example: np.ndarray | None = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "effect": self.effect,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "attribution_share": self.attribution_share,
            "material": self.material,
            "declared_shortcut": self.declared_shortcut,
            "shortcut": self.shortcut,
            "n_images": self.n_images,
            "insertion": None
            if self.insertion_effect is None
            else {
                "effect": self.insertion_effect,
                "ci_low": self.insertion_ci_low,
                "ci_high": self.insertion_ci_high,
                "n_images": self.n_inserted,
            },
            "carriers": [c.to_dict() for c in self.carriers],
        }


@dataclass(frozen=True, eq=False)
class VisionAudit:
    """The result of :func:`causalinterp.vision.audit`.

    Attributes
    ----------
    target : int
        The class audited.
    population : str
        Which images the effects and attributions average over: ``"labelled"`` (labelled as
        the target) or ``"predicted"`` (predicted as the target, when no labels were given).
    n_images, n_target_images : int
        Images analysed, and those of the target.
    view_image : int
        Position (in the images given) of the image whose maps are shown.
    layers, concepts : tuple
        :class:`LayerResult` and :class:`ConceptResult` per audited layer and concept.
    settings : dict
        The options the audit ran with (seed included), and the device.
    seconds : dict
        Wall time per stage.
    notes : tuple of str
        What a reader should know about the run (sampling, small populations).
    images : numpy.ndarray
        The analysed images ``(N, C, H, W)``, for the top-image grids.
    view, ig_map : numpy.ndarray
        The shown image ``(C, H, W)`` and its Integrated Gradients map ``(H, W)``.
    """

    target: int
    population: str
    n_images: int
    n_target_images: int
    view_image: int
    layers: tuple[LayerResult, ...]
    concepts: tuple[ConceptResult, ...]
    settings: dict[str, Any]
    seconds: dict[str, float]
    notes: tuple[str, ...]
    images: np.ndarray = field(repr=False)
    view: np.ndarray = field(repr=False)
    ig_map: np.ndarray = field(repr=False)

    @property
    def shortcuts(self) -> tuple[str, ...]:
        """The names of the concepts flagged as shortcuts."""
        return tuple(c.name for c in self.concepts if c.shortcut)

    def layer(self, name: str) -> LayerResult:
        return next(layer for layer in self.layers if layer.name == name)

    def concept(self, name: str) -> ConceptResult:
        return next(concept for concept in self.concepts if concept.name == name)

    def to_dict(self) -> dict[str, Any]:
        """``vision.json``'s data (schema in docs/vision.md)."""
        from causalinterp.vision import render

        return render.vision_dict(self)

    def to_json(self) -> str:
        from causalinterp.vision import render

        return render.json_text(self)

    def to_markdown(self) -> str:
        from causalinterp.vision import render

        return render.markdown(self)

    def to_html(self) -> str:
        from causalinterp.vision import render

        return render.html(self)

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``vision.json``, ``vision.md`` and ``vision.html`` into ``out_dir`` (created);
        each file is replaced atomically."""
        from causalinterp.vision import render

        return render.write(self, out_dir)
