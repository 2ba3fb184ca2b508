"""The acquisition plane of a scan from its geometry: which voxel axis the slices are stacked along,
and which patient axis that slice normal points to.

The slice axis is the voxel axis with the largest spacing when the grid is clearly anisotropic
(thick 2D slices, e.g. 0.5 x 0.5 x 5 mm), else the stored slice axis k. Its direction in RAS
decides the view: along R-L -> sagittal, along A-P -> coronal, along S-I -> axial.

>>> plane = acquisition_plane(Geometry(spacing=(0.5, 0.5, 5.0)), (20, 320, 320))
>>> plane.view, plane.slice_axis
('axial', 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import Geometry

VIEWS = ("sagittal", "axial", "coronal")
_VIEW_OF_WORLD_AXIS = {0: "sagittal", 1: "coronal", 2: "axial"}
ANISOTROPY = 1.3       # max/min spacing above which the thickest axis is the slice axis
_SHARPNESS = 20.0      # how quickly geometry probabilities favour the closest plane
_ISOTROPIC_DOUBT = 0.2  # probability mass spread over all views when the grid is isotropic


@dataclass(frozen=True)
class AcquisitionPlane:
    """``view`` in VIEWS; ``slice_axis`` 0 = i, 1 = j, 2 = k; ``normal`` the RAS unit vector of the
    slice axis; ``probabilities`` view -> probability from geometry alone; ``isotropic`` when the
    grid gave no thick-slice axis (the stored slice axis was used)."""

    view: str
    slice_axis: int
    normal: tuple[float, float, float]
    probabilities: dict[str, float]
    isotropic: bool


def acquisition_plane(geometry: Geometry, shape: tuple[int, ...]) -> AcquisitionPlane:
    """The acquisition plane of an image with ``geometry`` and array ``shape`` ``[k, j, i]``."""
    slice_axis, isotropic = _slice_axis(geometry.spacing, shape)
    normal = geometry.direction[:, slice_axis]
    probabilities = _plane_probabilities(normal, isotropic)
    view = max(probabilities, key=probabilities.get)
    return AcquisitionPlane(view, slice_axis, tuple(float(v) for v in normal), probabilities, isotropic)


def _slice_axis(spacing, shape) -> tuple[int, bool]:
    """(voxel axis of the slice normal, whether the grid is isotropic); single slices use k."""
    spacing = np.asarray(spacing, float)
    if shape[0] == 1 or spacing.max() / spacing.min() < ANISOTROPY:
        return 2, True
    return int(np.argmax(spacing)), False


def _plane_probabilities(normal: np.ndarray, isotropic: bool) -> dict[str, float]:
    """Softmax of the squared cosines between the slice normal and R, A, S, by view name."""
    cosines = np.asarray(normal, float) ** 2
    weights = np.exp(_SHARPNESS * (cosines - cosines.max()))
    weights /= weights.sum()
    if isotropic:
        weights = (1 - _ISOTROPIC_DOUBT) * weights + _ISOTROPIC_DOUBT / 3
    by_world = {_VIEW_OF_WORLD_AXIS[axis]: float(weights[axis]) for axis in range(3)}
    return {view: by_world[view] for view in VIEWS}
