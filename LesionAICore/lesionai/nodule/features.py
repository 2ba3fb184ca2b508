"""The published NoduleFusion (Lung-PNetV2) tabular variables of one nodule, in physical units.

Pure numpy. Inputs are the nodule mask and the CT in HU on the same grid (``[k, j, i]``) and the
grid's :class:`~lesionai.geometry.Geometry`; nothing is resampled, so the numbers are those of the
input image. Definitions:

* ``Volume`` (mm3): voxel count x voxel volume.
* ``XAreaMax`` (mm2): the largest axial cross-section (voxel count x in-plane pixel area). "Axial"
  slices are those across the voxel axis closest to the patient's superior direction.
* ``XMaxDiameter`` (mm): the largest in-plane Feret (caliper) diameter on the slice of ``XAreaMax``.
* ``DiameterMax`` / ``DiameterMin`` (mm): the largest / smallest 3-D Feret diameter: the nodule's
  width measured between two parallel planes, over ``FERET_DIRECTIONS`` directions. The width is
  that of the voxel centres plus half a voxel (one quarter on each side): voxel centres alone
  shorten a digitised ball by about one voxel and whole voxel boxes lengthen it by about one, so
  this is the unbiased middle. ``RatioDiameter`` = max / min (>= 1).
* ``MaxCT``, ``MinCT``, ``MeanCT``, ``VarCT`` (HU, HU2): intensity statistics inside the mask
  (population variance).
* ``Gender`` (``"F"``/``"M"``), ``Age`` (years): given by the user, else None (missing, masked by
  the tabular model).

>>> features = nodule_features(mask, hu, geometry)      # doctest: +SKIP
>>> features["Volume"]                                   # doctest: +SKIP
{'value': 523.6, 'unit': 'mm3'}
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..geometry import Geometry

FERET_DIRECTIONS = 600
PLANAR_DIRECTIONS = 180
UNITS = {"Gender": None, "Age": "years", "XMaxDiameter": "mm", "Volume": "mm3", "MaxCT": "HU", "MinCT": "HU",
         "MeanCT": "HU", "VarCT": "HU2", "XAreaMax": "mm2", "DiameterMax": "mm", "DiameterMin": "mm",
         "RatioDiameter": None}
FEATURE_NAMES = tuple(UNITS)


def nodule_features(mask: np.ndarray, hu: np.ndarray, geometry: Geometry, age: float | None = None,
                    sex: str | None = None) -> dict[str, dict]:
    """The twelve variables as ``{name: {"value": number or None, "unit": str or None}}``.

    Raises :class:`InputError` for an empty mask (no nodule was found).
    """
    values = feature_values(mask, hu, geometry, age, sex)
    return {name: {"value": values[name], "unit": UNITS[name]} for name in FEATURE_NAMES}


def feature_values(mask: np.ndarray, hu: np.ndarray, geometry: Geometry, age: float | None = None,
                   sex: str | None = None) -> dict[str, float | str | None]:
    """``{name: value}`` of the twelve variables (see the module docstring for definitions)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise InputError("No nodule was segmented, so no features can be measured; check the nodule point")
    diameter_max, diameter_min = feret_diameters_3d(mask, geometry)
    area, planar_max = largest_axial_section(mask, geometry)
    inside = np.asarray(hu, dtype=np.float64)[mask]
    return {"Gender": normalized_sex(sex), "Age": None if age is None else float(age),
            "XMaxDiameter": planar_max, "Volume": volume_mm3(mask, geometry),
            "MaxCT": float(inside.max()), "MinCT": float(inside.min()), "MeanCT": float(inside.mean()),
            "VarCT": float(inside.var()), "XAreaMax": area, "DiameterMax": diameter_max,
            "DiameterMin": diameter_min, "RatioDiameter": diameter_max / diameter_min}


def normalized_sex(sex: str | None) -> str | None:
    """``"F"``, ``"M"`` or None from common spellings; raises :class:`InputError` otherwise."""
    if sex is None or str(sex).strip() == "":
        return None
    text = str(sex).strip().upper()
    if text in ("F", "FEMALE", "W", "WOMAN"):
        return "F"
    if text in ("M", "MALE", "MAN"):
        return "M"
    raise InputError(f"Sex {sex!r} is not understood; give F or M, or leave it out")


def volume_mm3(mask: np.ndarray, geometry: Geometry) -> float:
    return float(mask.sum() * np.prod(geometry.spacing))


def axial_axis(geometry: Geometry) -> int:
    """Array axis (0 = k, 1 = j, 2 = i) whose voxel direction is closest to superior (RAS S)."""
    return 2 - int(np.argmax(np.abs(geometry.direction[2])))


def largest_axial_section(mask: np.ndarray, geometry: Geometry) -> tuple[float, float]:
    """(area mm2, in-plane max Feret diameter mm) of the axial slice with the largest area."""
    axis = axial_axis(geometry)
    counts = mask.sum(axis=tuple(a for a in range(3) if a != axis))
    index = int(np.argmax(counts))
    section = np.take(mask, index, axis=axis)
    return float(counts[index] * _pixel_area(geometry, axis)), planar_feret_max(section, _plane_axes(geometry, axis))


def max_axial_diameter(mask: np.ndarray, geometry: Geometry) -> float:
    """Largest in-plane Feret diameter (mm) over all axial slices (0 for an empty mask)."""
    axis = axial_axis(geometry)
    axes = _plane_axes(geometry, axis)
    sections = (np.take(mask, index, axis=axis) for index in range(mask.shape[axis]))
    return max((planar_feret_max(s, axes) for s in sections if s.any()), default=0.0)


def _plane_axes(geometry: Geometry, axis: int) -> np.ndarray:
    """2 x 3 RAS step vectors (mm) of the two in-plane array axes of slices across ``axis``."""
    steps = _array_steps(geometry)
    return steps[[a for a in range(3) if a != axis]]


def _array_steps(geometry: Geometry) -> np.ndarray:
    """3 x 3: row n is the RAS step (mm) of one voxel along array axis n (k, j, i)."""
    return (geometry.direction * np.asarray(geometry.spacing)[np.newaxis, :]).T[::-1]


def _pixel_area(geometry: Geometry, axis: int) -> float:
    first, second = _plane_axes(geometry, axis)
    return float(np.linalg.norm(np.cross(first, second)))


def planar_feret_max(section: np.ndarray, plane_steps: np.ndarray) -> float:
    """Largest caliper width (mm) of a 2-D boolean ``section`` (centres plus half a pixel).

    ``plane_steps``: 2 x 3 RAS step vectors of the section's two array axes.
    """
    points = _boundary_points(section) @ plane_steps
    basis = _orthonormal_plane(plane_steps)
    angles = np.linspace(0, np.pi, PLANAR_DIRECTIONS, endpoint=False)
    directions = np.cos(angles)[:, None] * basis[0] + np.sin(angles)[:, None] * basis[1]
    return float(_caliper_widths(points, directions, plane_steps).max())


def _orthonormal_plane(plane_steps: np.ndarray) -> np.ndarray:
    first = plane_steps[0] / np.linalg.norm(plane_steps[0])
    second = plane_steps[1] - first * (first @ plane_steps[1])
    return np.stack([first, second / np.linalg.norm(second)])


def feret_diameters_3d(mask: np.ndarray, geometry: Geometry) -> tuple[float, float]:
    """(largest, smallest) 3-D caliper width (mm) of the mask's voxels (centres plus half a voxel)."""
    steps = _array_steps(geometry)
    points = _hull_points(_boundary_points(mask) @ steps)
    widths = _caliper_widths(points, fibonacci_directions(FERET_DIRECTIONS), steps)
    return float(widths.max()), float(widths.min())


def fibonacci_directions(count: int) -> np.ndarray:
    """``count`` unit vectors spread evenly over a hemisphere (``count`` x 3)."""
    index = np.arange(count) + 0.5
    z = index / count
    angle = np.pi * (1 + 5 ** 0.5) * index
    radius = np.sqrt(1 - z ** 2)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle), z], axis=1)


def _caliper_widths(points: np.ndarray, directions: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Width along each direction of voxel centres ``points`` (mm) plus half a voxel's projection."""
    projections = points @ directions.T
    box = 0.5 * np.abs(directions @ steps.T).sum(axis=1)
    return projections.max(axis=0) - projections.min(axis=0) + box


def _hull_points(points: np.ndarray) -> np.ndarray:
    """The convex-hull vertices of ``points`` (N x 3, mm): calipers only touch those."""
    from scipy.spatial import ConvexHull, QhullError

    if len(points) < 16:
        return points
    try:
        return points[ConvexHull(points, qhull_options="QJ").vertices]
    except (QhullError, ValueError):
        return points  # flat or degenerate sets (a single slice, a line): few points anyway


def _boundary_points(mask: np.ndarray) -> np.ndarray:
    """Array indices of the mask's surface voxels (those the caliper can touch), float."""
    surface = mask & ~ndimage.binary_erosion(mask)
    return np.argwhere(surface).astype(np.float64)
