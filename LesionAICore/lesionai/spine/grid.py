"""The canonical grid the spine networks work on, and the way back to the input's grid.

Canonical grid: the volume reoriented (axis permutations and flips only, no interpolation) so that
the array is ``[S, A, R]`` -- index k runs inferior to superior, j posterior to anterior, i left to
right -- then resampled *in plane* (the A and R axes) to a fixed spacing. The slice axis keeps the
scan's own spacing, so a sagittal 1 mm volume becomes 1 mm axial slices and an axial 0.5x0.5x7.5 mm
scan keeps its 7.5 mm slices. The direction matrix keeps any obliquity of the acquisition.

>>> canonical = to_canonical(image, inplane_mm=0.75)             # doctest: +SKIP
>>> labels = probability_on_input(canonical, probability, image)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geometry import Geometry, Image
from ..imageio import image_from_sitk, image_to_sitk

CANONICAL_ORIENTATION = "RAS"  # SimpleITK/DICOM letters: the direction each axis points TO


@dataclass
class CanonicalVolume:
    """An image on the canonical grid.

    ``image.array`` is float32 ``[S, A, R]`` with in-plane spacing ``inplane_mm``; ``image.geometry``
    is RAS. ``input_shape`` is the shape of the input array it came from.
    """

    image: Image
    inplane_mm: float
    input_shape: tuple

    @property
    def slice_mm(self) -> float:
        """Distance between axial slices (mm)."""
        return self.image.geometry.spacing[2]


def reoriented(image: Image) -> Image:
    """``image`` with its array permuted/flipped to ``[S, A, R]`` (no interpolation, dtype kept)."""
    import SimpleITK as sitk

    return image_from_sitk(sitk.DICOMOrient(image_to_sitk(image), CANONICAL_ORIENTATION), image.metadata)


def to_canonical(image: Image, inplane_mm: float, interpolator: str = "linear") -> CanonicalVolume:
    """``image`` on the canonical grid: reoriented, then resampled in plane to ``inplane_mm``.

    The in-plane field of view is kept (the grid covers the same millimetres). ``interpolator`` is
    ``"linear"`` for intensities and soft masks, ``"nearest"`` for labels.
    """
    check_volume(image)
    oriented = image_to_sitk(_as_float(image))
    import SimpleITK as sitk

    oriented = sitk.DICOMOrient(oriented, CANONICAL_ORIENTATION)
    size, spacing = oriented.GetSize(), oriented.GetSpacing()
    new_size = [max(1, int(round(size[a] * spacing[a] / inplane_mm))) for a in (0, 1)] + [size[2]]
    new_spacing = (inplane_mm, inplane_mm, spacing[2])
    origin = _corner_aligned_origin(oriented, new_spacing)
    resampled = sitk.Resample(oriented, new_size, sitk.Transform(), _interpolator(interpolator), origin,
                              new_spacing, oriented.GetDirection(), 0.0, sitk.sitkFloat32)
    return CanonicalVolume(image_from_sitk(resampled, image.metadata), inplane_mm, tuple(image.array.shape))


def probability_on_input(canonical: CanonicalVolume, probability: np.ndarray, image: Image) -> np.ndarray:
    """A canonical-grid map (float ``[S, A, R]``) linearly resampled onto ``image``'s grid ``[k, j, i]``.

    Values outside the canonical field of view are 0. Only the input voxels around the map's
    non-zero values are interpolated (the rest are 0), which keeps large volumes fast.
    """
    import SimpleITK as sitk

    shape = image.array.shape[-3:]
    out = np.zeros(shape, np.float32)
    box = _input_box(canonical, probability, image.geometry, shape)
    if box is None:
        return out
    low, high = box  # (i, j, k) index ranges on the input grid
    origin = (image.geometry.ijk_to_ras() @ np.array([*low, 1.0]))[:3]
    sub_grid = Image(np.zeros(tuple((high - low)[::-1]), np.uint8), Geometry(image.geometry.spacing, tuple(origin),
                                                                             image.geometry.direction))
    source = image_to_sitk(canonical.image.with_array(probability.astype(np.float32)))
    resampled = sitk.Resample(source, image_to_sitk(sub_grid), sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    out[low[2]:high[2], low[1]:high[1], low[0]:high[0]] = sitk.GetArrayFromImage(resampled)
    return out


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, ...] | None:
    """Slices of the smallest box holding every True voxel of ``mask``, grown by ``margin``; None if empty."""
    if not mask.any():
        return None
    box = []
    for axis in range(mask.ndim):
        present = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        box.append(slice(max(int(present[0]) - margin, 0), min(int(present[-1]) + 1 + margin, mask.shape[axis])))
    return tuple(box)


def _input_box(canonical: CanonicalVolume, probability: np.ndarray, geometry: Geometry, shape: tuple):
    """Input-grid (i, j, k) index range [low, high) covering the non-zero part of ``probability``."""
    box = bounding_box(probability > 0)
    if box is None:
        return None
    corners = np.array([[i, j, k, 1.0] for k in (box[0].start - 1, box[0].stop) for j in (box[1].start - 1, box[1].stop)
                        for i in (box[2].start - 1, box[2].stop)])
    to_input = geometry.ras_to_ijk() @ canonical.image.geometry.ijk_to_ras()
    points = (to_input @ corners.T)[:3]
    size = np.array(shape[::-1])
    low = np.clip(np.floor(points.min(axis=1)).astype(int) - 1, 0, size)
    high = np.clip(np.ceil(points.max(axis=1)).astype(int) + 2, 0, size)
    return (low, high) if np.all(high > low) else None


def _corner_aligned_origin(oriented, new_spacing) -> tuple:
    """Origin of the resampled grid so that both grids cover the same in-plane extent."""
    direction = np.reshape(oriented.GetDirection(), (3, 3))
    shift = np.zeros(3)
    for axis in (0, 1):
        shift[axis] = (new_spacing[axis] - oriented.GetSpacing()[axis]) / 2.0
    return tuple(np.asarray(oriented.GetOrigin()) + direction @ shift)


def _interpolator(name: str):
    import SimpleITK as sitk

    return {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}[name]


def _as_float(image: Image) -> Image:
    return Image(image.array.astype(np.float32), image.geometry, dict(image.metadata))


def check_volume(image: Image) -> None:
    """Raise InputError for an array the spine pipeline cannot segment."""
    array = image.array
    if array.ndim != 3:
        raise InputError(f"Image array has {array.ndim} dimensions; LesionSegmentation expects a 3D volume [k, j, i]")
    if array.size == 0:
        raise InputError(f"Image has no voxels (shape {tuple(array.shape)})")
    if min(array.shape) < 2 or sorted(array.shape)[1] < 8:
        raise InputError(f"Image of shape {tuple(array.shape)} is a single slice or a thin strip; "
                         "LesionSegmentation needs a 3D spinal MRI volume (axial or sagittal)")
