"""Training examples of the scan check: network inputs of augmented scans, with label indices.

Augmentation works on whole scans before the inputs are taken, so the grid descriptors change
with the pixels: crops (the cord stays inside for spinal scans), re-stored voxel axes (changes the
native slice and the geometry's view together), thick slices (block averages along k), coarser
in-plane grids, single slices, intensity scaling, gamma, noise and inversion (inverted MR keeps its
anatomy but loses its contrast label). Crops of spinal MRI that leave the spine out become
``other MR`` examples.

An example is a dict: ``planes`` (3, 64, 64), ``native`` (1, 64, 64), ``descriptors`` (F,) float32;
``anatomy``, ``region``, ``view``, ``contrast`` label indices (-1 = unknown); ``group``, ``name``;
``original`` True for the un-augmented scan (the one cross-validation scores).
"""

from __future__ import annotations

import numpy as np

from ...geometry import Geometry, Image
from ...spine.scan_check import ANATOMIES, CONTRASTS, REGIONS
from ...spine.scan_inputs import scan_inputs
from ...spine.scan_view import VIEWS, acquisition_plane
from .scan_check_data import ScanSource

MR_ANATOMIES = ("spine", "brain", "other MR")


def source_examples(source: ScanSource, variants: int, other_crops: int, rng: np.random.Generator) -> list[dict]:
    """The original scan's example, ``variants`` augmented ones and ``other_crops`` spine-free crops."""
    image = source.load()
    cord = source.cord_mask() if source.cord_mask else None
    examples = [make_example(image, source, original=True)]
    for _ in range(variants):
        augmented, contrast_known = augment(image, source, cord, rng)
        examples.append(make_example(augmented, source, contrast_known))
    if cord is not None and cord.any():
        for _ in range(other_crops):
            crop = spine_free_crop(image, cord, rng)
            if crop is not None:
                examples.append(make_example(_intensity(crop, "other MR", rng)[0], source, anatomy="other MR",
                                             contrast_known=False))
    return examples


def make_example(image: Image, source: ScanSource, contrast_known: bool = True, anatomy: str | None = None,
                 original: bool = False) -> dict:
    anatomy = anatomy or source.anatomy
    example = dict(scan_inputs(image))
    tomographic = anatomy != "other" and image.array.shape[0] > 1
    view = acquisition_plane(image.geometry, image.array.shape).view if tomographic else None
    example.update(anatomy=ANATOMIES.index(anatomy), view=_index(VIEWS, view),
                   region=_index(REGIONS, source.region if anatomy == "spine" else None),
                   contrast=_index(CONTRASTS, source.contrast if contrast_known and anatomy in MR_ANATOMIES else None),
                   group=source.group, name=source.name, original=original, real=source.real)
    return example


def augment(image: Image, source: ScanSource, cord, rng) -> tuple[Image, bool]:
    """(augmented scan, whether its contrast label still holds)."""
    image, cord = _crop(image, cord, rng, keep_cord=source.anatomy == "spine")
    if rng.random() < 0.4:
        image = restored_axes(image, rng)
    if rng.random() < 0.3:
        image = _thick_slices(image, int(rng.integers(2, 6)))
    if rng.random() < 0.3:
        image = _coarser_plane(image)
    if rng.random() < 0.08 and image.array.shape[0] > 1:
        k = int(rng.integers(image.array.shape[0] // 4, 3 * image.array.shape[0] // 4 + 1))
        image = Image(image.array[k:k + 1], image.geometry, image.metadata)
    return _intensity(image, source.anatomy, rng)


def restored_axes(image: Image, rng) -> Image:
    """The same scan with its voxel axes permuted and flipped (geometry updated to match)."""
    permutation = rng.permutation(3)           # new voxel axis n takes old axis permutation[n]
    flips = rng.random(3) < 0.5
    array = np.transpose(image.array, [2 - permutation[2], 2 - permutation[1], 2 - permutation[0]])
    for axis in range(3):
        if flips[axis]:
            array = np.flip(array, 2 - axis)
    direction = image.geometry.direction[:, permutation] * np.where(flips, -1.0, 1.0)
    spacing = tuple(image.geometry.spacing[n] for n in permutation)
    return Image(np.ascontiguousarray(array), Geometry(spacing, image.geometry.origin, direction), image.metadata)


def spine_free_crop(image: Image, cord: np.ndarray, rng) -> Image | None:
    """A box of the scan at least 35 mm away from the cord along the voxel axis where that leaves the
    most room (front, back or side of the spine); None when no axis leaves 8 voxels."""
    spacing = image.geometry.spacing[::-1]  # k, j, i
    occupied = [np.flatnonzero(cord.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    options = []
    for axis in range(3):
        margin = int(np.ceil(35.0 / spacing[axis]))
        low, high = occupied[axis].min() - margin, occupied[axis].max() + margin
        options += [(low, axis, slice(0, max(low, 0))), (image.array.shape[axis] - high, axis, slice(high, None))]
    room, axis, kept = max(options, key=lambda option: option[0])
    if room < 8:
        return None
    index = [slice(None)] * 3
    index[axis] = kept
    return Image(np.ascontiguousarray(image.array[tuple(index)]), image.geometry, image.metadata)


def _crop(image: Image, cord, rng, keep_cord: bool):
    if rng.random() > 0.7:
        return image, cord
    centre = _cord_centre(cord) if keep_cord and cord is not None else None
    index = []
    for axis, size in enumerate(image.array.shape):
        keep = max(1, int(round(size * rng.uniform(0.55, 1.0))))
        start = int(rng.integers(0, size - keep + 1))
        if centre is not None:
            start = int(np.clip(centre[axis] - keep // 2 + rng.integers(-keep // 4, keep // 4 + 1), 0, size - keep))
        index.append(slice(start, start + keep))
    cropped = cord[tuple(index)] if cord is not None else None
    return Image(np.ascontiguousarray(image.array[tuple(index)]), image.geometry, image.metadata), cropped


def _cord_centre(cord: np.ndarray) -> list[int]:
    if not cord.any():
        return [n // 2 for n in cord.shape]
    return [int(np.mean(np.flatnonzero(cord.any(axis=tuple(a for a in range(3) if a != axis))))) for axis in range(3)]


def _thick_slices(image: Image, factor: int) -> Image:
    """Averages of ``factor`` neighbouring slices along k (a thick-slice 2D acquisition)."""
    slices = image.array.shape[0] // factor
    if slices < 3:
        return image
    array = image.array[: slices * factor].astype(np.float32)
    thick = array.reshape(slices, factor, *array.shape[1:]).mean(axis=1)
    spacing = (*image.geometry.spacing[:2], image.geometry.spacing[2] * factor)
    return Image(thick, Geometry(spacing, image.geometry.origin, image.geometry.direction), image.metadata)


def _coarser_plane(image: Image) -> Image:
    if min(image.array.shape[1:]) < 64:
        return image
    spacing = (image.geometry.spacing[0] * 2, image.geometry.spacing[1] * 2, image.geometry.spacing[2])
    array = np.ascontiguousarray(image.array[:, ::2, ::2])
    return Image(array, Geometry(spacing, image.geometry.origin, image.geometry.direction), image.metadata)


def _intensity(image: Image, anatomy: str, rng) -> tuple[Image, bool]:
    """Scanner-like intensity changes; CT keeps Hounsfield units (only a small offset)."""
    array = image.array.astype(np.float32)
    if anatomy == "CT":
        return Image(array + np.float32(rng.uniform(-20, 20)), image.geometry, image.metadata), True
    array = array - min(float(array.min()), 0.0)
    top = max(float(np.percentile(array[:: max(1, array.shape[0] // 8)], 99.5)), 1e-6)
    unit = np.clip(array / top, 0, None)
    inverted = anatomy != "other" and rng.random() < 0.15
    if inverted:
        unit = np.clip(1.0 - unit, 0, None) * (unit > 0.02)
    unit = unit ** np.float32(rng.uniform(0.75, 1.35))
    unit = unit + np.float32(rng.uniform(0, 0.04)) * rng.standard_normal(unit.shape, dtype=np.float32)
    scale = np.float32(10 ** rng.uniform(-0.5, 1.5))
    return Image(np.abs(unit) * scale * 100, image.geometry, image.metadata), not inverted


def _index(labels: tuple[str, ...], label: str | None) -> int:
    return labels.index(label) if label is not None else -1
