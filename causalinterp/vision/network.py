"""The model as the audit uses it: batched forward passes, named layers, hooks that read or set
a layer's output.

Every intervention is a forward hook on one named module that returns a changed output; the
hooks are removed when the pass ends, whatever happens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch

from causalinterp.errors import ModelError, OptionError, first_line

__all__ = ["Network", "resolve_device"]

#: A function changing a layer's output for the images ``rows`` of the batch being run.
Patch = Callable[[torch.Tensor, slice], torch.Tensor]


def _recorder(into: list[torch.Tensor]) -> Callable:
    """A forward hook appending the module's output to ``into``."""

    def record(_module, _inputs, output):
        into.append(output)

    return record


def resolve_device(device: str) -> torch.device:
    """``auto`` is cuda when available, else cpu; any other name must be usable here."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise OptionError(
            f"device: {device!r} is not a torch device; pass auto, cpu or cuda"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"device: {device!r} but no CUDA device is available; pass cpu or auto")
    return resolved


class Network:
    """A classifier on a device, run in batches without gradients unless asked.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier: images ``(N, C, H, W)`` to one row of scores per image.
    device : torch.device
    output : {"logits", "probabilities"}
        What the model returns.
    batch_size : int
    """

    def __init__(
        self, model: torch.nn.Module, device: torch.device, output: str, batch_size: int
    ) -> None:
        self.model = model.eval().to(device)
        self.device = device
        self.output = output
        self.batch_size = batch_size
        self.modules = dict(model.named_modules())

    def tensor(self, images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(images)).to(self.device)

    def batches(self, n: int) -> Iterator[slice]:
        for start in range(0, n, self.batch_size):
            yield slice(start, min(start + self.batch_size, n))

    def layer(self, name: str) -> torch.nn.Module:
        return self.modules[name]

    def scores(self, images: np.ndarray) -> np.ndarray:
        """The model's raw output ``(N, K)``; a one-line error when it is not a score table."""
        out = self._run(images)
        if out.ndim != 2:
            raise ModelError(
                f"model: returned shape {tuple(out.shape)} for {len(images)} images; a "
                "classifier must return one row of class scores per image"
            )
        return out

    def probabilities(
        self, images: np.ndarray, layer: str | None = None, patch: Patch | None = None
    ) -> np.ndarray:
        """Class probabilities ``(N, K)``; ``patch`` changes ``layer``'s output on the way."""
        return self.to_probabilities(self._run(images, layer, patch))

    def to_probabilities(self, scores: np.ndarray) -> np.ndarray:
        """The model's scores as probabilities: a softmax of logits, else the scores."""
        if self.output == "logits":
            shifted = scores - scores.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            return exp / exp.sum(axis=1, keepdims=True)
        return scores

    def _run(
        self, images: np.ndarray, layer: str | None = None, patch: Patch | None = None
    ) -> np.ndarray:
        outputs = []
        for rows in self.batches(len(images)):
            hook = (lambda _m, _i, out, rows=rows: patch(out, rows)) if patch else None
            with torch.no_grad(), self.hooked(layer, hook):
                outputs.append(self.model(self.tensor(images[rows])).double().cpu().numpy())
        return np.concatenate(outputs)

    @contextlib.contextmanager
    def hooked(self, layer: str | None, hook: Callable | None) -> Iterator[None]:
        """A forward hook on ``layer`` for the duration of the block (none if either is None)."""
        if layer is None or hook is None:
            yield
            return
        handle = self.modules[layer].register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()

    def activations(self, images: np.ndarray, layer: str) -> Iterator[tuple[slice, torch.Tensor]]:
        """``layer``'s output, batch by batch (detached, on the device)."""
        for rows in self.batches(len(images)):
            captured: list[torch.Tensor] = []
            with torch.no_grad(), self.hooked(layer, _recorder(captured)):
                self.model(self.tensor(images[rows]))
            yield rows, captured[0].detach()

    def feature_layers(self, probe: np.ndarray) -> dict[str, tuple[int, ...]]:
        """Modules without submodules whose output is a feature map ``(N, C, h, w)``, in the
        order they run, with the map's shape (without N)."""
        shapes: dict[str, tuple[int, ...]] = {}
        handles = []
        for name, module in self.modules.items():
            if name and not any(True for _ in module.children()):

                def record(_m, _i, out, name=name):
                    if isinstance(out, torch.Tensor) and out.ndim == 4 and name not in shapes:
                        shapes[name] = tuple(out.shape[1:])

                handles.append(module.register_forward_hook(record))
        try:
            with torch.no_grad():
                self.model(self.tensor(probe))
        except Exception as error:  # the user's model raises whatever it raises
            raise ModelError(
                f"model: fails on images of shape {probe.shape[1:]} ({first_line(error)}); pass "
                "images the model accepts (N, C, H, W)"
            ) from None
        finally:
            for handle in handles:
                handle.remove()
        return shapes

    def input_gradient_boxes(
        self, images: np.ndarray, layer: str, channel: int, positions: np.ndarray
    ) -> list[tuple[int, int, int, int]]:
        """The input region each image's unit (``channel`` at ``positions[i]``) depends on.

        One backward pass from the sum of the chosen units: the images are independent in
        evaluation mode, so each image's gradient is its own unit's. Returns (top, bottom,
        left, right) boxes, bottom and right exclusive; the whole image when the gradient is 0.
        """
        x = self.tensor(images).requires_grad_(True)
        captured: list[torch.Tensor] = []
        with self.hooked(layer, _recorder(captured)):
            self.model(x)
        act = captured[0]
        index = torch.arange(len(images), device=self.device)
        rows = torch.as_tensor(positions[:, 0], device=self.device)
        cols = torch.as_tensor(positions[:, 1], device=self.device)
        act[index, channel, rows, cols].sum().backward()
        grad = x.grad.detach().abs().sum(dim=1).cpu().numpy()
        boxes = []
        height, width = images.shape[2:]
        for g in grad:
            ys, xs = np.nonzero(g > 0)
            if len(ys) == 0:
                boxes.append((0, height, 0, width))
            else:
                boxes.append((int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1))
        return boxes
