"""Nodule mask from the segmentation network's probability, seeded by the nodule point.

The network (``nodule-segmentation-unet``, a small MONAI 3D U-Net) sees the region in HU windowed
to ``HU_WINDOW`` and returns one logit per region voxel. Its probability is resampled linearly onto
the input grid, thresholded at 0.5, and only the connected component at the seed (the nodule point,
or the crop centre) is kept, so a neighbouring vessel or nodule is never reported.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from . import grids
from .region import BASE_SPACING_MM, MAX_SPACING_MM, REGION_SHAPE, NoduleRegion, grown_spacing

SEGMENTATION_MODEL = "nodule-segmentation-unet"
HU_WINDOW = (-1000.0, 400.0)
THRESHOLD = 0.5
# A component counts as "at the seed" when it comes within this distance of the seed point.
SEED_REACH_MM = 5.0
# Training regions hold the nodule within this share of their side (before a random x/÷ 1.2 spacing).
FILL = 0.75


def model_input(region_hu: np.ndarray) -> np.ndarray:
    """``[1, 1, k, j, i]`` float32 network input: HU mapped from ``HU_WINDOW`` to 0..1 and clipped."""
    low, high = HU_WINDOW
    scaled = (np.asarray(region_hu, dtype=np.float32) - low) / (high - low)
    return np.clip(scaled, 0.0, 1.0)[np.newaxis, np.newaxis]


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def nodule_mask_on_input(region: NoduleRegion, probability: np.ndarray) -> tuple[tuple[slice, ...], np.ndarray]:
    """(block, boolean mask) of the nodule on the covered block of the input grid.

    ``probability``: region-grid probability (``[k, j, i]``, 0-1).
    """
    block, values = region.to_input(probability, order=1)
    seed = grids.ras_to_kji(region.source_geometry, region.center_ras) - [s.start for s in block]
    spacing_kji = np.asarray(region.source_geometry.spacing[::-1])
    return block, seeded_component(values >= THRESHOLD, seed, spacing_kji)


def seeded_component(mask: np.ndarray, seed_kji, spacing_kji, reach_mm: float = SEED_REACH_MM) -> np.ndarray:
    """The connected component of ``mask`` nearest to ``seed_kji`` if within ``reach_mm``, else empty."""
    labels, count = ndimage.label(mask)
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    distance_mm = _distance_to_seed_mm(mask.shape, seed_kji, spacing_kji)
    nearest = ndimage.minimum(distance_mm, labels, index=np.arange(1, count + 1))
    best = int(np.argmin(nearest))
    if nearest[best] > reach_mm:
        return np.zeros_like(mask, dtype=bool)
    return labels == best + 1


def _distance_to_seed_mm(shape, seed_kji, spacing_kji) -> np.ndarray:
    axes = [(np.arange(n) - c) * s for n, c, s in zip(shape, seed_kji, spacing_kji)]
    return np.sqrt(axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2 + axes[2][None, None, :] ** 2)


def dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Dice of two boolean masks (1.0 when both are empty)."""
    denominator = prediction.sum() + truth.sum()
    return 1.0 if denominator == 0 else float(2 * (prediction & truth).sum() / denominator)


def region_component(probability: np.ndarray) -> np.ndarray:
    """Thresholded component at the centre of a region-grid ``probability`` (boolean mask)."""
    center = (np.asarray(probability.shape) - 1) / 2
    return seeded_component(probability >= THRESHOLD, center, np.ones(3), reach_mm=SEED_REACH_VOXELS)


# In region voxels: the component at the seed must come within this many voxels of the centre.
SEED_REACH_VOXELS = 4.0


def touches_border(mask: np.ndarray) -> bool:
    """True when a boolean ``[k, j, i]`` mask has a voxel on any face of its array."""
    faces = (mask[0], mask[-1], mask[:, 0], mask[:, -1], mask[:, :, 0], mask[:, :, -1])
    return any(face.any() for face in faces)


def fills_region(mask: np.ndarray) -> bool:
    """True when the mask spans more of the region than training nodules did (``FILL``) or touches
    its border: the nodule may be larger than the region, so a coarser region is needed."""
    present = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    spans = [p[-1] - p[0] + 1 if p.size else 0 for p in present]
    return touches_border(mask) or max(spans) > FILL * min(mask.shape)


def crop_start_spacing(crop_shape_kji, spacing_kji) -> float:
    """First region spacing (mm) for a nodule crop: the crop's slices span the nodule (LIDC crops are
    the nodule's extent along k), sized to ``FILL`` of the region as in training."""
    extent_mm = crop_shape_kji[0] * spacing_kji[0]
    return float(np.clip(extent_mm / (REGION_SHAPE[0] * FILL), BASE_SPACING_MM, MAX_SPACING_MM))


def segment_with_growth(cut_region: Callable[[float], NoduleRegion],
                        probability_of: Callable[[np.ndarray], np.ndarray],
                        start_spacing_mm: float = BASE_SPACING_MM) -> tuple[NoduleRegion, np.ndarray]:
    """(region, probability) at the finest spacing whose nodule fits the region (:func:`fills_region`).

    ``cut_region(spacing_mm)`` cuts a region; ``probability_of(region_hu)`` runs the network. The
    spacing starts at ``start_spacing_mm`` and grows (``grown_spacing``) up to ``MAX_SPACING_MM``.
    """
    spacing = start_spacing_mm
    while True:
        region = cut_region(spacing)
        probability = probability_of(region.image.array)
        coarser = grown_spacing(spacing)
        if coarser is None or not fills_region(region_component(probability)):
            return region, probability
        spacing = coarser
