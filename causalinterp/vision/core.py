"""Stage ``audit``: layer views, attributions and interventions of an image classifier.

Order of work (each step's seconds are in ``VisionAudit.seconds``): the model's probabilities
on the set; per audited layer, the channels' statistics and views, their Grad-CAM shares and
their ablations; Integrated Gradients on the target's images; per concept, its removal (and
insertion) and the channels that carry it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import torch

from causalinterp import options
from causalinterp._progress import resolve_progress, run_parallel
from causalinterp._seeds import seed_sequence
from causalinterp.errors import DataError, ModelError, OptionError
from causalinterp.vision import _captum
from causalinterp.vision.inputs import (
    Concept,
    as_images,
    concept_mask,
    insert_concept,
    remove_concept,
)
from causalinterp.vision.interventions import (
    ablate_channel,
    carriers,
    channel_verdict,
    effect,
    resamples,
)
from causalinterp.vision.network import Network, resolve_device
from causalinterp.vision.results import (
    Carrier,
    ChannelResult,
    ConceptResult,
    LayerResult,
    VisionAudit,
)

__all__ = ["audit"]

_DEFAULT = options.defaults("vision")


def audit(
    model: torch.nn.Module,
    images: np.ndarray,
    target: int,
    *,
    labels: np.ndarray | None = None,
    concepts: Sequence[Concept] = (),
    layers: Sequence[str] | None = _DEFAULT["layers"],
    device: str = _DEFAULT["device"],
    model_output: str = _DEFAULT["model_output"],
    max_images: int = _DEFAULT["max_images"],
    view_image: int | None = _DEFAULT["view_image"],
    top_images: int = _DEFAULT["top_images"],
    ig_steps: int = _DEFAULT["ig_steps"],
    ig_baseline: str = _DEFAULT["ig_baseline"],
    concept_fill: str = _DEFAULT["concept_fill"],
    unit_bootstrap: int = _DEFAULT["unit_bootstrap"],
    material_effect: float = _DEFAULT["material_effect"],
    channel_share: float = _DEFAULT["channel_share"],
    share_factor: float = _DEFAULT["share_factor"],
    batch_size: int = _DEFAULT["batch_size"],
    seed: int = 0,
    progress: bool | None = None,
) -> VisionAudit:
    """Which of an image classifier's evidence for ``target`` is causal, and which a shortcut.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier: images ``(N, C, H, W)`` to one row of class scores per image.
    images : numpy.ndarray
        The image set, ``(N, C, H, W)`` or grey ``(N, H, W)``, as the model takes it.
    target : int
        The class audited (an index of the model's output).
    labels : numpy.ndarray, optional
        Class labels; the target's images are those labelled ``target`` (else those the model
        predicts as ``target``).
    concepts : sequence of Concept
        Named concepts to remove (and insert); ``Concept(shortcut=True)`` declares one not part
        of the object.
    layers, device, model_output, max_images, view_image, top_images, ig_steps, ig_baseline,
    concept_fill, unit_bootstrap, material_effect, channel_share, share_factor, batch_size
        Options (rows of ``causalinterp.options``, stage ``vision``; docs/vision.md).
    seed : int
        Seeds the image sample and the bootstrap.
    progress : bool, optional
        A progress bar on standard error; default: when it is a terminal.

    Returns
    -------
    VisionAudit

    Raises
    ------
    OptionError, DataError, ModelError
        One line naming the input and the fix.
    """
    started = time.perf_counter()
    settings = options.validate(
        {
            "layers": layers, "device": device, "model_output": model_output,
            "max_images": max_images, "view_image": view_image, "top_images": top_images,
            "ig_steps": ig_steps, "ig_baseline": ig_baseline, "concept_fill": concept_fill,
            "unit_bootstrap": unit_bootstrap, "material_effect": material_effect,
            "channel_share": channel_share, "share_factor": share_factor,
            "batch_size": batch_size, "seed": seed,
        }
    )  # fmt: skip
    if not isinstance(model, torch.nn.Module):
        raise ModelError(
            f"model: a {type(model).__name__}, not a torch.nn.Module; pass the PyTorch model "
            "(or load a file with causalinterp.vision.load_image_model)"
        )
    given = as_images(images)
    if isinstance(target, bool) or not isinstance(target, Integral) or target < 0:
        raise OptionError(f"target: expected a class index (an integer >= 0), got {target!r}")
    target = int(target)
    labels = _check_labels(labels, len(given))
    concepts = _check_concepts(concepts, given.shape)
    if settings["view_image"] is not None and settings["view_image"] >= len(given):
        raise OptionError(
            f"view_image: {settings['view_image']} but there are {len(given)} images; pass an "
            f"index below {len(given)}"
        )
    sample_seed, boot_seed, insert_seed = seed_sequence(settings["seed"]).spawn(3)
    notes: list[str] = []
    index = np.arange(len(given))
    if len(given) > settings["max_images"]:
        rng = np.random.default_rng(sample_seed)
        index = np.sort(rng.choice(len(given), settings["max_images"], replace=False))
        notes.append(f"{len(index)} of {len(given)} images analysed (a seeded sample)")
    x = given[index]
    y = labels[index] if labels is not None else None

    resolved = resolve_device(settings["device"])
    net = Network(model, resolved, settings["model_output"], settings["batch_size"])
    shapes = net.feature_layers(x[:2])
    chosen = _check_layers(settings["layers"] or (), shapes)
    seconds: dict[str, float] = {}
    tick = time.perf_counter()
    scores = net.scores(x)
    if target >= scores.shape[1]:
        raise OptionError(
            f"target: class {target} but the model has {scores.shape[1]} outputs; pass a class "
            f"in 0..{scores.shape[1] - 1}"
        )
    if settings["model_output"] == "probabilities":
        _check_probabilities(scores)
    probs = net.to_probabilities(scores)
    population = "labelled" if y is not None else "predicted"
    members = np.flatnonzero((y if y is not None else probs.argmax(axis=1)) == target)
    if len(members) < 2:
        raise DataError(
            f"target: {len(members)} image(s) {population} as class {target}; the audit needs "
            "at least 2 (pass more images of the class, or labels)"
        )
    if len(members) < 30:
        notes.append(f"only {len(members)} images of class {target}: the intervals are rough")
    view_position = settings["view_image"]
    view = given[view_position] if view_position is not None else x[members[0]]
    view_position = int(view_position) if view_position is not None else int(index[members[0]])
    seconds["predict"] = time.perf_counter() - tick

    rows = resamples(len(members), settings["unit_bootstrap"], np.random.default_rng(boot_seed))
    base = probs[members, target]
    show = progress is not False and resolve_progress(progress)
    layer_results = []
    for name in chosen:
        tick = time.perf_counter()
        layer_results.append(
            _audit_layer(net, x, members, view, name, target, base, rows, settings, show)
        )
        seconds[f"layer {name}"] = time.perf_counter() - tick

    tick = time.perf_counter()
    baseline = _baseline(x, settings["ig_baseline"])
    needs_ig = any(c.mask is not None for c in concepts)
    ig_images = np.concatenate([view[None], x[members]]) if needs_ig else view[None]
    ig = _captum.integrated_gradients(
        net.model, net.tensor(ig_images), target, net.tensor(baseline[None]),
        steps=settings["ig_steps"], batch_size=settings["batch_size"],
    )  # fmt: skip
    ig_map = ig[0].sum(axis=0)
    seconds["integrated_gradients"] = time.perf_counter() - tick

    concept_results = []
    insert_seeds = insert_seed.spawn(len(concepts))
    for concept, concept_seed in zip(concepts, insert_seeds, strict=True):
        tick = time.perf_counter()
        concept_results.append(
            _audit_concept(
                net, x, index, members, concept, target, base, rows, chosen,
                np.abs(ig[1:]) if needs_ig else None, settings, concept_seed,
            )
        )  # fmt: skip
        seconds[f"concept {concept.name}"] = time.perf_counter() - tick
    seconds["total"] = time.perf_counter() - started
    settings["device"] = str(resolved)
    settings["layers"] = list(chosen)
    return VisionAudit(
        target=target,
        population=population,
        n_images=len(x),
        n_target_images=len(members),
        view_image=view_position,
        layers=tuple(layer_results),
        concepts=tuple(concept_results),
        settings=settings,
        seconds=seconds,
        notes=tuple(notes),
        images=x,
        view=view,
        ig_map=ig_map,
    )


def _check_probabilities(scores: np.ndarray) -> None:
    """A model said to return probabilities must return rows of them."""
    sums = scores.sum(axis=1)
    if (scores < -1e-6).any() or not np.allclose(sums, 1.0, atol=1e-3):
        worst = float(sums[np.argmax(np.abs(sums - 1.0))])
        raise ModelError(
            f"model_output: 'probabilities' but the model's rows are not probabilities (a row "
            f"sums to {worst:.4g}); pass model_output='logits' for a model returning logits"
        )


def _check_labels(labels: np.ndarray | None, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    array = np.asarray(labels).reshape(-1)
    if len(array) != n or not np.issubdtype(array.dtype, np.integer):
        raise DataError(
            f"labels: expected {n} integer class labels, got {len(array)} of dtype "
            f"{array.dtype}; pass one integer label per image"
        )
    return array


def _check_concepts(concepts: Sequence[Concept], shape: tuple[int, ...]) -> list[Concept]:
    concepts = list(concepts)
    seen: set[str] = set()
    for concept in concepts:
        if not isinstance(concept, Concept):
            raise OptionError(
                f"concepts: {concept!r} is not a Concept; pass "
                "causalinterp.vision.Concept(name, mask=...)"
            )
        if concept.name in seen:
            raise OptionError(f"concepts: {concept.name!r} twice; give each concept its own name")
        seen.add(concept.name)
        concept.check(shape)
    return concepts


def _check_layers(wanted: Sequence[str], shapes: dict[str, tuple[int, ...]]) -> list[str]:
    if not shapes:
        raise ModelError(
            "model: no module outputs a feature map (N, C, H, W); the vision audit needs a "
            "convolutional network with its layers as modules"
        )
    if not wanted:
        return [list(shapes)[-1]]
    for name in wanted:
        if name not in shapes:
            known = ", ".join(shapes)
            raise OptionError(
                f"layers: {name!r} is not a module with a feature-map output; use one of {known}"
            )
    return list(dict.fromkeys(wanted))


def _baseline(x: np.ndarray, kind: str) -> np.ndarray:
    return x.mean(axis=0) if kind == "mean" else np.zeros_like(x[0])


def _layer_statistics(
    net: Network, x: np.ndarray, name: str
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The mean map of every channel over the set, and each image's per-channel maximum and
    its position."""
    total = None
    maxima, positions = [], []
    for _rows, act in net.activations(x, name):
        batch_sum = act.sum(dim=0)
        total = batch_sum if total is None else total + batch_sum
        flat = act.flatten(2)
        values, where = flat.max(dim=2)
        maxima.append(values.cpu().numpy())
        positions.append(where.cpu().numpy())
    assert total is not None
    width = total.shape[-1]
    position = np.concatenate(positions)
    return (
        total / len(x),
        np.concatenate(maxima),
        np.stack([position // width, position % width], axis=-1),
    )


def _audit_layer(
    net: Network,
    x: np.ndarray,
    members: np.ndarray,
    view: np.ndarray,
    name: str,
    target: int,
    base: np.ndarray,
    rows: np.ndarray,
    settings: dict[str, Any],
    show: bool,
) -> LayerResult:
    """One layer: statistics and views of its channels, their Grad-CAM shares, their ablations
    on the target's images (``members``, whose probabilities of the target are ``base``) and
    their verdicts."""
    mean_map, maxima, positions = _layer_statistics(net, x, name)
    n_channels = mean_map.shape[0]
    view_maps = next(net.activations(view[None], name))[1][0].cpu().numpy()

    terms = []
    for batch in net.batches(len(members)):
        maps = _captum.layer_gradcam(
            net.model, net.layer(name), net.tensor(x[members[batch]]), target
        )
        terms.append(maps.sum(axis=(2, 3)))
    view_cam = _captum.layer_gradcam(net.model, net.layer(name), net.tensor(view[None]), target)
    gradcam_map = np.maximum(view_cam[0].sum(axis=0), 0.0)
    terms = np.concatenate(terms)
    magnitude = np.abs(terms).mean(axis=0)
    shares = magnitude / magnitude.sum() if magnitude.sum() > 0 else np.zeros_like(magnitude)

    target_images = x[members]

    def ablate(channel: int):
        probs = ablate_channel(net, target_images, name, channel, mean_map[channel])
        return effect(probs[:, target] - base, rows)

    effects = run_parallel(
        ablate, list(range(n_channels)), n_jobs=1, backend="threading", progress=show,
        desc=f"ablating {name}", unit="channel",
    )  # fmt: skip
    total_effect = float(sum(abs(e.mean) for e in effects))
    k = min(settings["top_images"], len(x))
    channels = []
    for channel, ablation in enumerate(effects):
        top = np.argsort(-maxima[:, channel], kind="stable")[:k]
        boxes = net.input_gradient_boxes(x[top], name, channel, positions[top, channel])
        verdict, flagged, effect_share = channel_verdict(
            float(shares[channel]), ablation, total_effect,
            material_share=settings["channel_share"], factor=settings["share_factor"],
        )  # fmt: skip
        channels.append(
            ChannelResult(
                index=channel,
                attribution_share=float(shares[channel]),
                attribution=float(terms[:, channel].mean()),
                ablation_effect=ablation.mean,
                ci_low=ablation.ci_low,
                ci_high=ablation.ci_high,
                effect_share=effect_share,
                verdict=verdict,
                flagged=flagged,
                top_images=tuple(int(i) for i in top),
                top_activations=tuple(float(v) for v in maxima[top, channel]),
                patches=tuple(boxes),
                activation_map=view_maps[channel],
            )
        )
    return LayerResult(name, tuple(mean_map.shape), tuple(channels), gradcam_map)


def _audit_concept(
    net: Network,
    x: np.ndarray,
    index: np.ndarray,
    members: np.ndarray,
    concept: Concept,
    target: int,
    base: np.ndarray,
    rows: np.ndarray,
    layers: Sequence[str],
    ig_abs: np.ndarray | None,
    settings: dict[str, Any],
    insert_seed: np.random.SeedSequence,
) -> ConceptResult:
    """One concept: its removal from the target's images, its insertion into the others (when
    it has values), its Integrated Gradients share and, when material, its carriers."""
    originals = x[members]
    removed = remove_concept(originals, concept, settings["concept_fill"], index[members])
    removal = effect(net.probabilities(removed)[:, target] - base, rows)
    # The decision leans on the concept when removing it lowers the target's probability by at
    # least material_effect, with 95% confidence (the whole interval that far below 0). A
    # concept whose removal raises the probability works against the target: no shortcut to it.
    material = removal.ci_high <= -settings["material_effect"]

    share = None
    mask = concept_mask(concept, index[members], originals.shape)
    if mask is not None and ig_abs is not None:
        total = ig_abs.sum()
        share = float((ig_abs * mask).sum() / total) if total > 0 else 0.0

    inserted_example = None
    insertion = None
    others = np.setdiff1d(np.arange(len(x)), members)
    if concept.values is not None and len(others) >= 2:
        inserted = insert_concept(x[others], concept, index[others])
        probs = net.probabilities(x[others])
        changed = net.probabilities(inserted)
        other_rows = resamples(len(others), rows.shape[0], np.random.default_rng(insert_seed))
        insertion = effect(changed[:, target] - probs[:, target], other_rows)
        inserted_example = inserted[0]

    found = []
    for name in layers:
        if not material:
            break
        responses, channels, mediated = carriers(
            net, originals, removed, name, target, base, removal.mean
        )
        found.append(Carrier(name, tuple(channels), responses, mediated, mediated / removal.mean))
    return ConceptResult(
        name=concept.name,
        effect=removal.mean,
        ci_low=removal.ci_low,
        ci_high=removal.ci_high,
        attribution_share=share,
        material=material,
        declared_shortcut=concept.shortcut,
        shortcut=concept.shortcut and material,
        n_images=removal.n,
        insertion_effect=None if insertion is None else insertion.mean,
        insertion_ci_low=None if insertion is None else insertion.ci_low,
        insertion_ci_high=None if insertion is None else insertion.ci_high,
        n_inserted=0 if insertion is None else insertion.n,
        carriers=tuple(found),
        removed_example=removed[0],
        inserted_example=inserted_example,
    )
