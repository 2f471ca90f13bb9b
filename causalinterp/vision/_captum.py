"""Captum adapter: the only module that imports ``captum``.

Integrated Gradients (Sundararajan et al. 2017) attributes the target's logit to pixels along
the straight path from a baseline image; layer Grad-CAM (Selvaraju et al. 2017) weights each
channel of a layer by its spatially averaged gradient. Both are computed for the model's raw
output (the logits, or the probabilities of a model that returns them).
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients, LayerGradCam

__all__ = ["integrated_gradients", "layer_gradcam"]


def integrated_gradients(
    model: torch.nn.Module,
    images: torch.Tensor,
    target: int,
    baseline: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
) -> np.ndarray:
    """Integrated Gradients of output ``target`` per pixel, ``(n, C, H, W)``."""
    explainer = IntegratedGradients(model)
    # Captum evaluates steps x images points; internal_batch_size caps one forward pass.
    attributions = explainer.attribute(
        images,
        baselines=baseline.expand_as(images),
        target=target,
        n_steps=steps,
        internal_batch_size=max(batch_size, steps),
    )
    return attributions.detach().cpu().numpy()


def layer_gradcam(
    model: torch.nn.Module, layer: torch.nn.Module, images: torch.Tensor, target: int
) -> np.ndarray:
    """Layer Grad-CAM of output ``target`` kept per channel, ``(n, C, h, w)``.

    Each channel's map is its activation times its gradient averaged over space; summed over
    channels (and passed through a ReLU) it is the usual Grad-CAM map.
    """
    explainer = LayerGradCam(model, layer)
    maps = explainer.attribute(images, target=target, attr_dim_summation=False)
    return maps.detach().cpu().numpy()
