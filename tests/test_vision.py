"""The vision audit on a tiny CNN trained here on scikit-learn's 8x8 digits.

A bright corner marker on most training images of class 3 is a planted shortcut: the audit
must show that removing it lowers the probability of 3, flag it, and name channels that carry
it (checked here by patching them independently); a model trained without the marker meets the
same marked images and must not be flagged. Channel effects and verdicts are checked against
an ablation recomputed with plain hooks, and the files, the command line and the safe loading
against their contracts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")

from causalinterp.cli import main  # noqa: E402
from causalinterp.errors import DataError, ModelError, OptionError  # noqa: E402
from causalinterp.verdicts import Verdict  # noqa: E402
from causalinterp.vision import Concept, audit, load_image_model  # noqa: E402
from causalinterp.vision.digits import (  # noqa: E402
    MARKED_CLASS,
    marker_concept,
    marker_mask,
    planted_digits,
)
from causalinterp.vision.interventions import Effect, channel_verdict  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Small but real: both layers, every channel, a bootstrap large enough for stable intervals.
FAST = {"unit_bootstrap": 300, "ig_steps": 16, "concept_fill": "zero", "progress": False}


@pytest.fixture(scope="module")
def planted():
    return planted_digits(0, plant=True)


@pytest.fixture(scope="module")
def unplanted():
    return planted_digits(0, plant=False)


@pytest.fixture(scope="module")
def planted_audit(planted):
    return audit(
        planted.model, planted.images, MARKED_CLASS, labels=planted.labels,
        concepts=[marker_concept()], layers=["conv1", "conv2"], **FAST,
    )  # fmt: skip


@pytest.fixture(scope="module")
def unplanted_audit(unplanted):
    return audit(
        unplanted.model, unplanted.images, MARKED_CLASS, labels=unplanted.labels,
        concepts=[marker_concept()], layers=["conv2"], **FAST,
    )  # fmt: skip


def _probability(model, images: np.ndarray, hook=None, layer=None) -> np.ndarray:
    handle = getattr(model, layer).register_forward_hook(hook) if hook else None
    try:
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(images)), 1)[:, MARKED_CLASS].numpy()
    finally:
        if handle is not None:
            handle.remove()


def test_the_worlds_learn_the_digits(planted, unplanted):
    assert planted.accuracy > 0.9 and unplanted.accuracy > 0.9
    # The held-out images carry the marker the same way for both models.
    assert planted.marked.sum() == unplanted.marked.sum() > 50
    assert (planted.labels[planted.marked] == MARKED_CLASS).all()


def test_planted_marker_is_a_shortcut(planted_audit):
    marker = planted_audit.concept("corner marker")
    assert marker.shortcut and marker.material and marker.declared_shortcut
    assert planted_audit.shortcuts == ("corner marker",)
    # Removing it lowers the probability of 3; writing it into other digits raises it.
    assert marker.ci_high <= -0.1  # the material_effect default, with 95% confidence
    assert marker.insertion_effect is not None and marker.insertion_ci_low > 0
    # Integrated Gradients puts more on the 4 marker pixels than their 4/64 of the image.
    assert marker.attribution_share > 4 / 64
    assert marker.n_images == planted_audit.n_target_images


def test_unplanted_model_has_no_shortcut(unplanted_audit):
    marker = unplanted_audit.concept("corner marker")
    assert not marker.shortcut and not marker.material
    assert marker.ci_high > -0.1
    assert unplanted_audit.shortcuts == ()
    assert marker.carriers == ()


def test_the_carriers_reproduce_the_marker_effect(planted, planted_audit):
    marker = planted_audit.concept("corner marker")
    members = np.flatnonzero(planted.labels == MARKED_CLASS)
    originals = planted.images[members]
    removed = originals.copy()
    removed[:, :, marker_mask()] = 0.0
    base = _probability(planted.model, originals)
    for carrier in marker.carriers:
        channels = list(carrier.channels)
        assert 0 < len(channels) < planted.model.get_submodule(carrier.layer).out_channels
        free: list = []
        record = lambda _m, _i, out, free=free: free.append(out)  # noqa: E731
        _probability(planted.model, removed, record, carrier.layer)

        def patch(_m, _i, out, channels=channels, free=free):
            out = out.clone()
            out[:, channels] = free[0][:, channels]
            return out

        mediated = float(
            (_probability(planted.model, originals, patch, carrier.layer) - base).mean()
        )
        assert mediated == pytest.approx(carrier.mediated_effect, abs=1e-6)
        # Patched alone, the carriers take away at least half of the marker's effect.
        assert mediated / marker.effect >= 0.5


def test_ablation_effects_match_a_direct_intervention(planted, planted_audit):
    layer = planted_audit.layer("conv2")
    channel = max(layer.channels, key=lambda c: abs(c.ablation_effect))
    members = np.flatnonzero(planted.labels == MARKED_CLASS)
    with torch.no_grad():
        captured = []
        handle = planted.model.conv2.register_forward_hook(lambda _m, _i, o: captured.append(o))
        planted.model(torch.from_numpy(planted.images))
        handle.remove()
    mean_map = captured[0][:, channel.index].mean(dim=0)

    def ablate(_m, _i, out):
        out = out.clone()
        out[:, channel.index] = mean_map
        return out

    originals = planted.images[members]
    change = _probability(planted.model, originals, ablate, "conv2") - _probability(
        planted.model, originals
    )
    assert channel.ablation_effect == pytest.approx(float(change.mean()), abs=1e-6)
    assert channel.ci_low <= channel.ablation_effect <= channel.ci_high


def test_channel_verdicts_follow_their_rule(planted_audit):
    for layer in planted_audit.layers:
        total = sum(abs(c.ablation_effect) for c in layer.channels)
        assert sum(c.attribution_share for c in layer.channels) == pytest.approx(1.0)
        for c in layer.channels:
            assert c.verdict in set(Verdict)
            detectable = (c.ci_low > 0 or c.ci_high < 0) and max(
                abs(c.ci_low), abs(c.ci_high)
            ) >= 1e-3
            assert (c.verdict == Verdict.NO_DETECTABLE_EFFECT) == (not detectable)
            assert c.flagged == (not detectable and c.attribution_share >= 0.05)
            assert c.effect_share == pytest.approx(abs(c.ablation_effect) / total)
            if c.verdict == Verdict.OVER_ATTRIBUTED:
                assert c.attribution_share > 1.5 * max(abs(c.ci_low), abs(c.ci_high)) / total


@pytest.mark.parametrize(
    ("share", "ablation", "expected", "flagged"),
    [
        (0.30, Effect(-0.20, -0.25, -0.15, 50), "supported", False),
        (0.90, Effect(-0.05, -0.06, -0.04, 50), "over_attributed", False),
        (0.01, Effect(-0.30, -0.35, -0.25, 50), "under_attributed", False),
        (0.30, Effect(-0.01, -0.03, 0.01, 50), "no_detectable_effect", True),
        (0.01, Effect(-0.01, -0.03, 0.01, 50), "no_detectable_effect", False),
        (0.30, Effect(-4e-4, -5e-4, -3e-4, 50), "no_detectable_effect", True),
    ],
)
def test_channel_verdict_rule(share, ablation, expected, flagged):
    verdict, flag, _ = channel_verdict(share, ablation, 0.4, material_share=0.05, factor=1.5)
    assert (verdict, flag) == (expected, flagged)


def test_layer_views_point_at_the_units_inputs(planted, planted_audit):
    conv1 = planted_audit.layer("conv1")
    with torch.no_grad():
        maps = planted.model.conv1(torch.from_numpy(planted_audit.images)).numpy()
    for c in conv1.channels:
        assert c.activation_map.shape == (8, 8)
        best = maps[:, c.index].reshape(len(maps), -1).max(axis=1)
        assert list(c.top_images) == list(np.argsort(-best, kind="stable")[:6])
        assert c.top_activations[0] == pytest.approx(best.max(), rel=1e-5)
        for top, bottom, left, right in c.patches:
            # A 3x3 convolution's unit sees at most 3x3 pixels.
            assert 0 <= top < bottom <= 8 and 0 <= left < right <= 8
            assert bottom - top <= 3 and right - left <= 3
    assert conv1.gradcam_map.shape == (8, 8) and (conv1.gradcam_map >= 0).all()
    assert planted_audit.ig_map.shape == (8, 8)


def test_files_follow_the_schema(planted_audit, tmp_path):
    written = planted_audit.write(tmp_path)
    assert sorted(p.name for p in written.values()) == ["vision.html", "vision.json", "vision.md"]
    data = json.loads((tmp_path / "vision.json").read_text())
    assert data["schema_version"] == "1.0" and data["target"] == MARKED_CLASS
    assert [layer["name"] for layer in data["layers"]] == ["conv1", "conv2"]
    channel_keys = {"index", "attribution_share", "ablation_effect", "ci_low", "ci_high", "verdict"}
    for layer in data["layers"]:
        assert all(channel_keys <= set(ch) for ch in layer["channels"])
    concept_keys = {"name", "effect", "ci_low", "ci_high", "attribution_share", "shortcut"}
    assert concept_keys <= set(data["concepts"][0]) and data["concepts"][0]["shortcut"] is True
    assert data["shortcuts"] == ["corner marker"] and data["settings"]["seed"] == 0
    markdown = (tmp_path / "vision.md").read_text()
    assert "**SHORTCUT**" in markdown and "## Layer conv2" in markdown
    page = (tmp_path / "vision.html").read_text()
    assert "default-src 'none'; img-src data:" in page and "<script" not in page
    assert page.count('class="px small top"') == 6 * (8 + 16)


def test_hostile_names_stay_text_and_a_seed_gives_the_same_numbers(planted, tmp_path):
    hostile = "<img src=x onerror=alert(1)>|*marker*"
    mask = marker_mask()
    concept = Concept(hostile, mask=mask, shortcut=True)
    options = {
        **FAST, "layers": ["conv1"], "unit_bootstrap": 100, "ig_steps": 4, "view_image": 7,
        "max_images": 250,
    }  # fmt: skip
    first = audit(planted.model, planted.images[:300], MARKED_CLASS, labels=planted.labels[:300],
                  concepts=[concept], seed=5, **options)  # fmt: skip
    again = audit(planted.model, planted.images[:300], MARKED_CLASS, labels=planted.labels[:300],
                  concepts=[concept], seed=5, **options)  # fmt: skip
    strip = lambda d: {k: v for k, v in d.items() if k != "seconds"}  # noqa: E731
    assert strip(first.to_dict()) == strip(again.to_dict())
    assert (
        first.n_images == 250 and first.notes[0] == "250 of 300 images analysed (a seeded sample)"
    )
    assert first.view_image == 7 and np.array_equal(first.view, planted.images[7])
    first.write(tmp_path)
    assert "<img src=x" not in (tmp_path / "vision.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in (tmp_path / "vision.html").read_text()
    assert (
        "&lt;img src=x onerror=alert\\(1\\)&gt;\\|\\*marker\\*"
        in (tmp_path / "vision.md").read_text()
    )


def test_command_line_on_an_exported_model(planted, tmp_path):
    example = torch.from_numpy(planted.images[:4])
    program = torch.export.export(
        planted.model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    torch.export.save(program, tmp_path / "model.pt2")
    loaded = load_image_model(tmp_path / "model.pt2")
    with torch.no_grad():
        torch.testing.assert_close(loaded(example), planted.model(example))
    np.savez(tmp_path / "digits.npz", images=planted.images, labels=planted.labels)
    np.savez(tmp_path / "marker.npz", mask=marker_mask(), values=marker_mask().astype("f4"))
    out = tmp_path / "out"
    status = main([
        "vision", "--model", str(tmp_path / "model.pt2"), "--images", str(tmp_path / "digits.npz"),
        "--target", "3", "--concept", f"marker={tmp_path / 'marker.npz'}", "--shortcut", "marker",
        "--layer", "conv2", "--concept-fill", "zero", "--unit-bootstrap", "200",
        "--ig-steps", "8", "--out", str(out), "--quiet",
    ])  # fmt: skip
    assert status == 1  # a shortcut was flagged
    data = json.loads((out / "vision.json").read_text())
    assert data["concepts"][0]["shortcut"] is True and data["settings"]["layers"] == ["conv2"]
    assert data["settings"]["concept_fill"] == "zero"


def test_pickles_are_refused_unless_trusted(planted, tmp_path, capsys):
    path = tmp_path / "model.pt"
    torch.save(planted.model, path)
    with pytest.raises(ModelError, match=r"a pickle, which runs code when loaded, refused;"):
        load_image_model(path)
    assert isinstance(load_image_model(path, trust_pickle=True), torch.nn.Module)
    np.save(tmp_path / "x.npy", planted.images[:20])
    status = main(["vision", "--model", str(path), "--images", str(tmp_path / "x.npy"),
                   "--target", "3", "--out", str(tmp_path / "o")])  # fmt: skip
    assert status == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--trust-pickle" in error and "torch.export" in error
    assert not (tmp_path / "o").exists()


def test_bad_inputs_get_one_line_naming_the_fix(planted):
    model, images, labels = planted.model, planted.images[:200], planted.labels[:200]
    with pytest.raises(OptionError, match=r"^layers: 'fc' is not a module with a feature-map"):
        audit(model, images, 3, labels=labels, layers=["fc"], progress=False)
    with pytest.raises(OptionError, match=r"^target: class 12 but the model has 10 outputs"):
        audit(model, images, 12, labels=labels, progress=False)
    with pytest.raises(DataError, match=r"^concept 'big': mask of shape \(4, 4\) does not fit"):
        audit(model, images, 3, concepts=[Concept("big", mask=np.ones((4, 4), bool))])
    with pytest.raises(DataError, match=r"^images: expected an array of images"):
        audit(model, np.zeros((3, 2, 2, 2, 2)), 3)
    with pytest.raises(OptionError, match=r"^concept_fill: unknown value 'blur'"):
        audit(model, images, 3, concept_fill="blur")
    with pytest.raises(ModelError, match=r"^model: a str, not a torch.nn.Module"):
        audit("model.pt2", images, 3)
    with pytest.raises(ModelError, match=r"^model_output: 'probabilities' but the model's rows"):
        audit(model, images, 3, labels=labels, model_output="probabilities", progress=False)


def test_command_without_the_extra_names_the_fix(tmp_path):
    # The vision extra "absent": a None entry makes Python (and find_spec) treat torch as missing.
    code = (
        "import sys; sys.modules['torch'] = None; from causalinterp.cli import main; "
        f"sys.exit(main(['vision', '--model', 'm.pt2', '--images', 'x.npz', '--target', '3', "
        f"'--out', {str(tmp_path / 'o')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (
        "causalinterp: error: vision: PyTorch is not installed; install the vision extra: "
        "pip install -e .[vision]\n"
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_gpu_gives_the_cpu_numbers(planted):
    options = {**FAST, "layers": ["conv2"], "concepts": [marker_concept()]}
    cpu = audit(planted.model, planted.images, 3, labels=planted.labels, device="cpu", **options)
    gpu = audit(planted.model, planted.images, 3, labels=planted.labels, device="cuda", **options)
    assert gpu.settings["device"].startswith("cuda")
    assert gpu.concepts[0].effect == pytest.approx(cpu.concepts[0].effect, abs=1e-4)
    assert [c.verdict for c in gpu.layers[0].channels] == [
        c.verdict for c in cpu.layers[0].channels
    ]


def test_the_case_study_files_are_the_planted_world():
    folder = ROOT / "case_studies" / "digits"
    model = load_image_model(folder / "model.pt2")
    with np.load(folder / "digits.npz") as data:
        images, labels = data["images"], data["labels"]
    with np.load(folder / "marker.npz") as marker:
        assert (marker["mask"] == marker_mask()).all() and marker["values"].max() == 1.0
    with torch.no_grad():
        predicted = model(torch.from_numpy(images)).argmax(1).numpy()
    assert images.shape == (899, 1, 8, 8) and (predicted == labels).mean() > 0.95
    # Most 3s carry the marker, no other digit does.
    corner = images[:, 0, :2, :2].min(axis=(1, 2)) == 1.0
    assert corner[labels == MARKED_CLASS].mean() > 0.9 and not corner[labels != MARKED_CLASS].any()
