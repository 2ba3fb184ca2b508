"""A bounded working grid for very large 2D images: computed on in small blocks, results brought back.

An 8000 x 8000 radiograph holds 64 million pixels; networks see it at 256 x 256 and overlays show it at
1024 pixels at most, so working on every input pixel costs seconds and gigabytes for nothing. A
:class:`WorkingGrid` groups the input's pixels into square blocks of ``factor`` x ``factor`` (the
smallest whole factor that brings the longer side to at most :data:`MAX_WORKING_SIDE`):

* :meth:`WorkingGrid.shrink` averages each block (a box filter) into a float32 plane, reading the
  input a band of rows at a time, so memory stays at the small plane plus one band whatever the
  input's type and size;
* :meth:`WorkingGrid.expand` gives every input pixel the value of its block (label maps stay
  labels), the result having the input's shape exactly;
* :meth:`WorkingGrid.geometry` places the working pixels in the world (block centres, ``factor``
  times the spacing), so millimetres measured on the working grid are those of the input.

Images whose longer side is within the bound have ``factor`` 1: shrinking only converts to float32
and expanding returns the array itself, so results on them are exactly those of a full-resolution run.

>>> grid = working_grid((8000, 6000))
>>> grid.factor, grid.working_shape
(4, (2000, 1500))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Geometry, geometry_from_ijk_to_ras

MAX_WORKING_SIDE = 2048
BAND_BYTES = 32 << 20  # bytes of one band of input rows (as float64 sums) while shrinking


@dataclass(frozen=True)
class WorkingGrid:
    """Blocks of ``factor`` x ``factor`` input pixels over an input plane of ``shape`` (rows, cols)."""

    shape: tuple[int, int]
    factor: int = 1

    @property
    def working_shape(self) -> tuple[int, int]:
        """(rows, cols) of the working grid: one pixel per block, partial blocks at the far edges included."""
        return tuple(-(-size // self.factor) for size in self.shape)

    @property
    def covered_shape(self) -> tuple[int, int]:
        """(rows, cols) of input pixels the working grid spans (the input's own, or a little more)."""
        return tuple(size * self.factor for size in self.working_shape)

    def shrink(self, plane: np.ndarray) -> np.ndarray:
        """float32 (working rows, cols): the mean of each block of the 2D ``plane`` (input shape)."""
        if tuple(plane.shape) != self.shape:
            raise ValueError(f"plane has shape {plane.shape}; this grid is for {self.shape}")
        if self.factor == 1:
            return plane.astype(np.float32)
        rows_per_band = max(1, BAND_BYTES // (8 * self.shape[1] * self.factor)) * self.factor
        bands = [self._block_sums(plane[start:start + rows_per_band])
                 for start in range(0, self.shape[0], rows_per_band)]
        return (np.concatenate(bands) / self._block_counts()).astype(np.float32)

    def _block_sums(self, band: np.ndarray) -> np.ndarray:
        starts = np.arange(0, band.shape[0], self.factor), np.arange(0, band.shape[1], self.factor)
        rows = np.add.reduceat(band.astype(np.float64), starts[0], axis=0)
        return np.add.reduceat(rows, starts[1], axis=1)

    def _block_counts(self) -> np.ndarray:
        """Input pixels in each block: factor squared, fewer in the partial blocks at the far edges."""
        per_axis = [np.minimum(self.factor, size - np.arange(0, size, self.factor)) for size in self.shape]
        return np.outer(per_axis[0], per_axis[1]).astype(np.float64)

    def expand(self, working: np.ndarray) -> np.ndarray:
        """``working`` (working rows, cols) on the input grid: each input pixel takes its block's value."""
        if tuple(working.shape) != self.working_shape:
            raise ValueError(f"array has shape {working.shape}; the working grid is {self.working_shape}")
        if self.factor == 1:
            return working
        rows = np.repeat(working, self.factor, axis=0)[: self.shape[0]]
        return np.repeat(rows, self.factor, axis=1)[:, : self.shape[1]]

    def geometry(self, geometry: Geometry) -> Geometry:
        """The working grid's geometry from the input's: block centres, ``factor`` times the spacing
        along the plane (the slice axis is kept)."""
        if self.factor == 1:
            return geometry
        matrix = geometry.ijk_to_ras()
        matrix[:3, 3] += matrix[:3, :2] @ np.full(2, (self.factor - 1) / 2)
        matrix[:3, :2] *= self.factor
        return geometry_from_ijk_to_ras(matrix)


def working_grid(shape: tuple[int, int], max_side: int = MAX_WORKING_SIDE) -> WorkingGrid:
    """The grid for a plane of ``shape`` (rows, cols): the smallest whole block factor that brings
    its longer side to at most ``max_side`` pixels (1 when it already is)."""
    rows, cols = (int(size) for size in shape)
    return WorkingGrid((rows, cols), max(1, -(-max(rows, cols) // max_side)))
