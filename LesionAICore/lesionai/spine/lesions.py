"""Lesion segmentation in a window that follows the cord, on the canonical grid.

The lesion network sees, on every axial slice holding cord, a ``WINDOW`` x ``WINDOW`` pixel window
centred on the cord. Its probability is kept only within ``MARGIN_MM`` of the cord (lesions inside
and at the border of the cord), and connected components smaller than ``MIN_VOLUME_MM3`` are dropped.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .grid import bounding_box
from .slices import Predictor, normalize_intensity, paste_windows, predict_planes, windows

WINDOW = 48  # pixels (36 mm at 0.75 mm)
MARGIN_MM = 1.5
MIN_VOLUME_MM3 = 8.0  # about a 2.5 mm sphere: smaller specks are not reported as lesions


def cord_window_centres(cord: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slices holding cord and the cord centre (A, R voxel indices) on each of them."""
    slices = np.flatnonzero(cord.reshape(len(cord), -1).any(axis=1))
    centres = np.array([ndimage.center_of_mass(cord[k]) for k in slices]).reshape(-1, 2)
    return slices, centres


def lesion_probability(volume: np.ndarray, cord: np.ndarray, predict: Predictor, window: int = WINDOW,
                       normalized: bool = False) -> np.ndarray:
    """Lesion probability ``[S, A, R]`` (0 on slices without cord) of canonical ``volume``."""
    image = volume if normalized else normalize_intensity(volume)
    probability = np.zeros(image.shape, np.float32)
    slices, centres = cord_window_centres(cord)
    if len(slices) == 0:
        return probability
    patches = predict_planes(windows(image[slices], centres, window)[:, None], predict)
    paste_windows(patches, centres, image.shape, out=probability, slices=slices)
    return probability


def near_cord(cord: np.ndarray, spacing_mm: tuple, margin_mm: float = MARGIN_MM) -> np.ndarray:
    """Voxels within ``margin_mm`` of the cord in the axial plane; ``spacing_mm`` is (S, A, R)."""
    distance = ndimage.distance_transform_edt(~cord, sampling=(1e6, spacing_mm[1], spacing_mm[2]))
    return distance <= margin_mm


def drop_small(mask: np.ndarray, voxel_mm3: float, min_volume_mm3: float = MIN_VOLUME_MM3) -> np.ndarray:
    """``mask`` without its 26-connected components smaller than ``min_volume_mm3``."""
    components, count = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if count == 0:
        return mask
    sizes = np.bincount(components.ravel()) * voxel_mm3
    sizes[0] = 0
    return (sizes >= min_volume_mm3)[components]


def lesion_mask(probability: np.ndarray, cord: np.ndarray, spacing_mm: tuple, threshold: float = 0.5,
                min_volume_mm3: float = MIN_VOLUME_MM3) -> np.ndarray:
    """Boolean lesions: probability >= ``threshold`` near the cord, small components removed."""
    out = np.zeros(probability.shape, bool)
    margin = int(np.ceil(MARGIN_MM / min(spacing_mm[1:]))) + 1
    box = bounding_box(cord, margin=margin)
    if box is None:
        return out
    candidate = (probability[box] >= threshold) & near_cord(cord[box], spacing_mm)
    components, count = ndimage.label(candidate, structure=np.ones((3, 3, 3)))
    if count:
        sizes = np.bincount(components.ravel())[1:] * float(np.prod(spacing_mm))
        keep = np.concatenate([[False], sizes >= min_volume_mm3])
        out[box] = keep[components]
    return out
