"""Bring a radiograph into the standard frontal display and back.

Standard display: columns run from the patient's right to left (RAS -x) and rows from head to feet
(RAS -z). Models are trained on radiographs in that display, so a file stored mirrored or rotated
by 90° (as some DICOM writers do) is flipped/transposed first; labels are mapped back exactly
(no resampling: only flips and a transpose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import Geometry, Image


@dataclass(frozen=True)
class DisplayOrientation:
    """How the stored (rows, cols) plane was turned into the display plane."""

    transpose: bool
    flip_rows: bool
    flip_cols: bool

    def apply(self, plane: np.ndarray) -> np.ndarray:
        plane = plane.T if self.transpose else plane
        return plane[::-1 if self.flip_rows else 1, ::-1 if self.flip_cols else 1]

    def restore(self, plane: np.ndarray) -> np.ndarray:
        """Display plane (rows, cols) -> array (1, rows, cols) on the stored grid."""
        plane = plane[::-1 if self.flip_rows else 1, ::-1 if self.flip_cols else 1]
        plane = plane.T if self.transpose else plane
        return np.ascontiguousarray(plane)[np.newaxis]


def display_orientation(image: Image) -> tuple[Image, DisplayOrientation]:
    """The single-slice ``image`` as a display-oriented single-slice image, and how to undo it."""
    direction = image.geometry.direction
    transpose = abs(direction[2, 0]) > abs(direction[2, 1])
    column_axis, row_axis = (1, 0) if transpose else (0, 1)
    flip_rows = direction[2, row_axis] > 0
    flip_cols = direction[0, column_axis] > 0
    orientation = DisplayOrientation(transpose, flip_rows, flip_cols)
    plane = np.ascontiguousarray(orientation.apply(image.array[0]))
    geometry = _display_geometry(image.geometry, image.array.shape, orientation)
    return Image(plane[np.newaxis], geometry, dict(image.metadata)), orientation


def _display_geometry(geometry: Geometry, shape: tuple[int, int, int], orientation: DisplayOrientation) -> Geometry:
    matrix = geometry.ijk_to_ras()
    extent = {0: shape[2] - 1, 1: shape[1] - 1}
    if orientation.transpose:
        matrix[:, [0, 1]] = matrix[:, [1, 0]]
        extent = {0: extent[1], 1: extent[0]}
    for axis, flipped in ((1, orientation.flip_rows), (0, orientation.flip_cols)):
        if flipped:
            matrix[:3, 3] += matrix[:3, axis] * extent[axis]
            matrix[:3, axis] *= -1
    spacing = np.linalg.norm(matrix[:3, :3], axis=0)
    return Geometry(spacing=tuple(spacing), origin=tuple(matrix[:3, 3]), direction=matrix[:3, :3] / spacing)
