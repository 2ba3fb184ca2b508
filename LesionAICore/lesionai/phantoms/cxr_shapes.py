"""Drawing helpers of the chest radiograph phantom: where anatomy goes in the picture, and shapes.

Anatomy is drawn in normalised coordinates (see :class:`Placement`); polygons are smoothed, mirrored
and rasterised into soft masks on a work grid of at most :data:`WORK_SIDE` pixels per side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# Smooth anatomy is composed on a grid of at most this many pixels per side and then resampled:
# it keeps a 1024 x 1024 phantom well under a second while edges stay soft, as in real films.
WORK_SIDE = 512


# Placement: anatomy coordinates <-> pixels
#
# Anatomy is drawn in normalised coordinates: x from -0.5 (image left, patient right) to 0.5,
# y from 0 (top) to 1 (bottom), both in units of the shorter image side. A random similarity
# transform (small rotation, scale, shift) imitates patient positioning.


@dataclass(frozen=True)
class Placement:
    angle_rad: float
    scale: float
    shift: tuple[float, float]

    def to_pixels(self, points_xy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """(N, 2) anatomy (x, y) -> (N, 2) pixel (row, col) on a grid of ``shape``."""
        cos, sin = np.cos(self.angle_rad), np.sin(self.angle_rad)
        x, y = points_xy[:, 0], points_xy[:, 1] - 0.5
        xr = self.scale * (cos * x - sin * y) + self.shift[0]
        yr = self.scale * (sin * x + cos * y) + self.shift[1]
        side = min(shape)
        return np.stack([shape[0] / 2 - 0.5 + yr * side, shape[1] / 2 - 0.5 + xr * side], axis=1)

    def anatomy_grid(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Anatomy (x, y) of every pixel centre of a grid of ``shape``."""
        side = min(shape)
        rows = (np.arange(shape[0]) - (shape[0] / 2 - 0.5)) / side - self.shift[1]
        cols = (np.arange(shape[1]) - (shape[1] / 2 - 0.5)) / side - self.shift[0]
        yr, xr = rows[:, np.newaxis] / self.scale, cols[np.newaxis, :] / self.scale
        cos, sin = np.cos(self.angle_rad), np.sin(self.angle_rad)
        x, y = cos * xr + sin * yr, -sin * xr + cos * yr + 0.5
        return x.astype(np.float32), y.astype(np.float32)


def random_placement(rng: np.random.Generator) -> Placement:
    angle = np.deg2rad(rng.uniform(-4.0, 4.0))
    return Placement(angle, rng.uniform(0.9, 1.06), tuple(rng.uniform(-0.03, 0.03, 2)))


def work_shape(shape: tuple[int, int]) -> tuple[int, int]:
    factor = min(1.0, WORK_SIDE / max(shape))
    return max(16, round(shape[0] * factor)), max(16, round(shape[1] * factor))


def to_output_grid(work: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if work.shape == shape:
        return work
    zoom = (shape[0] / work.shape[0], shape[1] / work.shape[1])
    resampled = ndimage.zoom(work, zoom, order=1, mode="nearest", grid_mode=True)
    return resampled[: shape[0], : shape[1]]


# Polygons


def rasterize_polygon(vertices_rc: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the pixel centres inside a closed polygon given as (N, 2) (row, col).

    Scan-line filling with the even-odd rule; vertices may lie outside the grid.
    """
    start, end = vertices_rc, np.roll(vertices_rc, -1, axis=0)
    rows = np.arange(shape[0], dtype=float)[:, np.newaxis]
    low, high = np.minimum(start[:, 0], end[:, 0]), np.maximum(start[:, 0], end[:, 0])
    crosses = (rows >= low) & (rows < high)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (end[:, 1] - start[:, 1]) / (end[:, 0] - start[:, 0])
        columns = start[:, 1] + (rows - start[:, 0]) * slope
    columns = np.sort(np.where(crosses, columns, np.inf), axis=1)
    return _fill_between_crossings(columns, shape)


def _fill_between_crossings(columns: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if columns.shape[1] % 2:
        columns = np.hstack([columns, np.full((columns.shape[0], 1), np.inf)])
    enter, leave = columns[:, 0::2], columns[:, 1::2]
    valid = np.isfinite(enter) & np.isfinite(leave)
    counts = np.zeros((shape[0], shape[1] + 1), dtype=np.int32)
    row_index = np.broadcast_to(np.arange(shape[0])[:, np.newaxis], enter.shape)[valid]
    first = np.clip(np.ceil(enter[valid]), 0, shape[1]).astype(int)
    last = np.clip(np.ceil(leave[valid]), 0, shape[1]).astype(int)
    np.add.at(counts, (row_index, first), 1)
    np.add.at(counts, (row_index, last), -1)
    return np.cumsum(counts, axis=1)[:, : shape[1]] > 0


def chaikin(points: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Corner-cutting smoothing of an open polyline; the end points stay fixed."""
    for _ in range(iterations):
        a, b = points[:-1], points[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2], cut[1::2] = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], cut, points[-1:]])
    return points


def mirror(points_xy: np.ndarray) -> np.ndarray:
    return points_xy * np.array([-1.0, 1.0])


def soft_mask(polygons_xy, placement, shape, sigma_px) -> np.ndarray:
    """Union of anatomy polygons on a grid of ``shape``, edges blurred by ``sigma_px``."""
    mask = np.zeros(shape, dtype=bool)
    for polygon in polygons_xy:
        mask |= rasterize_polygon(placement.to_pixels(polygon, shape), shape)
    return blur(mask.astype(np.float32), sigma_px)


def blur(values: np.ndarray, sigma_px: float) -> np.ndarray:
    return ndimage.gaussian_filter(values, sigma_px, truncate=3.0) if sigma_px > 0 else values


def smoothstep(edge0: float, edge1: float, value: np.ndarray) -> np.ndarray:
    t = np.clip((value - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def band(distance: np.ndarray, half_width: float) -> np.ndarray:
    """Flat-topped band profile, 1 at the centre line and 0 beyond ``half_width``."""
    t = np.minimum((distance / half_width) ** 2, 1.0)
    return 1.0 - t * t * t
