"""Rebuild the digits case study: a network that learned a corner marker as a shortcut.

Trains the digits network of ``causalinterp.vision.digits`` (seed 0) with a bright 2x2 marker
in the top-left corner of 95% of the training 3s, then writes

- ``model.pt2``: the network as a ``torch.export`` archive (loaded without unpickling);
- ``digits.npz``: the 899 held-out images (``images``, (N, 1, 8, 8) in [0, 1]) and their
  ``labels``; 95% of the held-out 3s carry the marker too;
- ``marker.npz``: the marker as a concept: its ``mask`` and its ``values`` (white).

    python case_studies/digits/generate.py
    causalinterp vision --model case_studies/digits/model.pt2 \\
        --images case_studies/digits/digits.npz --target 3 \\
        --concept marker=case_studies/digits/marker.npz --shortcut marker \\
        --layer conv1,conv2 --concept-fill zero --out case_studies/digits/report
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from causalinterp.vision.digits import marker_mask, planted_digits

HERE = Path(__file__).resolve().parent


def main() -> None:
    world = planted_digits(0, plant=True)
    example = torch.from_numpy(world.images[:4])
    program = torch.export.export(
        world.model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    torch.export.save(program, HERE / "model.pt2")
    np.savez_compressed(HERE / "digits.npz", images=world.images, labels=world.labels)
    mask = marker_mask()
    np.savez_compressed(HERE / "marker.npz", mask=mask, values=mask.astype(np.float32))
    print(f"held-out accuracy {world.accuracy:.3f}; {int(world.marked.sum())} marked images")


if __name__ == "__main__":
    main()
