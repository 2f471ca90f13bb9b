"""Do-interventions inside the network and on the images, their intervals, and the channel rule.

A unit ablation sets one channel of a layer to its mean map over the image set,
``do(A_c = mean A_c)``, on every image of the target class, and measures the mean change of the
target's probability. A concept removal fills the concept's pixels (or applies the user's
transform); an insertion writes the concept into the other classes' images. Every effect is a
mean of per-image differences with a percentile bootstrap interval; all effects of one audit
share the same bootstrap resamples, so their intervals are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from causalinterp.verdicts import Verdict
from causalinterp.vision.network import Network

__all__ = [
    "CARRIER_SHARE",
    "NEGLIGIBLE_EFFECT",
    "Effect",
    "ablate_channel",
    "carriers",
    "channel_verdict",
    "effect",
]

#: An effect whose interval lies within this distance of 0 (a tenth of a percentage point of
#: probability) is not detectable, however narrow its interval: a deterministic network makes
#: even negligible changes "significant".
NEGLIGIBLE_EFFECT = 1e-3
#: The carriers of a concept: the fewest most responsive channels that, set to their values
#: without the concept, reproduce at least this share of its effect.
CARRIER_SHARE = 0.5
_LEVEL = 0.95


@dataclass(frozen=True)
class Effect:
    """A mean per-image change with its 95% percentile bootstrap interval."""

    mean: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def detectable(self) -> bool:
        """The interval excludes 0 and reaches beyond :data:`NEGLIGIBLE_EFFECT`."""
        excludes = self.ci_low > 0 or self.ci_high < 0
        return excludes and max(abs(self.ci_low), abs(self.ci_high)) >= NEGLIGIBLE_EFFECT


def effect(differences: np.ndarray, resamples: np.ndarray) -> Effect:
    """The mean of ``differences`` with an interval from ``resamples`` (rows of indices).

    Examples
    --------
    >>> rows = np.random.default_rng(0).integers(0, 4, size=(200, 4))
    >>> e = effect(np.array([-0.2, -0.3, -0.2, -0.2]), rows)
    >>> round(e.mean, 3), e.ci_high < 0
    (-0.225, True)
    """
    differences = np.asarray(differences, dtype=float)
    means = differences[resamples].mean(axis=1)
    tail = (1 - _LEVEL) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Effect(float(differences.mean()), float(low), float(high), len(differences))


def resamples(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` bootstrap resamples of ``n`` items, as rows of indices."""
    return rng.integers(0, n, size=(count, n))


def ablate_channel(
    net: Network, images: np.ndarray, layer: str, channel: int, value: torch.Tensor
) -> np.ndarray:
    """Class probabilities with ``channel`` of ``layer`` set to ``value`` (its mean map)."""

    def patch(out: torch.Tensor, _rows: slice) -> torch.Tensor:
        out = out.clone()
        out[:, channel] = value
        return out

    return net.probabilities(images, layer, patch)


def carriers(
    net: Network,
    images: np.ndarray,
    removed: np.ndarray,
    layer: str,
    target: int,
    base: np.ndarray,
    total: float,
) -> tuple[np.ndarray, list[int], float]:
    """The channels of ``layer`` that carry a concept's effect (activation patching).

    A channel is patched when it takes its value on the concept-free image while everything
    else stays as on the original. Each channel patched alone gives its mediated effect; then
    channels are patched jointly, largest mediated effect (in the direction of ``total``)
    first, until together they reproduce :data:`CARRIER_SHARE` of the concept's effect
    ``total``. Joint patching matters because channels back each other up: one alone may
    change little where two together change much.

    Returns
    -------
    alone : numpy.ndarray
        Each channel's mediated effect patched alone, as a share of ``total``.
    carrying : list of int
        The carriers, largest share first; empty when even every channel together falls short.
    mediated : float
        The mean change of the target's probability with the carriers patched (with every
        channel when there are none).
    """
    free = torch.cat([act for _rows, act in net.activations(removed, layer)])

    def patched(channels: list[int]) -> float:
        chosen = torch.as_tensor(channels, device=free.device)

        def patch(out: torch.Tensor, rows: slice) -> torch.Tensor:
            out = out.clone()
            out[:, chosen] = free[rows][:, chosen]
            return out

        return float((net.probabilities(images, layer, patch)[:, target] - base).mean())

    if total == 0:
        return np.zeros(free.shape[1]), [], 0.0
    alone = np.array([patched([c]) for c in range(free.shape[1])]) / total
    order = [int(c) for c in np.argsort(-alone, kind="stable")]
    mediated = 0.0
    for k in range(1, len(order) + 1):
        mediated = alone[order[0]] * total if k == 1 else patched(order[:k])
        if mediated / total >= CARRIER_SHARE:
            return alone, order[:k], mediated
    return alone, [], mediated


def channel_verdict(
    share: float,
    ablation: Effect,
    total_effect: float,
    *,
    material_share: float,
    factor: float,
) -> tuple[Verdict, bool, float]:
    """A channel's verdict, whether it is flagged, and its effect share.

    The rule, the first that holds decides (docs/vision.md):

    1. ``no_detectable_effect``: the ablation's interval includes 0 (or stays within
       :data:`NEGLIGIBLE_EFFECT` of it); flagged when the attribution share is material.
    2. ``over_attributed``: share > factor x the effect share at the interval's far end.
    3. ``under_attributed``: share < the effect share at the interval's near end / factor.
    4. ``supported``.

    Effect shares divide by ``total_effect``, the layer's sum of absolute mean effects.
    Signs are not compared: Grad-CAM measures a channel against a silent one, the ablation
    against the channel's mean, so their signs answer different questions.

    Examples
    --------
    >>> channel_verdict(0.30, Effect(-0.2, -0.25, -0.15, 50), 0.4, material_share=0.05,
    ...                 factor=1.5)
    (<Verdict.SUPPORTED: 'supported'>, False, 0.5)
    >>> channel_verdict(0.30, Effect(0.0, -0.01, 0.01, 50), 0.4, material_share=0.05,
    ...                 factor=1.5)[:2]
    (<Verdict.NO_DETECTABLE_EFFECT: 'no_detectable_effect'>, True)
    """
    effect_share = abs(ablation.mean) / total_effect if total_effect > 0 else 0.0
    if not ablation.detectable or total_effect <= 0:
        return Verdict.NO_DETECTABLE_EFFECT, share >= material_share, effect_share
    near, far = sorted((abs(ablation.ci_low), abs(ablation.ci_high)))
    if share > factor * far / total_effect:
        return Verdict.OVER_ATTRIBUTED, False, effect_share
    if share < near / total_effect / factor:
        return Verdict.UNDER_ATTRIBUTED, False, effect_share
    return Verdict.SUPPORTED, False, effect_share
