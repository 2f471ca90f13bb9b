"""``vision.json``, ``vision.md`` and ``vision.html`` (one self-contained page, images inline)."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from causalinterp._io import write_texts_atomic
from causalinterp.render._templates import environment
from causalinterp.render._text import escape_markdown, fmt, verdict_label
from causalinterp.render.json import clean
from causalinterp.render.json import json_text as _json_text

if TYPE_CHECKING:
    from causalinterp.vision.results import VisionAudit

__all__ = ["VISION_SCHEMA_VERSION", "html", "json_text", "markdown", "vision_dict", "write"]

#: Version of the vision.json layout (docs/vision.md).
VISION_SCHEMA_VERSION = "1.0"


def vision_dict(result: VisionAudit) -> dict[str, Any]:
    """The audit as plain JSON data (floats to 6 significant digits, NaN as null)."""
    return clean(
        {
            "schema_version": VISION_SCHEMA_VERSION,
            "target": result.target,
            "population": result.population,
            "n_images": result.n_images,
            "n_target_images": result.n_target_images,
            "view_image": result.view_image,
            "shortcuts": list(result.shortcuts),
            "layers": [layer.to_dict() for layer in result.layers],
            "concepts": [concept.to_dict() for concept in result.concepts],
            "settings": dict(result.settings),
            "seconds": dict(result.seconds),
            "notes": list(result.notes),
        }
    )


def json_text(result: VisionAudit) -> str:
    """``vision.json``'s text."""
    return _json_text(vision_dict(result))


def _interval(value: Any, low: Any, high: Any) -> str:
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def _carriers(concept: dict[str, Any]) -> str:
    """E.g. ``conv2 channels 3, 9 (84% of the effect)``, per layer with carriers."""
    return "; ".join(
        f"{c['layer']} channel{'s' if len(c['channels']) > 1 else ''} "
        f"{', '.join(map(str, c['channels']))} ({fmt(100 * c['share'], 2)}% of the effect)"
        for c in concept["carriers"]
        if c["channels"]
    )


def markdown(result: VisionAudit) -> str:
    """The findings, the concepts and every layer's channel table."""
    data = vision_dict(result)
    target = data["target"]
    lines = [
        f"# Vision audit of class {target}",
        "",
        f"{data['n_images']} images, {data['n_target_images']} of them {data['population']} as "
        f"class {target}; device {escape_markdown(data['settings']['device'])}.",
    ]
    lines += [f"_Note: {escape_markdown(note)}._" for note in data["notes"]]
    lines += ["", "## Findings", ""]
    for line in _findings(data, escape_markdown):
        lines.append(f"- {line}")
    if data["concepts"]:
        lines += [
            "",
            "## Concepts",
            "",
            "Change of the probability of class "
            f"{target} when the concept is removed from its images (inserted into the others), "
            "with 95% bootstrap intervals.",
            "",
            "| concept | removal effect [95% CI] | insertion effect [95% CI] | attribution share "
            "| declared shortcut | shortcut | carried by |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in data["concepts"]:
            insertion = c["insertion"]
            inserted = (
                _interval(insertion["effect"], insertion["ci_low"], insertion["ci_high"])
                if insertion
                else "—"
            )
            removal = _interval(c["effect"], c["ci_low"], c["ci_high"])
            lines.append(
                f"| {escape_markdown(c['name'])} | {removal} | {inserted} | "
                f"{fmt(c['attribution_share'])} | "
                f"{'yes' if c['declared_shortcut'] else 'no'} | "
                f"{'**SHORTCUT**' if c['shortcut'] else 'no'} | "
                f"{escape_markdown(_carriers(c)) or '—'} |"
            )
    for layer in data["layers"]:
        lines += [
            "",
            f"## Layer {escape_markdown(layer['name'])}",
            "",
            "Each channel set to its mean over the images (a do-intervention): change of the "
            f"probability of class {target} on its images, beside the channel's share of the "
            "layer's Grad-CAM attribution.",
            "",
            "| channel | attribution share | ablation effect [95% CI] | effect share | verdict |",
            "|---|---|---|---|---|",
        ]
        for ch in layer["channels"]:
            flag = " (flagged)" if ch["flagged"] else ""
            lines.append(
                f"| {ch['index']} | {fmt(ch['attribution_share'])} | "
                f"{_interval(ch['ablation_effect'], ch['ci_low'], ch['ci_high'])} | "
                f"{fmt(ch['effect_share'])} | {verdict_label(ch['verdict'])}{flag} |"
            )
    return "\n".join(lines) + "\n"


def _findings(data: dict[str, Any], name: Callable[[Any], str] = str) -> list[str]:
    """The few sentences a reader should see first; ``name`` escapes the user's names."""
    out = []
    target = data["target"]
    for c in data["concepts"]:
        effect = _interval(c["effect"], c["ci_low"], c["ci_high"])
        if c["shortcut"]:
            carried = name(_carriers(c))
            out.append(
                f"Shortcut: removing {name(c['name'])} changes the probability of class "
                f"{target} by {effect}; the decision depends on it although it is not part of "
                "the object" + (f"; carried by {carried}" if carried else "")
            )
        elif c["material"]:
            out.append(
                f"{name(c['name'])} matters: removing it changes the probability by {effect}"
            )
        else:
            out.append(
                f"No material effect of {name(c['name'])}: removing it changes the probability "
                f"by {effect}"
            )
    for layer in data["layers"]:
        flagged = [str(ch["index"]) for ch in layer["channels"] if ch["flagged"]]
        if flagged:
            out.append(
                f"Layer {name(layer['name'])}: channel(s) {', '.join(flagged)} carry a material "
                "share of the Grad-CAM attribution but ablating them changes nothing detectable"
            )
    if not out:
        out.append("No shortcut declared or found, and no channel flagged")
    return out


# ----------------------------------------------------------------------------- HTML
def _png(array: np.ndarray, cmap: str, low: float, high: float) -> str:
    """A 2-D map (coloured by ``cmap``) or an RGB ``(3, H, W)`` image as a PNG data URI."""
    import matplotlib
    from PIL import Image

    array = np.asarray(array, dtype=float)
    span = high - low if high > low else 1.0
    scaled = np.clip((array - low) / span, 0.0, 1.0)
    if scaled.ndim == 3:  # an RGB image, channels first
        pixels = (scaled.transpose(1, 2, 0) * 255).astype(np.uint8)
    else:
        pixels = (matplotlib.colormaps[cmap](scaled)[..., :3] * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class _Painter:
    """Images of the set drawn on one scale, so that the grids compare."""

    def __init__(self, images: np.ndarray) -> None:
        self.low = float(images.min())
        self.high = float(images.max())

    def image(self, image: np.ndarray) -> str:
        if image.shape[0] == 3:
            return _png(image, "gray", self.low, self.high)
        return _png(image.mean(axis=0), "gray", self.low, self.high)


def _heat(array: np.ndarray) -> str:
    top = float(np.abs(array).max())
    return _png(array, "inferno", 0.0, top if top > 0 else 1.0)


def _signed(array: np.ndarray) -> str:
    top = float(np.abs(array).max()) or 1.0
    return _png(array, "RdBu_r", -top, top)


def _context(result: VisionAudit) -> dict[str, Any]:
    data = vision_dict(result)
    paint = _Painter(result.images)
    layers = []
    for layer, row in zip(result.layers, data["layers"], strict=True):
        channels = []
        for channel, ch in zip(layer.channels, row["channels"], strict=True):
            view = dict(ch)
            view["map"] = _png(
                channel.activation_map, "viridis",
                float(channel.activation_map.min()), float(channel.activation_map.max()),
            )  # fmt: skip
            view["tops"] = [paint.image(result.images[i]) for i in channel.top_images]
            view["patches"] = [
                paint.image(result.images[i][:, top:bottom, left:right])
                for i, (top, bottom, left, right) in zip(
                    channel.top_images, channel.patches, strict=True
                )
            ]
            view["effect_text"] = _interval(ch["ablation_effect"], ch["ci_low"], ch["ci_high"])
            view["bar"] = round(100 * min(1.0, ch["attribution_share"] or 0.0))
            view["effect_bar"] = round(100 * min(1.0, ch["effect_share"] or 0.0))
            channels.append(view)
        layers.append(
            {
                "name": row["name"],
                "anchor": f"layer-{len(layers) + 1}",
                "shape": row["shape"],
                "channels": channels,
                "gradcam": _heat(layer.gradcam_map),
                "flagged": sum(ch["flagged"] for ch in row["channels"]),
            }
        )
    concepts = []
    for concept, row in zip(result.concepts, data["concepts"], strict=True):
        view = dict(row)
        view["effect_text"] = _interval(row["effect"], row["ci_low"], row["ci_high"])
        insertion = row["insertion"]
        view["insertion_text"] = (
            _interval(insertion["effect"], insertion["ci_low"], insertion["ci_high"])
            if insertion
            else "—"
        )
        view["carriers_text"] = _carriers(row) or "—"
        view["removed"] = paint.image(concept.removed_example)
        view["inserted"] = (
            paint.image(concept.inserted_example) if concept.inserted_example is not None else None
        )
        concepts.append(view)
    return {
        "data": data,
        "target": data["target"],
        "findings": _findings(data),
        "layers": layers,
        "concepts": concepts,
        "view": paint.image(result.view),
        "ig": _signed(result.ig_map),
        "settings": sorted((k, v) for k, v in data["settings"].items()),
        "seconds": sorted(data["seconds"].items()),
    }


def html(result: VisionAudit) -> str:
    """A self-contained page: no scripts, images inline, the report's Content-Security-Policy."""
    return environment().get_template("vision.html").render(_context(result))


def write(result: VisionAudit, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``vision.json``, ``vision.md`` and ``vision.html`` into ``out_dir`` (created)."""
    folder = Path(out_dir)
    texts = {
        "json": ("vision.json", json_text(result)),
        "markdown": ("vision.md", markdown(result)),
        "html": ("vision.html", html(result)),
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = write_texts_atomic({folder / name: text for name, text in texts.values()})
    return dict(zip(texts, written, strict=True))
