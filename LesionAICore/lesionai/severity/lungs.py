"""Lung segmentation post-processing: two lungs, holes filled, right/left assigned by anatomy."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import Geometry
from .preprocess import resize_plane

RIGHT_LUNG = 1
LEFT_LUNG = 2
OPACITY = 3  # in the pipeline's lung labelmap: opacity inside either lung
MIN_LUNG_FRACTION = 0.005  # a component smaller than 0.5 % of the image is noise, not a lung


def largest_components(mask: np.ndarray, count: int = 2) -> list[np.ndarray]:
    """The ``count`` largest 8-connected components of a 2D boolean mask, largest first,
    each with holes filled; components under MIN_LUNG_FRACTION of the image are dropped."""
    labelled, found = ndimage.label(mask, structure=np.ones((3, 3)))
    if found == 0:
        return []
    sizes = ndimage.sum_labels(mask, labelled, index=np.arange(1, found + 1))
    order = np.argsort(sizes)[::-1][:count]
    minimum = MIN_LUNG_FRACTION * mask.size
    return [ndimage.binary_fill_holes(labelled == index + 1) for index in order if sizes[index] >= minimum]


def right_left_labels(components: list[np.ndarray], geometry: Geometry, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """A (rows, cols) uint8 labelmap: 1 for the patient's right lung, 2 for the left.

    Sides come from world coordinates: the component whose centroid lies further towards
    RAS +x (patient right) is the right lung. A single component is labelled by the side of
    the image centre it lies on. ``scale`` (rows, cols) maps the components' grid onto the grid
    ``geometry`` describes, when the components were found on a coarser grid.
    """
    shape = components[0].shape if components else (0, 0)
    labels = np.zeros(shape, dtype=np.uint8)
    if not components:
        return labels
    r_coordinates = [_point_r(ndimage.center_of_mass(c), geometry, scale) for c in components]
    if len(components) == 1:
        centre_r = _point_r(((shape[0] - 1) / 2, (shape[1] - 1) / 2), geometry, scale)
        labels[components[0]] = RIGHT_LUNG if r_coordinates[0] > centre_r else LEFT_LUNG
        return labels
    right_index = int(np.argmax(r_coordinates))
    for index, component in enumerate(components):
        labels[component] = RIGHT_LUNG if index == right_index else LEFT_LUNG
    return labels


def _point_r(row_col: tuple[float, float], geometry: Geometry, scale: tuple[float, float]) -> float:
    row, col = ((value + 0.5) * factor - 0.5 for value, factor in zip(row_col, scale))
    return float((geometry.ijk_to_ras() @ np.array([col, row, 0.0, 1.0]))[0])


def lung_labels_from_probability(probability: np.ndarray, geometry: Geometry, shape: tuple[int, int] | None = None,
                                 threshold: float = 0.5) -> np.ndarray:
    """Post-processed right/left labelmap of ``shape`` (default: the probability's shape).

    Components, hole filling and sides are decided on the (coarse) probability grid, which is
    what makes this fast for large radiographs; the boundary is then refined on the fine grid
    from the bilinearly upsampled probability. ``geometry`` describes the fine grid.
    """
    shape = tuple(shape or probability.shape)
    coarse_mask = probability >= threshold
    scale = (shape[0] / probability.shape[0], shape[1] / probability.shape[1])
    coarse = right_left_labels(largest_components(coarse_mask), geometry, scale)
    if shape == probability.shape:
        return coarse
    return _refined(coarse, coarse_mask, probability, shape, threshold)


def _refined(coarse, coarse_mask, probability, shape, threshold) -> np.ndarray:
    """Fine labels: fine probability inside the (one coarse pixel dilated) lungs, plus filled holes."""
    near = resize_plane(ndimage.grey_dilation(coarse, size=3), shape, nearest=True)
    holes = resize_plane(((coarse > 0) & ~coarse_mask).astype(np.uint8), shape, nearest=True) > 0
    keep = ((resize_plane(probability, shape) >= threshold) & (near > 0)) | holes
    return np.where(keep, near, 0).astype(np.uint8)
