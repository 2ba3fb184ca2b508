"""Cut the region the nodule models see: a fixed isotropic cube of CT around the nodule.

Two inputs are accepted:

* a **nodule crop** (e.g. an LIDC volume of interest): the whole image is the region; what lies
  beyond the crop is filled with lung-like context (the crop's own border statistics), because the
  models were trained on crops padded the same way;
* a **chest CT plus a point** (RAS mm, the nodule centre): a cube centred on the point.

The region grid keeps the input's axis directions, has ``REGION_SHAPE`` voxels and an isotropic
spacing of ``BASE_SPACING_MM`` that the caller coarsens (:func:`grown_spacing`) while the nodule
touches the region's border. :class:`NoduleRegion` keeps the
mapping back to the input grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..geometry import Geometry, Image
from . import grids

REGION_SHAPE = (32, 32, 32)
BASE_SPACING_MM = 0.8
MAX_SPACING_MM = 3.2
# A region whose nodule touches its border is cut again with the spacing multiplied by this factor.
GROWTH_FACTOR = 1.6
# CT in Hounsfield units always holds air or lung below this; MR and other modalities do not.
CT_MINIMUM_HU = -500.0
# Lung parenchyma is about -850 HU; a ball that is almost all below -900 HU holds no nodule.
AIR_HU = -900.0
AIR_BALL_MM = 4.0
THICK_SLICE_MM = 3.0
LUNG_CONTEXT_HU = -850.0


@dataclass
class NoduleRegion:
    """A cube of CT around a nodule and its place in the input image.

    ``image``: float32 HU on the region grid (``REGION_SHAPE``, ``[k, j, i]``, RAS geometry).
    ``known``: True where values came from the input (False: context fill outside the input).
    ``source_geometry`` / ``source_shape``: the input grid. ``center_ras``: region centre (mm).
    """

    image: Image
    known: np.ndarray
    source_geometry: Geometry
    source_shape: tuple[int, int, int]
    center_ras: np.ndarray
    kind: str
    warnings: list[str] = field(default_factory=list)

    @property
    def spacing_mm(self) -> float:
        return self.image.geometry.spacing[0]

    def input_block(self) -> tuple[slice, slice, slice]:
        """``[k, j, i]`` slices of the input array that the region covers."""
        return grids.covered_block(self.image.geometry, self.image.array.shape, self.source_geometry, self.source_shape)

    def to_input(self, region_values: np.ndarray, order: int = 1) -> tuple[tuple[slice, slice, slice], np.ndarray]:
        """``region_values`` resampled onto the covered block of the input grid: (block, values).

        Input voxels outside the region get 0.
        """
        block = self.input_block()
        start = [s.start for s in block]
        shape = tuple(s.stop - s.start for s in block)
        values = grids.sample(region_values, self.image.geometry, self.source_geometry, shape,
                              order=order, cval=0.0, start_kji=start)
        return block, values


def validate_ct(image: Image) -> list[str]:
    """Check that ``image`` is a CT volume in HU; return warnings (thick slices).

    Raises :class:`InputError` for an empty or 2D image, NaN/inf values or values that are never
    below -500 (not CT in Hounsfield units, e.g. MR).
    """
    array = image.array
    if array.ndim != 3 or array.size == 0:
        raise InputError(f"Input image is empty (shape {array.shape}); NoduleFusion needs a CT volume")
    if array.shape[0] < 2 or min(array.shape) < 2:
        raise InputError(f"Input has shape {array.shape} (slices, rows, columns): a 2D image. NoduleFusion "
                         "needs a CT volume with several axial slices through the nodule")
    if not np.isfinite(array).all():
        raise InputError("Input image holds NaN or infinite values; re-export the CT without them")
    if float(array.min()) > CT_MINIMUM_HU:
        raise InputError(f"Input values never fall below {CT_MINIMUM_HU:.0f} (minimum {float(array.min()):.0f}): "
                         "this is not a CT in Hounsfield units (MR or a rescaled image?). "
                         "NoduleFusion needs chest CT with lung around the nodule")
    return _spacing_warnings(image.geometry)


def _spacing_warnings(geometry: Geometry) -> list[str]:
    thickest = max(geometry.spacing)
    if thickest <= THICK_SLICE_MM:
        return []
    return [f"voxels are {thickest:.1f} mm along one axis (thick slices): small nodules and diameters along "
            "that axis are uncertain; thin-slice CT (<= 1.25 mm) is recommended"]


def grown_spacing(spacing_mm: float) -> float | None:
    """The next, coarser region spacing (mm), or None when the region cannot grow any more."""
    if spacing_mm >= MAX_SPACING_MM - 1e-6:
        return None
    return min(spacing_mm * GROWTH_FACTOR, MAX_SPACING_MM)


def region_from_crop(image: Image, shape=REGION_SHAPE, spacing_mm: float = BASE_SPACING_MM,
                     center_shift_mm=(0.0, 0.0, 0.0), seed: int = 0) -> NoduleRegion:
    """The region of a nodule crop: a cube on the crop's centre, context filled beyond the crop.

    ``center_shift_mm`` (RAS) moves the cube centre (training augmentation); ``seed`` seeds the
    context texture (fixed at inference so results are reproducible).
    """
    warnings = validate_ct(image)
    center = grids.kji_to_ras(image.geometry, (np.asarray(image.array.shape) - 1) / 2) + np.asarray(center_shift_mm)
    grid = grids.centered_grid(image.geometry, center, spacing_mm, shape)
    values = grids.sample(image.array, image.geometry, grid, shape)
    known = np.isfinite(values)
    context = context_statistics(border_shell(image.array))
    filled = fill_context(values, known, context, spacing_mm, np.random.default_rng(seed))
    return NoduleRegion(Image(filled, grid), known, image.geometry, image.array.shape, center, "crop", warnings)


def region_around_point(image: Image, point_ras, spacing_mm: float = BASE_SPACING_MM, shape=REGION_SHAPE,
                        seed: int = 0) -> NoduleRegion:
    """The region of a chest CT centred on ``point_ras`` (RAS mm).

    Raises :class:`InputError` when the point is outside the image or in air/normal lung only.
    """
    warnings = validate_ct(image)
    check_point(image, point_ras)
    grid = grids.centered_grid(image.geometry, point_ras, spacing_mm, shape)
    values = grids.sample(image.array, image.geometry, grid, shape)
    known = np.isfinite(values)
    lung = values[known & (values < CT_MINIMUM_HU)]
    context = context_statistics(lung) if lung.size > 100 else (LUNG_CONTEXT_HU, 40.0)
    filled = fill_context(values, known, context, spacing_mm, np.random.default_rng(seed))
    return NoduleRegion(Image(filled, grid), known, image.geometry, image.array.shape,
                        np.asarray(point_ras, dtype=float), "point", warnings)


def check_point(image: Image, point_ras) -> None:
    """Raise :class:`InputError` when ``point_ras`` is outside ``image`` or has no tissue around it."""
    point = np.asarray(point_ras, dtype=float)
    if point.shape != (3,) or not np.isfinite(point).all():
        raise InputError(f"Nodule point {point_ras!r} is not a RAS position (three numbers in mm)")
    kji = grids.ras_to_kji(image.geometry, point)
    if np.any(kji < -0.5) or np.any(kji > np.asarray(image.array.shape) - 0.5):
        raise InputError(f"Nodule point R={point[0]:.1f}, A={point[1]:.1f}, S={point[2]:.1f} mm lies outside the "
                         "image; place the point on the nodule (RAS coordinates, as Slicer shows them)")
    if np.percentile(_ball_values(image, kji, AIR_BALL_MM), 90) < AIR_HU:
        raise InputError(f"No nodule at the point R={point[0]:.1f}, A={point[1]:.1f}, S={point[2]:.1f} mm: "
                         f"everything within {AIR_BALL_MM:.0f} mm is below {AIR_HU:.0f} HU (air or normal lung); "
                         "place the point on the nodule's centre")


def _ball_values(image: Image, kji: np.ndarray, radius_mm: float) -> np.ndarray:
    """Input values within ``radius_mm`` of the continuous index ``kji``."""
    spacing_kji = np.asarray(image.geometry.spacing[::-1])
    reach = np.ceil(radius_mm / spacing_kji).astype(int)
    center = np.round(kji).astype(int)
    low = np.maximum(center - reach, 0)
    high = np.minimum(center + reach + 1, image.array.shape)
    block = image.array[low[0]:high[0], low[1]:high[1], low[2]:high[2]]
    axes = np.meshgrid(*[(np.arange(a, b) - c) * s for a, b, c, s in zip(low, high, kji, spacing_kji)], indexing="ij")
    inside = sum(axis ** 2 for axis in axes) <= radius_mm ** 2
    return block[inside] if inside.any() else block.ravel()


def border_shell(array: np.ndarray, width: int = 2) -> np.ndarray:
    """Values of the outer ``width`` rows and columns of every slice (the crop's in-plane margin)."""
    shell = np.ones(array.shape[1:], dtype=bool)
    shell[width:-width, width:-width] = False
    return array[:, shell]


def context_statistics(values: np.ndarray) -> tuple[float, float]:
    """(level, texture std) in HU of lung-like ``values``; falls back to all values, then to lung."""
    lung = values[values < -300]
    chosen = lung if lung.size >= 20 else values
    if chosen.size == 0:
        return LUNG_CONTEXT_HU, 40.0
    return float(np.median(chosen)), float(np.clip(np.std(chosen), 15.0, 120.0))


def fill_context(values: np.ndarray, known: np.ndarray, context: tuple[float, float], spacing_mm: float,
                 rng: np.random.Generator) -> np.ndarray:
    """``values`` with unknown voxels replaced by smooth lung-like texture (float32 HU)."""
    if known.all():
        return values.astype(np.float32)
    level, std = context
    texture = ndimage.gaussian_filter(rng.standard_normal(values.shape).astype(np.float32), 1.2 / spacing_mm)
    texture *= std / max(float(texture.std()), 1e-6)
    texture = np.clip(texture, -3 * std, 3 * std)
    return np.where(known, values, level + texture).astype(np.float32)
