"""The planted corner marker: found as a shortcut on every planted model, never on the others.

For each seed, the digits network (causalinterp.vision.digits) is trained twice: with the
bright corner marker on most training images of class 3, and without it. Both meet the same
held-out images, whose 3s carry the marker; both are audited for class 3 with the marker
declared a shortcut. The goal: flagged on 5/5 planted models, on 0/5 unplanted ones.

``--cost`` instead times the whole command on 500 images end to end (export, ``causalinterp
vision`` in a fresh process: imports, audit of both layers, the three files), as in
docs/performance.md.

    python benchmarks/vision_shortcuts.py --seeds 0,1,2,3,4
    python benchmarks/vision_shortcuts.py --cost --images 500
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def shortcuts(seeds: list[int], layers: list[str]) -> list[dict]:
    from causalinterp.vision import audit
    from causalinterp.vision.digits import MARKED_CLASS, marker_concept, planted_digits

    rows = []
    for seed in seeds:
        for plant in (True, False):
            started = time.perf_counter()
            world = planted_digits(seed, plant=plant)
            trained = time.perf_counter() - started
            result = audit(
                world.model, world.images, MARKED_CLASS, labels=world.labels,
                concepts=[marker_concept()], layers=layers, concept_fill="zero", seed=seed,
                progress=False,
            )  # fmt: skip
            marker = result.concepts[0]
            rows.append(
                {
                    "seed": seed,
                    "planted": plant,
                    "accuracy": round(world.accuracy, 3),
                    "shortcut": marker.shortcut,
                    "effect": round(marker.effect, 3),
                    "ci": [round(marker.ci_low, 3), round(marker.ci_high, 3)],
                    "insertion": round(marker.insertion_effect or 0.0, 3),
                    "attribution_share": round(marker.attribution_share or 0.0, 3),
                    "carriers": {c.layer: list(c.channels) for c in marker.carriers},
                    "train_s": round(trained, 1),
                    "audit_s": round(result.seconds["total"], 1),
                }
            )
            row = rows[-1]
            print(
                f"seed {seed} {'planted  ' if plant else 'unplanted'} acc {row['accuracy']:.3f} "
                f"removal {row['effect']:+.3f} {row['ci']} insertion {row['insertion']:+.3f} "
                f"IG share {row['attribution_share']:.3f} shortcut {row['shortcut']} "
                f"carriers {row['carriers']} ({row['train_s']} s + {row['audit_s']} s)",
                flush=True,
            )
    planted = [r["shortcut"] for r in rows if r["planted"]]
    clean = [r["shortcut"] for r in rows if not r["planted"]]
    print(f"flagged: planted {sum(planted)}/{len(planted)}, unplanted {sum(clean)}/{len(clean)}")
    return rows


def cost(n_images: int) -> dict:
    import torch

    from causalinterp.vision.digits import marker_mask, planted_digits

    world = planted_digits(0)
    folder = Path(tempfile.mkdtemp())
    example = torch.from_numpy(world.images[:4])
    program = torch.export.export(
        world.model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    torch.export.save(program, folder / "model.pt2")
    np.savez(folder / "digits.npz", images=world.images[:n_images], labels=world.labels[:n_images])
    np.savez(folder / "marker.npz", mask=marker_mask(), values=marker_mask().astype("f4"))
    command = [
        sys.executable, "-m", "causalinterp.cli", "vision", "--model", str(folder / "model.pt2"),
        "--images", str(folder / "digits.npz"), "--target", "3",
        "--concept", f"marker={folder / 'marker.npz'}", "--shortcut", "marker",
        "--layer", "conv1,conv2", "--concept-fill", "zero", "--out", str(folder / "out"),
        "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    data = json.loads((folder / "out" / "vision.json").read_text())
    result = {
        "images": n_images,
        "exit": done.returncode,
        "wall_s": round(wall, 1),
        "audit_s": data["seconds"],
        "html_kb": round((folder / "out" / "vision.html").stat().st_size / 1024),
    }
    print(json.dumps(result, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--layers", default="conv1,conv2", help="layers audited")
    parser.add_argument("--cost", action="store_true", help="time the command end to end")
    parser.add_argument("--images", type=int, default=500, help="images for --cost")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    if args.cost:
        results = cost(args.images)
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
        results = shortcuts(seeds, args.layers.split(","))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
