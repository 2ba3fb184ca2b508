"""What the scan-check network sees of a scan: three orthogonal mid-slices, the native mid-slice and a
few numbers describing the grid and the intensities.

* ``planes`` float32 ``(3, 64, 64)``: the axial, coronal and sagittal mid-slices of the volume
  reoriented to RAS (axis permutations and flips only), each fitted into the square with its
  physical aspect ratio kept (empty border = 0).
* ``native`` float32 ``(1, 64, 64)``: the middle slice of the array as stored (``array[k_mid]``),
  fitted the same way. It shows the acquisition plane whatever the header says, so the view check
  can compare image content with the geometry.
* ``descriptors`` float32 ``(DESCRIPTOR_COUNT,)``: log voxel counts, spacings and extents along
  R, A, S; slice anisotropy; single-slice flag; Hounsfield-like intensity fractions (CT has air at
  -1000 and fat below -50); robust intensity percentiles; whether pixel spacing is known.

Slices are scaled so the volume's 1st/99th intensity percentiles map to 0/1 (clipped to [0, 1.5]).

>>> inputs = scan_inputs(image)                                    # doctest: +SKIP
>>> inputs["planes"].shape, inputs["native"].shape
((3, 64, 64), (1, 64, 64))
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..geometry import Image

INPUT_SIZE = 64
DESCRIPTOR_NAMES = (
    "log_voxels_R", "log_voxels_A", "log_voxels_S", "log_spacing_R", "log_spacing_A", "log_spacing_S",
    "log_extent_R", "log_extent_A", "log_extent_S", "log_anisotropy", "single_slice",
    "fraction_below_-900", "fraction_below_-200", "fraction_negative", "p01_asinh", "p50_asinh", "p99_asinh",
    "spacing_known",
)
DESCRIPTOR_COUNT = len(DESCRIPTOR_NAMES)
_SAMPLE_VOXELS = 200_000


def scan_inputs(image: Image) -> dict[str, np.ndarray]:
    """The network inputs of one scan: ``planes`` (3, 64, 64), ``native`` (1, 64, 64) and
    ``descriptors`` (DESCRIPTOR_COUNT,), all float32. Raises InputError for an empty or
    non-numeric image."""
    volume = _checked_volume(image)
    low, high = _robust_range(volume)
    ras, ras_spacing = ras_volume(volume, image.geometry.direction, image.geometry.spacing)
    planes = [_fitted(plane, spacing, low, high) for plane, spacing in _mid_planes(ras, ras_spacing)]
    native = _fitted(volume[volume.shape[0] // 2], image.geometry.spacing[1::-1], low, high)
    return {"planes": np.stack(planes), "native": native[np.newaxis],
            "descriptors": _descriptors(volume, ras.shape, ras_spacing, image.metadata)}


def ras_volume(volume: np.ndarray, direction: np.ndarray, spacing) -> tuple[np.ndarray, tuple]:
    """``volume`` ``[k, j, i]`` permuted/flipped to ``[S, A, R]`` and its spacing (S, A, R) in mm.

    Each voxel axis goes to the RAS axis its direction is closest to (oblique scans: nearest).
    """
    world_of_axis = _nearest_world_axes(np.asarray(direction))
    axis_of_world = {world: axis for axis, world in enumerate(world_of_axis)}
    order = [2 - axis_of_world[world] for world in (2, 1, 0)]  # array axis of S, A, R
    ras = np.transpose(volume, order)
    for position, world in enumerate((2, 1, 0)):
        axis = axis_of_world[world]
        if direction[world, axis] < 0:
            ras = np.flip(ras, position)
    return ras, tuple(float(spacing[axis_of_world[world]]) for world in (2, 1, 0))


def _nearest_world_axes(direction: np.ndarray) -> list[int]:
    """World axis (0 R, 1 A, 2 S) of each voxel axis i, j, k: a permutation, largest cosines first."""
    weights = np.abs(direction)
    assigned: dict[int, int] = {}
    for flat in np.argsort(-weights, axis=None):
        world, axis = divmod(int(flat), 3)
        if axis not in assigned and world not in assigned.values():
            assigned[axis] = world
    return [assigned[axis] for axis in range(3)]


def _mid_planes(ras: np.ndarray, spacing_sar: tuple) -> list[tuple[np.ndarray, tuple]]:
    """Axial ``[A, R]``, coronal ``[S, R]`` and sagittal ``[S, A]`` mid-slices with their (row, col) spacing."""
    s, a, r = spacing_sar
    return [(ras[ras.shape[0] // 2], (a, r)), (ras[:, ras.shape[1] // 2], (s, r)), (ras[:, :, ras.shape[2] // 2], (s, a))]


def _fitted(plane: np.ndarray, spacing_rc, low: float, high: float, size: int = INPUT_SIZE) -> np.ndarray:
    """``plane`` resampled into a ``size`` x ``size`` square covering its longer side (aspect kept),
    intensities scaled so ``low``/``high`` map to 0/1; outside the plane is 0."""
    rows, cols = plane.shape
    extent = max(rows * spacing_rc[0], cols * spacing_rc[1])
    step = extent / size
    centres = (np.arange(size) - (size - 1) / 2) * step
    row_index = centres / spacing_rc[0] + (rows - 1) / 2
    col_index = centres / spacing_rc[1] + (cols - 1) / 2
    grid = np.meshgrid(row_index, col_index, indexing="ij")
    values = ndimage.map_coordinates(np.nan_to_num(plane.astype(np.float32)), grid, order=1, mode="nearest")
    inside = ((grid[0] > -0.5) & (grid[0] < rows - 0.5) & (grid[1] > -0.5) & (grid[1] < cols - 0.5))
    scaled = np.clip((values - low) / max(high - low, 1e-6), 0.0, 1.5)
    return (scaled * inside).astype(np.float32)


def _robust_range(volume: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(_sample(volume), [1.0, 99.0])
    return float(low), float(high)


def _sample(volume: np.ndarray) -> np.ndarray:
    """At most about 200 000 voxels, evenly strided, as float32 (non-finite values left out)."""
    step = max(1, int(np.ceil((volume.size / _SAMPLE_VOXELS) ** (1 / 3))))
    values = volume[::step, ::step, ::step].astype(np.float32).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError("Scan has no finite pixel values (all NaN or infinite); it is not a usable image")
    return finite


def _descriptors(volume: np.ndarray, ras_shape: tuple, spacing_sar: tuple, metadata: dict) -> np.ndarray:
    """The ``DESCRIPTOR_NAMES`` numbers of a scan, each of order 1."""
    counts = np.array(ras_shape[::-1], float)                      # R, A, S
    spacing = np.array(spacing_sar[::-1], float)
    values = _sample(volume)
    p01, p50, p99 = np.percentile(values, [1.0, 50.0, 99.0])
    geometry = [*np.log(counts) / 3, *np.log(spacing), *np.log(counts * spacing) / 3,
                np.log(spacing.max() / spacing.min()), float(volume.shape[0] == 1)]
    intensity = [float((values < -900).mean()), float((values < -200).mean()), float((values < 0).mean()),
                 *(np.arcsinh(np.array([p01, p50, p99]) / 100.0) / 4)]
    known = float(bool(metadata.get("pixel_spacing_known", True)))
    return np.array(geometry + intensity + [known], np.float32)


def _checked_volume(image: Image) -> np.ndarray:
    volume = np.asarray(image.array)
    if volume.ndim != 3 or volume.size == 0:
        raise InputError(f"Scan array has shape {volume.shape}; the scan check needs a 2D or 3D image [k, j, i]")
    if not np.issubdtype(volume.dtype, np.number) or volume.dtype == bool:
        raise InputError(f"Scan has pixel type {volume.dtype}; expected numbers (is this a label map?)")
    return volume
