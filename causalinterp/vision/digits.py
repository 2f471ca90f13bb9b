"""A tiny convolutional network on scikit-learn's bundled 8x8 digits, with a planted shortcut.

The world the vision tests, benchmark and case study use: nothing is downloaded (the digits
ship with scikit-learn) and the network trains in a second or two on a CPU. With ``plant=True``
a bright 2x2 marker sits in the top-left corner of most training images of one class, a
shortcut the network learns to read instead of (or beside) the digit's strokes; the marker is
never part of a digit. The evaluation images carry the marker the same way whether or not the
model was trained with it, so an unplanted model meets the marker too and must ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from causalinterp.vision.inputs import Concept

__all__ = ["DigitsCNN", "DigitsWorld", "marker_concept", "planted_digits"]

#: The class whose images carry the marker.
MARKED_CLASS = 3
#: Share of the marked class's images that carry it.
MARKED_SHARE = 0.95
MARKER = (slice(0, 2), slice(0, 2))


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions (8 and 16 channels), a 2x2 max pool and a linear read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc(x.flatten(1))


def marker_mask() -> np.ndarray:
    """The marker's pixels, ``(8, 8)`` booleans."""
    mask = np.zeros((8, 8), dtype=bool)
    mask[MARKER] = True
    return mask


def marker_concept() -> Concept:
    """The corner marker as a concept: its mask, its (white) pixels, declared a shortcut."""
    mask = marker_mask()
    return Concept("corner marker", mask=mask, values=mask.astype(np.float32), shortcut=True)


@dataclass(frozen=True, eq=False)
class DigitsWorld:
    """A trained digits network and its held-out images.

    Attributes
    ----------
    model : DigitsCNN
        Trained, in evaluation mode.
    images, labels : numpy.ndarray
        The held-out half: ``(N, 1, 8, 8)`` in [0, 1], and the digits.
    marked : numpy.ndarray
        Which held-out images carry the marker.
    planted : bool
        Whether the training images carried it.
    accuracy : float
        Held-out accuracy.
    """

    model: DigitsCNN
    images: np.ndarray
    labels: np.ndarray
    marked: np.ndarray
    planted: bool
    accuracy: float


def _mark(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    marked = (labels == MARKED_CLASS) & (rng.random(len(labels)) < MARKED_SHARE)
    images[marked, 0, MARKER[0], MARKER[1]] = 1.0
    return marked


def planted_digits(seed: int = 0, *, plant: bool = True, epochs: int = 12) -> DigitsWorld:
    """Train the digits network, with or without the planted marker.

    Parameters
    ----------
    seed : int
        Seeds the split, the marking and the network's training.
    plant : bool, default True
        Put the marker on most training images of :data:`MARKED_CLASS`.
    epochs : int
        Passes over the training half.

    Returns
    -------
    DigitsWorld
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    # One generator each for the split and the two markings: planting or not leaves the
    # split and the held-out images' markers the same.
    split, train_marks, test_marks = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    order = split.permutation(len(labels))
    train, test = order[: len(order) // 2], order[len(order) // 2 :]
    x_train, y_train = images[train].copy(), labels[train]
    x_test, y_test = images[test].copy(), labels[test]
    if plant:
        _mark(x_train, y_train, train_marks)
    marked = _mark(x_test, y_test, test_marks)

    threads = torch.get_num_threads()
    # Batches of 64 tiny images: one thread is faster than several contending for the cores.
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = DigitsCNN()
        optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
        xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
        generator = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            for batch in torch.randperm(len(yt), generator=generator).split(64):
                optimiser.zero_grad()
                nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
                optimiser.step()
        model.eval()
        with torch.no_grad():
            predicted = model(torch.from_numpy(x_test)).argmax(1).numpy()
    finally:
        torch.set_num_threads(threads)
    accuracy = float((predicted == y_test).mean())
    return DigitsWorld(model, x_test, y_test, marked, plant, accuracy)
