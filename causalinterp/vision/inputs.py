"""The images and concepts an audit reads: arrays, ``.npz``/``.npy`` files, image folders.

Images are float arrays ``(N, C, H, W)``, fed to the model as they are: preprocessing
(scaling, normalisation) is the model's or the caller's business. Grey images ``(N, H, W)`` get
a channel axis; ``(N, H, W, C)`` with 1 or 3 channels last is transposed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from causalinterp.errors import DataError, OptionError, first_line

__all__ = ["Concept", "as_images", "load_concept", "load_images"]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


def as_images(images: np.ndarray, what: str = "images") -> np.ndarray:
    """``images`` as a float32 ``(N, C, H, W)`` array, or a one-line DataError naming ``what``.

    Examples
    --------
    >>> as_images(np.zeros((5, 8, 8))).shape
    (5, 1, 8, 8)
    >>> as_images(np.zeros((2, 4, 4, 3))).shape
    (2, 3, 4, 4)
    """
    array = np.asarray(images)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{what}: expected a numeric array, got dtype {array.dtype}; pass numbers")
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[1] not in (1, 3) and array.shape[3] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    if array.ndim != 4 or array.shape[0] == 0:
        raise DataError(
            f"{what}: expected an array of images (N, H, W) or (N, C, H, W), got shape "
            f"{array.shape}; stack the images along a first axis"
        )
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise DataError(f"{what}: holds NaN or infinite values; replace them before the audit")
    return np.ascontiguousarray(array)


def load_images(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read images (and labels, when the file has them).

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.npz`` file with an ``images`` array (and optionally ``labels``), a ``.npy`` array
        of images, or a folder of image files (PNG, JPEG ...; read in name order, scaled to
        [0, 1]).

    Returns
    -------
    images : numpy.ndarray
        ``(N, C, H, W)`` float32.
    labels : numpy.ndarray or None
        Integer class labels, one per image.
    """
    source = Path(path)
    shown = str(path)
    if source.is_dir():
        return _read_folder(source), None
    if not source.is_file():
        raise DataError(f"images: {shown!r} does not exist; pass a .npz or .npy file or a folder")
    suffix = source.suffix.lower()
    labels = None
    try:
        if suffix == ".npz":
            with np.load(source, allow_pickle=False) as archive:
                if "images" not in archive.files:
                    raise DataError(
                        f"images: {shown!r} has no 'images' array (it has "
                        f"{', '.join(archive.files) or 'none'}); save it with "
                        "numpy.savez(path, images=..., labels=...)"
                    )
                images = archive["images"]
                labels = archive["labels"] if "labels" in archive.files else None
        elif suffix == ".npy":
            images = np.load(source, allow_pickle=False)
        else:
            raise DataError(
                f"images: unsupported file type {suffix or '(none)'!r}; pass a .npz or .npy "
                "file or a folder of image files"
            )
    except (OSError, ValueError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(
            f"images: cannot read {shown!r} ({first_line(error)}); check the file"
        ) from None
    array = as_images(images, f"images {shown!r}")
    return array, _labels(labels, len(array), shown)


def _labels(labels: np.ndarray | None, n: int, shown: str) -> np.ndarray | None:
    if labels is None:
        return None
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != n or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"labels in {shown!r}: expected {n} integer class labels, got {len(labels)} of "
            f"dtype {labels.dtype}; save one integer label per image"
        )
    return labels.astype(np.int64)


def _read_folder(folder: Path) -> np.ndarray:
    from PIL import Image  # Pillow comes with matplotlib

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise DataError(
            f"images: folder {str(folder)!r} holds no image files; put PNG or JPEG files in it"
        )
    arrays = []
    for file in files:
        try:
            with Image.open(file) as image:
                arrays.append(np.asarray(image.convert("RGB" if image.mode != "L" else "L")))
        except OSError as error:
            raise DataError(
                f"images: cannot read {str(file)!r} ({first_line(error)}); fix or remove it"
            ) from None
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(
            f"images: the files in {str(folder)!r} differ in size ({sorted(shapes)[:2]}); "
            "resize them to one size"
        )
    return as_images(np.stack(arrays) / np.float32(255.0), f"images in {str(folder)!r}")


@dataclass(frozen=True, eq=False)
class Concept:
    """A user-named concept: where it is in the images, and how to remove or insert it.

    Attributes
    ----------
    name : str
        The concept's name, as reports show it.
    mask : numpy.ndarray, optional
        Boolean ``(H, W)`` (the same place in every image) or ``(N, H, W)`` (one per image):
        the concept's pixels. Removing the concept fills them (option ``concept_fill``); the
        attribution mass on the concept is the Integrated Gradients mass inside the mask.
    values : numpy.ndarray, optional
        The concept's pixel values, ``(H, W)`` or ``(C, H, W)``: inserting the concept writes
        them into the mask of images of the other classes.
    transform : callable, optional
        Python only: ``images (N, C, H, W) -> images`` without the concept, used instead of
        the mask's fill (the mask, when given, still locates its attribution mass).
    shortcut : bool
        Declared not part of the object: a material effect then flags it as a shortcut.
    """

    name: str
    mask: np.ndarray | None = None
    values: np.ndarray | None = None
    transform: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)
    shortcut: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise OptionError(f"concept: name {self.name!r} is empty; give the concept a name")
        if self.mask is None and self.transform is None:
            raise OptionError(
                f"concept {self.name!r}: neither a mask nor a transform; pass mask= (a boolean "
                "(H, W) array) or transform= (a function removing the concept)"
            )
        if self.mask is not None:
            mask = np.asarray(self.mask)
            if mask.ndim not in (2, 3) or not (
                mask.dtype == bool or set(np.unique(mask)) <= {0, 1}
            ):
                raise DataError(
                    f"concept {self.name!r}: the mask must be a boolean (H, W) or (N, H, W) "
                    f"array, got shape {mask.shape} of dtype {mask.dtype}; save it as booleans"
                )
            if not mask.any():
                raise DataError(f"concept {self.name!r}: the mask is empty; mark its pixels True")
            object.__setattr__(self, "mask", mask.astype(bool))
        if self.values is not None and self.mask is None:
            raise OptionError(
                f"concept {self.name!r}: values without a mask; say where they go with mask="
            )
        if self.values is not None:
            object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float32))

    def check(self, shape: tuple[int, ...]) -> None:
        """A one-line DataError when the concept does not fit images of ``shape`` (N, C, H, W)."""
        n, c, h, w = shape
        if self.mask is not None:
            mask = self.mask
            if mask.shape[-2:] != (h, w) or (mask.ndim == 3 and mask.shape[0] != n):
                wanted = f"({h}, {w}) or ({n}, {h}, {w})"
                raise DataError(
                    f"concept {self.name!r}: mask of shape {mask.shape} does not fit images "
                    f"{c}x{h}x{w}; make it {wanted}"
                )
        if self.values is not None:
            values = self.values
            if values.shape[-2:] != (h, w) or (values.ndim == 3 and values.shape[0] not in (1, c)):
                raise DataError(
                    f"concept {self.name!r}: values of shape {values.shape} do not fit images "
                    f"{c}x{h}x{w}; make them ({h}, {w}) or ({c}, {h}, {w})"
                )


def load_concept(spec: str, shortcuts: frozenset[str] | set[str] = frozenset()) -> Concept:
    """A concept from the command line's ``NAME=FILE``.

    ``FILE`` is a ``.npy`` boolean mask, or a ``.npz`` with ``mask`` and optionally ``values``
    (the concept's pixels, for insertion).
    """
    name, sep, file = spec.partition("=")
    name = name.strip()
    if not sep or not name or not file:
        raise OptionError(f"concept: {spec!r} is not NAME=FILE; write e.g. marker=marker.npy")
    path = Path(file)
    if not path.is_file():
        raise DataError(f"concept {name!r}: file {file!r} does not exist; check the path")
    values = None
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "mask" not in archive.files:
                    raise DataError(
                        f"concept {name!r}: {file!r} has no 'mask' array; save it with "
                        "numpy.savez(path, mask=..., values=...)"
                    )
                mask = archive["mask"]
                values = archive["values"] if "values" in archive.files else None
        elif path.suffix.lower() == ".npy":
            mask = np.load(path, allow_pickle=False)
        else:
            raise DataError(
                f"concept {name!r}: unsupported file type {path.suffix or '(none)'!r}; pass a "
                ".npy mask or a .npz with mask (and values)"
            )
    except (OSError, ValueError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(
            f"concept {name!r}: cannot read {file!r} ({first_line(error)}); check the file"
        ) from None
    return Concept(name, mask=mask, values=values, shortcut=name in shortcuts)


def remove_concept(
    images: np.ndarray, concept: Concept, fill: str, index: np.ndarray
) -> np.ndarray:
    """``images`` (the rows ``index`` of the set) with the concept removed."""
    if concept.transform is not None:
        out = np.asarray(concept.transform(images.copy()), dtype=np.float32)
        if out.shape != images.shape:
            raise DataError(
                f"concept {concept.name!r}: the transform returned shape {out.shape} for images "
                f"{images.shape}; return images of the same shape"
            )
        return out
    mask = _mask_for(concept, index, images.shape)
    if fill == "zero":
        return np.where(mask, np.float32(0.0), images).astype(np.float32)
    return inpaint(images, mask) if fill == "inpaint" else mean_fill(images, mask)


def insert_concept(images: np.ndarray, concept: Concept, index: np.ndarray) -> np.ndarray:
    """``images`` with the concept's values written into its mask."""
    assert concept.values is not None and concept.mask is not None
    mask = _mask_for(concept, index, images.shape)
    values = concept.values if concept.values.ndim == 3 else concept.values[None]
    return np.where(mask, values[None], images).astype(np.float32)


def concept_mask(concept: Concept, index: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The concept's mask for the rows ``index``, ``(n, 1, H, W)``; None without a mask."""
    return None if concept.mask is None else _mask_for(concept, index, shape)


def _mask_for(concept: Concept, index: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    mask = concept.mask
    assert mask is not None
    rows = mask[index] if mask.ndim == 3 else np.broadcast_to(mask, (len(index), *mask.shape))
    return np.broadcast_to(rows[:, None], (shape[0], 1, *shape[2:]))


def mean_fill(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked pixels replaced by each image's (and channel's) mean outside the mask."""
    full = np.broadcast_to(mask, images.shape)
    outside = np.where(full, 0.0, images).sum(axis=(2, 3), keepdims=True)
    count = np.maximum((~full).sum(axis=(2, 3), keepdims=True), 1)
    return np.where(full, outside / count, images).astype(np.float32)


def inpaint(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked pixels diffused in from their neighbours (Jacobi iterations of Laplace's equation).

    Starts from the mean fill and repeats the average of the four neighbours inside the mask;
    the unmasked pixels stay as they are. Enough iterations for the boundary to reach the
    middle of a mask as wide as the image.

    Examples
    --------
    >>> image = np.zeros((1, 1, 4, 4), np.float32); image[0, 0, :, 2:] = 1.0
    >>> mask = np.zeros((1, 1, 4, 4), bool); mask[0, 0, 0, 0] = True
    >>> image[0, 0, 0, 0] = 9.0
    >>> float(inpaint(image, mask)[0, 0, 0, 0])
    0.0
    """
    full = np.broadcast_to(mask, images.shape)
    out = mean_fill(images, mask)
    # Each pixel's count of neighbours inside the image (2 in a corner, 3 on an edge, else 4).
    ones = np.pad(np.ones(images.shape[2:], np.float32), 1)
    count = ones[:-2, 1:-1] + ones[2:, 1:-1] + ones[1:-1, :-2] + ones[1:-1, 2:]
    for _ in range(2 * max(images.shape[2:])):
        padded = np.pad(out, ((0, 0), (0, 0), (1, 1), (1, 1)))
        total = (
            padded[:, :, :-2, 1:-1]
            + padded[:, :, 2:, 1:-1]
            + padded[:, :, 1:-1, :-2]
            + padded[:, :, 1:-1, 2:]
        )
        out = np.where(full, total / count, out)
    return out.astype(np.float32)
