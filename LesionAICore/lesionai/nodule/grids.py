"""Resampling between an input CT grid and a nodule region grid (both RAS, arrays ``[k, j, i]``).

A region shares the input's axis directions; only spacing, origin and shape differ. Mapping is done
with one affine per direction, so no world coordinates are materialised per voxel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import Geometry

# [k, j, i] array axes are the reverse of (i, j, k) voxel axes.
_REVERSE = np.eye(3)[::-1]


def kji_affine(source_to_target_ijk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, offset) of a 4x4 (i, j, k) voxel map, rewritten for ``[k, j, i]`` array indices."""
    matrix = _REVERSE @ source_to_target_ijk[:3, :3] @ _REVERSE
    return matrix, _REVERSE @ source_to_target_ijk[:3, 3]


def sample(array: np.ndarray, array_geometry: Geometry, grid: Geometry, shape: tuple[int, int, int],
           order: int = 1, cval: float = np.nan, start_kji=(0, 0, 0)) -> np.ndarray:
    """Values of ``array`` (on ``array_geometry``) at the voxels of ``grid`` (``shape``, ``[k, j, i]``).

    ``start_kji`` shifts the output grid by whole voxels (to fill a sub-block of a larger grid).
    ``order`` 0 = nearest, 1 = linear. Each voxel of ``array`` covers its whole box (half a voxel
    beyond its centre), so the first and last slices keep their full thickness; output voxels
    outside those boxes get ``cval`` (NaN: unknown).
    """
    grid_to_array = array_geometry.ras_to_ijk() @ grid.ijk_to_ras()
    matrix, offset = kji_affine(grid_to_array)
    offset = offset + matrix @ np.asarray(start_kji, dtype=float)
    values = ndimage.affine_transform(array.astype(np.float32, copy=False), matrix, offset, output_shape=tuple(shape),
                                      order=order, mode="nearest", prefilter=False)
    values[~_inside_boxes(matrix, offset, shape, array.shape)] = cval
    return values


def _inside_boxes(matrix: np.ndarray, offset: np.ndarray, shape, array_shape) -> np.ndarray:
    """True where an output voxel's source position lies within the source voxels' boxes."""
    inside = np.ones(tuple(shape), dtype=bool)
    axes = [np.arange(n, dtype=np.float64) for n in shape]
    for row, (limit, shift) in enumerate(zip(array_shape, offset)):
        position = (matrix[row, 0] * axes[0][:, None, None] + matrix[row, 1] * axes[1][None, :, None]
                    + matrix[row, 2] * axes[2][None, None, :] + shift)
        inside &= (position >= -0.5) & (position <= limit - 0.5)
    return inside


def covered_block(grid: Geometry, shape: tuple[int, int, int], target: Geometry,
                  target_shape: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    """``[k, j, i]`` slices of ``target``'s array covering the world box of ``grid`` (``shape``)."""
    corners = np.array([[i, j, k, 1.0] for k in (-0.5, shape[0] - 0.5) for j in (-0.5, shape[1] - 0.5)
                        for i in (-0.5, shape[2] - 0.5)])
    ijk = (target.ras_to_ijk() @ grid.ijk_to_ras() @ corners.T)[:3].T[:, ::-1]
    low = np.clip(np.floor(ijk.min(axis=0)).astype(int), 0, target_shape)
    high = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 1, 0, target_shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high))


def ras_to_kji(geometry: Geometry, point_ras) -> np.ndarray:
    """Continuous ``[k, j, i]`` index of a RAS point (mm)."""
    ijk = geometry.ras_to_ijk() @ np.append(np.asarray(point_ras, dtype=float), 1.0)
    return ijk[:3][::-1]


def kji_to_ras(geometry: Geometry, kji) -> np.ndarray:
    """RAS point (mm) of a continuous ``[k, j, i]`` index."""
    return (geometry.ijk_to_ras() @ np.append(np.asarray(kji, dtype=float)[::-1], 1.0))[:3]


def centered_grid(template: Geometry, center_ras, spacing_mm: float, shape: tuple[int, int, int]) -> Geometry:
    """Isotropic grid of ``shape`` with ``template``'s directions whose centre voxel is at ``center_ras``."""
    half_ijk = (np.asarray(shape[::-1], dtype=float) - 1) / 2
    origin = np.asarray(center_ras, dtype=float) - template.direction @ (half_ijk * spacing_mm)
    return Geometry(spacing=(spacing_mm,) * 3, origin=tuple(origin), direction=template.direction)
