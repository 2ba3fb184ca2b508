"""Synthetic spinal cord lesions inserted into real cord MRI, for training and testing the lesion model.

A lesion is an ellipsoid whose long axis follows the local cord direction (cranio-caudal), with

* length 1-15 mm along the cord (log-uniform), width 0.35-0.8 of the length across it, at least
  1 mm and at most ``max_width_mm`` or 0.7 of the local cord diameter (a cord is about 8 x 12 mm);
* a centre inside the cord, at rate ``border_rate`` on the cord border so that the lesion touches
  or crosses it, as dorsal-column and lateral lesions do;
* a partial-volume edge: each voxel's fraction inside the ellipsoid is averaged over sub-voxel
  samples (finer along thick slices) and softened by a logistic edge of ``edge`` (fraction of the
  radius), so a 3 mm lesion in a 7.5 mm slice is faint, as in real scans;
* an intensity between the cord and the CSF: brighter than the cord (hyperintense) for T2w, T2*w,
  STIR and MT scans, darker than the cord (hypointense) for T1w, with 5 % multiplicative texture.

The image is blended as ``(1 - f) * image + f * lesion_intensity`` with ``f`` the voxel fraction;
the returned mask is ``f >= 0.5``. Arrays are on the canonical grid ``[S, A, R]`` with ``spacing``
``(s_mm, a_mm, r_mm)``.

>>> inserted = insert_lesions(volume, cord, (1.0, 0.75, 0.75), "T2w", np.random.default_rng(0))  # doctest: +SKIP
>>> inserted.mask.max(), len(inserted.lesions)                                                    # doctest: +SKIP
(1, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

HYPOINTENSE_CONTRASTS = ("T1w",)
SUB_SAMPLE_MM = 0.5


@dataclass
class LesionShape:
    """One inserted lesion: centre (voxel indices S, A, R), axis (unit vector in mm space), sizes (mm)."""

    centre: np.ndarray
    axis: np.ndarray
    length_mm: float
    width_mm: float
    intensity: float
    on_border: bool


@dataclass
class InsertedLesions:
    """Result of :func:`insert_lesions`: the modified image, the lesion mask (uint8 0/1), the soft
    voxel fractions (0-1) and the lesions' shapes."""

    image: np.ndarray
    mask: np.ndarray
    fraction: np.ndarray
    lesions: list[LesionShape] = field(default_factory=list)


def is_hypointense(contrast: str) -> bool:
    """True when lesions are darker than the cord on this contrast (T1w)."""
    return contrast.startswith(HYPOINTENSE_CONTRASTS)


def insert_lesions(image: np.ndarray, cord: np.ndarray, spacing: tuple, contrast: str, rng,
                   count: int | None = None, length_mm: tuple = (1.0, 15.0), max_width_mm: float = 7.0,
                   border_rate: float = 0.3, edge: float = 0.15) -> InsertedLesions:
    """Insert ``count`` lesions (default 1-4) into ``image`` inside the boolean ``cord`` mask."""
    image = image.astype(np.float32)
    count = int(rng.integers(1, 5)) if count is None else count
    if count == 0 or not cord.any():
        empty = np.zeros(image.shape, np.float32)
        return InsertedLesions(image.copy(), empty.astype(np.uint8), empty)
    levels = _intensity_levels(image, cord)
    fraction = np.zeros(image.shape, np.float32)
    target = np.zeros(image.shape, np.float32)
    lesions = []
    for _ in range(count):
        shape = _random_lesion(cord, spacing, contrast, levels, rng, length_mm, max_width_mm, border_rate)
        _paint(fraction, target, shape, spacing, edge)
        lesions.append(shape)
    texture = 1.0 + 0.05 * rng.standard_normal(image.shape).astype(np.float32)
    blended = (1 - fraction) * image + fraction * target * texture
    return InsertedLesions(blended.astype(np.float32), (fraction >= 0.5).astype(np.uint8), fraction, lesions)


def _intensity_levels(image: np.ndarray, cord: np.ndarray) -> dict:
    """Median cord intensity and bright/dark levels of the tissue around it (CSF, fat)."""
    surround = ndimage.binary_dilation(cord, iterations=4) & ~cord
    around = image[surround] if surround.any() else image[cord]
    return {"cord": float(np.median(image[cord])), "bright": float(np.percentile(around, 95)),
            "dark": float(np.percentile(around, 5))}


def _random_lesion(cord, spacing, contrast, levels, rng, length_range, max_width_mm, border_rate) -> LesionShape:
    on_border = bool(rng.random() < border_rate)
    centre = _random_cord_voxel(cord, on_border, rng)
    length = float(np.exp(rng.uniform(np.log(length_range[0]), np.log(length_range[1]))))
    widest = min(max_width_mm, 0.7 * _cord_diameter_mm(cord, centre, spacing))
    width = float(np.clip(length * rng.uniform(0.35, 0.8), 1.0, max(widest, 1.0)))
    strength = rng.uniform(0.4, 1.0)
    cord_level = levels["cord"]
    if is_hypointense(contrast):
        intensity = cord_level - strength * max(cord_level - levels["dark"], 0.2 * cord_level)
    else:
        intensity = cord_level + strength * max(levels["bright"] - cord_level, 0.3 * cord_level)
    return LesionShape(centre, cord_direction(cord, centre, spacing), length, width, float(intensity), on_border)


def _cord_diameter_mm(cord: np.ndarray, centre: np.ndarray, spacing: tuple) -> float:
    """Diameter (mm) of the disc with the cord's cross-section area in the slice of ``centre``."""
    area_mm2 = cord[int(round(centre[0]))].sum() * spacing[1] * spacing[2]
    return float(2 * np.sqrt(area_mm2 / np.pi))


def _random_cord_voxel(cord: np.ndarray, on_border: bool, rng) -> np.ndarray:
    candidates = cord & ~ndimage.binary_erosion(cord, structure=_in_plane_cross()) if on_border else cord
    points = np.argwhere(candidates if candidates.any() else cord)
    return points[rng.integers(len(points))].astype(float) + rng.uniform(-0.5, 0.5, 3)


def _in_plane_cross() -> np.ndarray:
    cross = np.zeros((3, 3, 3), bool)
    cross[1] = ndimage.generate_binary_structure(2, 1)
    return cross


def cord_direction(cord: np.ndarray, centre: np.ndarray, spacing: tuple, half_span_mm: float = 6.0) -> np.ndarray:
    """Unit vector (mm space, axes S, A, R) of the cord centreline near ``centre``; S when unknown."""
    half = max(1, int(round(half_span_mm / spacing[0])))
    k = int(round(centre[0]))
    rows = [(s, np.argwhere(cord[s])) for s in range(max(0, k - half), min(len(cord), k + half + 1))]
    points = np.array([[s, *voxels.mean(axis=0)] for s, voxels in rows if len(voxels)]) * np.asarray(spacing)
    if len(points) < 2:
        return np.array([1.0, 0.0, 0.0])
    direction = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)[2][0]
    return direction * np.sign(direction[0] or 1.0)


def _paint(fraction: np.ndarray, target: np.ndarray, shape: LesionShape, spacing: tuple, edge: float) -> None:
    """Add one lesion's soft fraction (max with earlier lesions) and its intensity to the arrays."""
    spacing = np.asarray(spacing, float)
    reach = np.ceil((shape.length_mm / 2 + spacing) / spacing).astype(int)
    low = np.maximum(np.floor(shape.centre).astype(int) - reach, 0)
    high = np.minimum(np.floor(shape.centre).astype(int) + reach + 1, fraction.shape)
    box = tuple(slice(a, b) for a, b in zip(low, high))
    inside = _voxel_fraction(low, high, shape, spacing, edge)
    fraction[box] = np.maximum(fraction[box], inside)
    target[box] = np.where(inside > 0, shape.intensity, target[box])


def _voxel_fraction(low, high, shape: LesionShape, spacing: np.ndarray, edge: float) -> np.ndarray:
    """Mean over sub-voxel samples of a logistic inside-ness of the ellipsoid, for the voxels in the box."""
    subs = [np.clip(int(np.ceil(s / SUB_SAMPLE_MM)), 1, 7) for s in spacing]
    offsets = [(np.arange(n) + 0.5) / n - 0.5 for n in subs]
    grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(low, high)], indexing="ij")
    total = np.zeros(grids[0].shape, np.float32)
    for ds in offsets[0]:
        for da in offsets[1]:
            for dr in offsets[2]:
                points = np.stack([g + d for g, d in zip(grids, (ds, da, dr))], -1)
                total += _inside(points, shape, spacing, edge)
    return total / (len(offsets[0]) * len(offsets[1]) * len(offsets[2]))


def _inside(points: np.ndarray, shape: LesionShape, spacing: np.ndarray, edge: float) -> np.ndarray:
    """Logistic inside-ness (0-1) of voxel-index ``points`` ``[..., 3]`` for the ellipsoid."""
    offset = (points - shape.centre) * spacing
    along = offset @ shape.axis
    across = np.linalg.norm(offset - along[..., None] * shape.axis, axis=-1)
    radius = np.sqrt((along / (shape.length_mm / 2)) ** 2 + (across / (shape.width_mm / 2)) ** 2)
    return 1.0 / (1.0 + np.exp(-(1.0 - radius) / edge))
