"""What the nodule classifier sees: the nodule's bounding box on a fixed physical grid, and the
published variables as a value vector plus a missing-value mask.

The image input is the nodule mask's bounding box without margin, so it does not depend on how
much context the CT region around the nodule has: the CT and the mask are cut to the mask's
bounding box, then resampled around the box centre onto a
grid of fixed shape and spacing (``[k, j, i]``, millimetres), with air (-1000 HU) and mask 0 outside
the box. A nodule larger than the grid's field of view loses its rim; the size variables of the
tabular branch still carry it.

>>> crop = classifier_crop(region_hu, nodule_mask, (16, 32, 32), (2.0, 1.0, 1.0))  # doctest: +SKIP
>>> crop.shape
(2, 16, 32, 32)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from ..geometry import Geometry, Image
from .features import FEATURE_NAMES
from .grids import kji_to_ras, sample

HU_WINDOW = (-1000.0, 400.0)
AIR_HU = -1000.0
# The twelve published variables (:mod:`.features`) are the tabular input, in this order; Gender is
# coded 0 female, 1 male.


def normalised_hu(hu: np.ndarray) -> np.ndarray:
    """HU clipped to :data:`HU_WINDOW` and mapped linearly to [0, 1] (float32)."""
    low, high = HU_WINDOW
    return ((np.clip(hu, low, high) - low) / (high - low)).astype(np.float32)


def mask_box(mask: np.ndarray) -> tuple[slice, slice, slice]:
    """``[k, j, i]`` slices of the smallest box holding every non-zero mask voxel.

    Raises :class:`InputError` for an empty mask.
    """
    occupied = np.argwhere(np.asarray(mask) > 0)
    if occupied.size == 0:
        raise InputError("The nodule mask is empty; the classifier needs at least one nodule voxel "
                         "(check the segmentation or the nodule's seed point)")
    low, high = occupied.min(0), occupied.max(0) + 1
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high))


def box_image(image: Image, box: tuple[slice, slice, slice]) -> Image:
    """The sub-image ``image.array[box]`` with its geometry moved to the box's first voxel."""
    first_kji = [part.start for part in box]
    origin = kji_to_ras(image.geometry, first_kji)
    geometry = Geometry(spacing=image.geometry.spacing, origin=tuple(origin), direction=image.geometry.direction)
    return Image(np.asarray(image.array[box]), geometry)


def centred_grid(box: Image, shape: tuple[int, int, int], spacing_kji: tuple[float, float, float]) -> Geometry:
    """Grid of ``shape`` ``[k, j, i]`` and ``spacing_kji`` (mm), axes as ``box``'s, centred on the box."""
    centre_kji = (np.asarray(box.array.shape, dtype=float) - 1) / 2
    centre = kji_to_ras(box.geometry, centre_kji)
    spacing_ijk = np.asarray(spacing_kji, dtype=float)[::-1]
    half_ijk = (np.asarray(shape[::-1], dtype=float) - 1) / 2
    origin = centre - box.geometry.direction @ (half_ijk * spacing_ijk)
    return Geometry(spacing=tuple(spacing_ijk), origin=tuple(origin), direction=box.geometry.direction)


def classifier_crop(region_hu: Image, nodule_mask: Image, shape: tuple[int, int, int],
                    spacing_kji: tuple[float, float, float]) -> np.ndarray:
    """(2, D, H, W) float32 classifier input: normalised HU and the 0/1 mask on the nodule grid.

    ``region_hu`` (HU) and ``nodule_mask`` (non-zero = nodule) must share one grid; ``shape`` is
    (D, H, W) = ``[k, j, i]`` voxels and ``spacing_kji`` their size in mm.
    """
    if region_hu.array.shape != nodule_mask.array.shape:
        raise InputError(f"The CT region {region_hu.array.shape} and the nodule mask {nodule_mask.array.shape} "
                         "are on different grids; resample the mask onto the CT region first")
    box = mask_box(nodule_mask.array)
    hu_box = box_image(region_hu, box)
    mask_values = (np.asarray(nodule_mask.array[box]) > 0).astype(np.float32)
    grid = centred_grid(hu_box, tuple(shape), spacing_kji)
    hu = sample(hu_box.array, hu_box.geometry, grid, shape, order=1, cval=AIR_HU)
    mask = sample(mask_values, hu_box.geometry, grid, shape, order=1, cval=0.0)
    return np.stack([normalised_hu(hu), (mask >= 0.5).astype(np.float32)])


def feature_vector(features: Mapping[str, float | None],
                   names=FEATURE_NAMES) -> tuple[np.ndarray, np.ndarray]:
    """(values (F,), missing (F,)) float32 for the tabular branch, in the order of ``names``.

    A variable that is absent, None or not finite is missing: its value is 0 and its mask 1, so the
    network replaces it with its learned mask token. Gender may be given as 0/1 or "F"/"M".
    """
    values, missing = np.zeros(len(names), np.float32), np.zeros(len(names), np.float32)
    for index, name in enumerate(names):
        value = _numeric(name, features.get(name))
        if value is None:
            missing[index] = 1.0
        else:
            values[index] = value
    return values, missing


def _numeric(name: str, value) -> float | None:
    if value is None:
        return None
    if name == "Gender" and isinstance(value, str):
        return _gender_code(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"Feature {name} has the value {value!r}, which is not a number; give a number or "
                         "None when it is unknown") from None
    return number if np.isfinite(number) else None


def _gender_code(text: str) -> float | None:
    codes = {"f": 0.0, "female": 0.0, "m": 1.0, "male": 1.0}
    if text.strip() == "":
        return None
    if text.strip().lower() not in codes:
        raise InputError(f"Gender {text!r} is not understood; use 0/F/female or 1/M/male, or None when unknown")
    return codes[text.strip().lower()]
