"""Images as numpy arrays with explicit world geometry.

Conventions used throughout LesionAI:

* ``Image.array`` is indexed ``[k, j, i]`` (slice, row, column), exactly like
  ``slicer.util.arrayFromVolume``. A 2D radiograph is a single-slice volume of shape ``(1, rows, cols)``.
* ``Geometry`` is expressed in **RAS** world coordinates (Slicer's convention), in millimetres.
  ``direction[:, n]`` is the RAS unit vector of voxel axis ``n`` (0 = i, 1 = j, 2 = k).
* Files (NRRD, NIfTI, DICOM) and SimpleITK use LPS; conversions flip the first two world axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


@dataclass(frozen=True)
class Geometry:
    """Voxel grid placement in RAS millimetres.

    >>> g = Geometry(spacing=(0.5, 0.5, 1.0))
    >>> g.ijk_to_ras()[:3, 3].tolist()
    [0.0, 0.0, 0.0]
    """

    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))

    def __post_init__(self):
        direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        object.__setattr__(self, "direction", direction)
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))
        object.__setattr__(self, "origin", tuple(float(o) for o in self.origin))
        _check_geometry(self.direction, self.spacing, self.origin)

    def ijk_to_ras(self) -> np.ndarray:
        """4x4 homogeneous matrix mapping (i, j, k, 1) to (R, A, S, 1)."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.direction * np.asarray(self.spacing)[np.newaxis, :]
        matrix[:3, 3] = self.origin
        return matrix

    def ras_to_ijk(self) -> np.ndarray:
        """Inverse of :meth:`ijk_to_ras`."""
        return np.linalg.inv(self.ijk_to_ras())

    def __eq__(self, other):
        if not isinstance(other, Geometry):
            return NotImplemented
        return np.allclose(self.ijk_to_ras(), other.ijk_to_ras(), atol=1e-6)

    def __hash__(self):
        return hash(tuple(np.round(self.ijk_to_ras(), 6).ravel()))


@dataclass
class Image:
    """A voxel array ``[k, j, i]`` together with its RAS geometry and optional metadata."""

    array: np.ndarray
    geometry: Geometry = field(default_factory=Geometry)
    metadata: dict = field(default_factory=dict)

    @property
    def is_single_slice(self) -> bool:
        return self.array.ndim == 3 and self.array.shape[0] == 1

    def with_array(self, array: np.ndarray) -> "Image":
        """A new image on the same grid (same shape) holding ``array``."""
        if array.shape != self.array.shape:
            raise ValueError(f"array shape {array.shape} differs from grid shape {self.array.shape}")
        return Image(array, self.geometry, dict(self.metadata))


def radiograph_geometry(pixel_spacing_mm: tuple[float, float] = (1.0, 1.0)) -> Geometry:
    """Geometry of a frontal radiograph shown in the standard PA display.

    Columns run from the patient's right to left (RAS -x), rows from head to feet (RAS -z); the
    single slice is a coronal plane. ``pixel_spacing_mm`` is (row spacing, column spacing), as in
    DICOM PixelSpacing.
    """
    row_mm, col_mm = pixel_spacing_mm
    direction = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, -1.0, 0.0]]).T
    return Geometry(spacing=(col_mm, row_mm, 1.0), direction=direction)


def geometry_from_ijk_to_ras(ijk_to_ras: np.ndarray) -> Geometry:
    """Geometry of a 4x4 IJK-to-RAS matrix (inverse of :meth:`Geometry.ijk_to_ras`).

    Spacing is the length of each axis column, direction the normalised columns.
    """
    matrix = np.asarray(ijk_to_ras, dtype=float).reshape(4, 4)
    axes = matrix[:3, :3]
    spacing = np.linalg.norm(axes, axis=0)
    return Geometry(spacing=tuple(spacing), origin=tuple(matrix[:3, 3]), direction=axes / spacing)


def lps_to_ras(vectors: np.ndarray) -> np.ndarray:
    """Flip the first two world axes of a point, a vector or the columns of a 3x3 matrix.

    The flip is its own inverse, so the same function converts RAS to LPS.

    >>> lps_to_ras(np.array([1.0, 2.0, 3.0])).tolist()
    [-1.0, -2.0, 3.0]
    """
    return LPS_TO_RAS @ np.asarray(vectors, dtype=float)


ras_to_lps = lps_to_ras


def _check_geometry(direction: np.ndarray, spacing: tuple, origin: tuple) -> None:
    """Raise :class:`InputError` for a geometry that cannot place pixels in the world."""
    if not (np.isfinite(direction).all() and np.isfinite(spacing).all() and np.isfinite(origin).all()):
        raise InputError("Image geometry has non-finite values (origin, spacing or direction); the file's "
                         "position and orientation are damaged")
    if min(spacing) <= 0:
        raise InputError(f"Image spacing {spacing} mm is not positive; the file's pixel spacing is damaged")
    if abs(np.linalg.det(direction)) < 1e-3:
        raise InputError("Image orientation is degenerate (its axes are parallel or zero); the file's "
                         "orientation (e.g. DICOM ImageOrientationPatient) is damaged")
