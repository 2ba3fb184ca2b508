"""The standard radiograph display orientation: patient's head at the top, patient's right on the
image left (as a PA radiograph is read), and the flips/transposes that take an image there and back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .geometry import Geometry, Image, geometry_from_ijk_to_ras

__all__ = ["DisplayTransform", "to_display_orientation", "from_display_orientation"]


@dataclass(frozen=True)
class DisplayTransform:
    """Flips/transposes that took an image grid into the standard radiograph display.

    Applied to the last two array axes ``[..., j, i]``: first an optional transpose, then
    optional flips of the rows (j) and columns (i) of the transposed grid.
    """

    transpose: bool = False
    flip_rows: bool = False
    flip_columns: bool = False

    @property
    def is_identity(self) -> bool:
        return not (self.transpose or self.flip_rows or self.flip_columns)

    def to_display(self, array: np.ndarray) -> np.ndarray:
        """``array`` on the original grid, rearranged onto the display grid."""
        if self.transpose:
            array = np.swapaxes(array, -1, -2)
        return np.ascontiguousarray(self._flip(array))

    def to_original(self, array: np.ndarray) -> np.ndarray:
        """``array`` on the display grid (e.g. a label map), back onto the original grid."""
        array = self._flip(array)
        if self.transpose:
            array = np.swapaxes(array, -1, -2)
        return np.ascontiguousarray(array)

    def _flip(self, array: np.ndarray) -> np.ndarray:
        if self.flip_rows:
            array = array[..., ::-1, :]
        if self.flip_columns:
            array = array[..., ::-1]
        return array


def to_display_orientation(image: Image) -> tuple[Image, DisplayTransform]:
    """The radiograph rearranged (flips and transposes only) into the standard display.

    Rows run head to feet (RAS -S). Columns run patient right to left (RAS -R) for a frontal
    view, or anterior to posterior (RAS -A) for a lateral view. World coordinates of every pixel
    are unchanged: the geometry is updated with the array. Use :func:`from_display_orientation`
    to bring results computed on the display grid back onto the original grid.
    """
    transform = _display_transform(image)
    if transform.is_identity:
        return image, transform
    geometry = _display_geometry(image.geometry, image.array.shape, transform)
    return Image(transform.to_display(image.array), geometry, dict(image.metadata)), transform


def from_display_orientation(array: np.ndarray, transform: DisplayTransform) -> np.ndarray:
    """``array`` (``[..., rows, cols]`` on the display grid) mapped back to the original grid."""
    return transform.to_original(array)


def _display_transform(image: Image) -> DisplayTransform:
    d_i, d_j = image.geometry.direction[:, 0], image.geometry.direction[:, 1]
    transpose = abs(d_i[2]) > abs(d_j[2])
    row_axis, column_axis = (d_i, d_j) if transpose else (d_j, d_i)
    if abs(row_axis[2]) < 0.5:
        source = image.metadata.get("source_path", "The image")
        raise InputError(f"{source}: neither image axis runs head to feet; it looks like an "
                         "axial slice, not a frontal or lateral radiograph")
    lateral = 0 if abs(column_axis[0]) >= abs(column_axis[1]) else 1
    return DisplayTransform(transpose, bool(row_axis[2] > 0), bool(column_axis[lateral] > 0))


def _display_geometry(geometry: Geometry, shape: tuple, transform: DisplayTransform) -> Geometry:
    """Geometry of the display grid: same world positions, rearranged axes."""
    rows, cols = shape[-2:]
    matrix = geometry.ijk_to_ras()
    if transform.transpose:
        matrix = matrix[:, [1, 0, 2, 3]]
        rows, cols = cols, rows
    for axis, flip, size in ((1, transform.flip_rows, rows), (0, transform.flip_columns, cols)):
        if flip:
            matrix[:3, 3] += matrix[:3, axis] * (size - 1)
            matrix[:3, axis] *= -1
    return geometry_from_ijk_to_ras(matrix)
