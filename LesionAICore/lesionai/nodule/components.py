"""Ground-glass and solid components of a nodule, and the consolidation-to-tumour ratio (CTR).

The solid component is the part of the nodule at or above ``SOLID_HU`` = -300 HU (on the lung
window, consolidation that hides the vessels and bronchi); the rest of the nodule is ground glass.
A fixed HU cut-off of this kind is the usual quantitative stand-in for the radiologist's
"consolidation" reading of part-solid adenocarcinoma (CTR as in the Japan Clinical Oncology Group
JCOG0201 criteria, Suzuki et al., J Thorac Oncol 2011); -300 HU is a documented choice here, not
a learned value, and other cut-offs (-400 ... -160 HU) appear in the literature.

CTR = largest axial diameter of the solid component / largest axial diameter of the whole nodule
(both: largest in-plane Feret diameter over all axial slices), 0 for a pure ground-glass nodule and
close to 1 for a solid one.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import Geometry
from .features import max_axial_diameter

SOLID_HU = -300.0
GROUND_GLASS = 1
SOLID = 2


def component_labels(nodule_mask: np.ndarray, hu: np.ndarray) -> np.ndarray:
    """uint8 labels: 0 outside, 1 ground-glass component, 2 solid component (HU >= ``SOLID_HU``).

    Isolated solid voxels (no solid face-neighbour: noise or a vessel wall grazing the nodule) are
    counted as ground glass.
    """
    nodule = np.asarray(nodule_mask, dtype=bool)
    solid = nodule & (np.asarray(hu) >= SOLID_HU)
    solid &= ndimage.binary_dilation(solid, _face_neighbours()) & _has_solid_neighbour(solid)
    labels = np.zeros(nodule.shape, dtype=np.uint8)
    labels[nodule] = GROUND_GLASS
    labels[solid] = SOLID
    return labels


def _face_neighbours() -> np.ndarray:
    return ndimage.generate_binary_structure(3, 1)


def _has_solid_neighbour(solid: np.ndarray) -> np.ndarray:
    """True where at least one of the six face neighbours is solid."""
    kernel = _face_neighbours().astype(np.int32)
    kernel[1, 1, 1] = 0
    return ndimage.convolve(solid.astype(np.int32), kernel, mode="constant") > 0


def consolidation_tumour_ratio(labels: np.ndarray, geometry: Geometry) -> float:
    """CTR (0-1) of component ``labels`` (see :func:`component_labels`) on ``geometry``."""
    whole = max_axial_diameter(labels > 0, geometry)
    if whole == 0:
        return 0.0
    return float(min(1.0, max_axial_diameter(labels == SOLID, geometry) / whole))
