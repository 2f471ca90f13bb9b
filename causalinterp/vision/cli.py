"""``causalinterp vision``: the command line of :func:`causalinterp.vision.audit`.

Building the parser imports neither PyTorch nor Captum, so ``causalinterp --help`` stays fast
and works without the vision extra; running the command without it prints one line naming the
fix. Exit status: 0 no shortcut flagged, 1 a declared shortcut was flagged, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from causalinterp import options as _options
from causalinterp.errors import CausalInterpError, OptionError

__all__ = ["OPTION_NAMES", "add_parser", "run"]

#: The options the command takes: the vision rows of the options table, and the seed.
OPTION_NAMES = ("seed", *_options.names(["vision"]))


def _class_index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a class index (an integer), got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a class index >= 0, got {text!r}")
    return value


def add_parser(commands) -> argparse.ArgumentParser:
    """Add the ``vision`` subcommand to ``commands`` (argparse subparsers).

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> vision = add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["vision", "--model", "m.pt2", "--images", "x.npz",
    ...     "--target", "3", "--concept", "marker=m.npy", "--shortcut", "marker",
    ...     "--layer", "conv1,conv2", "--out", "o"])
    >>> args.target, args.concept, args.layers
    (3, ['marker=m.npy'], ['conv1', 'conv2'])
    """
    parser = commands.add_parser(
        "vision",
        help="audit an image classifier: layer views, attributions, unit and concept "
        "interventions (needs the vision extra)",
        description="Audit a PyTorch image classifier for one class: each layer's channels "
        "(activation maps, top images and patches), Integrated Gradients and layer Grad-CAM, "
        "every channel of the chosen layers ablated (set to its mean: a do-intervention) with "
        "a verdict, and named concepts removed and inserted, a declared shortcut flagged when "
        "its effect is material. Writes vision.json, vision.md and vision.html. Needs the "
        "vision extra: pip install -e .[vision]. Exit status: 0 no shortcut, 1 a shortcut "
        "flagged, 2 bad input.",
    )
    parser.add_argument(
        "--model",
        required=True,
        type=Path,
        help="the classifier: a torch.export archive (.pt2), or with --trust-pickle a pickled "
        "nn.Module (.pt, .pth)",
    )
    parser.add_argument(
        "--images",
        required=True,
        type=Path,
        help="the images: a .npz with 'images' (and 'labels'), a .npy, or a folder of image "
        "files; arrays as the model takes them (N, C, H, W)",
    )
    parser.add_argument("--target", required=True, type=_class_index, help="the class audited")
    parser.add_argument(
        "--concept",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a concept: a boolean mask (.npy, (H, W) or (N, H, W)) or a .npz with 'mask' and "
        "'values' (its pixels, for insertion); repeatable",
    )
    parser.add_argument(
        "--shortcut",
        action="append",
        default=[],
        metavar="NAME",
        help="declare concept NAME not part of the object: it is flagged as a shortcut when "
        "its effect is material; repeatable",
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="folder for vision.json, .md and .html (created)"
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="load a pickled model (.pt, .pth): this runs any code in the file; only for "
        "files you made yourself",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print nothing but errors (no progress bars)"
    )
    _options.add_arguments(parser, OPTION_NAMES)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``causalinterp vision``; return 0 (no shortcut), 1 (shortcut flagged) or 2."""
    try:
        from causalinterp.vision._deps import require_extra

        require_extra()
        with warnings.catch_warnings():
            # torch and Captum warn about their own internals; vision.json says what matters.
            warnings.simplefilter("ignore")
            result = _audit(args)
            out = Path(args.out)
            try:
                result.write(out)
            except OSError as error:
                reason = error.strerror or type(error).__name__
                raise OptionError(
                    f"out: cannot write the reports to {str(out)!r} ({reason}); pass a "
                    "writable folder"
                ) from None
    except CausalInterpError as error:
        print(f"causalinterp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("causalinterp: interrupted; no report was written", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"wrote {out / 'vision.html'}, vision.json and vision.md")
        for concept in result.concepts:
            mark = "FLAG" if concept.shortcut else "    "
            state = (
                "shortcut"
                if concept.shortcut
                else ("material" if concept.material else "no material effect")
            )
            print(f"  {mark} {concept.name}: {state} (effect {concept.effect:+.3f})")
    return 1 if result.shortcuts else 0


def _audit(args: argparse.Namespace):
    from causalinterp.vision._export import load_image_model
    from causalinterp.vision.core import audit
    from causalinterp.vision.inputs import load_concept, load_images

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise OptionError(f"out: {str(out)!r} is a file, not a folder; pass a folder")
    declared = set(args.shortcut)
    concepts = [load_concept(spec, declared) for spec in args.concept]
    unknown = sorted(declared - {c.name for c in concepts})
    if unknown:
        raise OptionError(
            f"shortcut: {unknown[0]!r} is not a concept; declare it with --concept "
            f"{unknown[0]}=FILE"
        )
    images, labels = load_images(args.images)
    model = load_image_model(args.model, trust_pickle=args.trust_pickle)
    return audit(
        model,
        images,
        args.target,
        labels=labels,
        concepts=concepts,
        progress=False if args.quiet else None,
        **_options.given(args, OPTION_NAMES),
    )
