"""Spinal cord segmentation on the canonical grid with a 2D U-Net run on square windows.

The network takes ``WINDOW`` x ``WINDOW`` pixel windows (0.75 mm pixels). Two passes: a *coarse*
pass tiles whole slices -- every slice of a short volume (an axial scan), every ``COARSE_STEP_MM``
of a long one (a sagittal scan reformatted to hundreds of axial slices) -- to find the cord; its
centre is interpolated along S; a *fine* pass segments every slice in a window centred on it, as
in training. Both passes use the same network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .grid import CanonicalVolume
from .slices import Predictor, normalize_intensity, paste_windows, predict_planes, windows

INPLANE_MM = 0.75
WINDOW = 64  # pixels (48 mm at 0.75 mm): the cord and its canal with margin
WHOLE_VOLUME_PIXELS = 1_500_000  # up to this size the coarse pass sees every slice
COARSE_STEP_MM = 8.0


def cord_probability(canonical: CanonicalVolume, predict: Predictor, window: int = WINDOW,
                     normalized: np.ndarray | None = None) -> np.ndarray:
    """Cord probability ``[S, A, R]`` (0-1) on the canonical grid of ``canonical`` (``normalized``:
    its intensities already scaled by :func:`normalize_intensity`)."""
    volume = normalize_intensity(canonical.image.array) if normalized is None else normalized
    centres = cord_centres(volume, predict, canonical.slice_mm, window)
    if centres is None:
        return np.zeros(volume.shape, np.float32)
    patches = predict_planes(windows(volume, centres, window)[:, None], predict)
    return paste_windows(patches, centres, volume.shape)


def cord_centres(volume: np.ndarray, predict: Predictor, slice_mm: float, window: int = WINDOW) -> np.ndarray | None:
    """Cord centre ``[S, 2]`` (A, R voxel indices) for every slice, from a coarse pass; None if no cord.

    Each sampled slice may show several blobs (the cord, and look-alikes such as CSF or fat lines);
    the one nearest a running median of the slices' largest blobs is taken, and slices with no blob
    near it are skipped (their centre is interpolated along S).
    """
    step = 1 if volume.size <= WHOLE_VOLUME_PIXELS else max(1, int(round(COARSE_STEP_MM / slice_mm)))
    sampled = np.arange(step // 2, volume.shape[0], step)
    probability = tiled_probability(volume[sampled], predict, window)
    found = [(k, blobs) for k, blobs in ((k, _blobs(p)) for k, p in zip(sampled, probability)) if blobs]
    if not found:
        return None
    ks, centres = _consistent_centres(found)
    every = np.arange(volume.shape[0])
    return np.stack([np.interp(every, ks, centres[:, axis]) for axis in (0, 1)], axis=1)


def _consistent_centres(found: list, tolerance_px: float = 20.0, span: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Slices and centres of the blob nearest the running median (over ``span`` sampled slices) of
    each slice's largest blob; slices whose nearest blob is farther than ``tolerance_px`` are dropped."""
    largest = np.array([blobs[0][0] for _, blobs in found])
    reference = ndimage.median_filter(largest, size=(min(span, len(largest)), 1), mode="nearest")
    kept = []
    for (k, blobs), target in zip(found, reference):
        distances = [np.linalg.norm(centre - target) for centre, _ in blobs]
        if min(distances) <= tolerance_px:
            kept.append((k, blobs[int(np.argmin(distances))][0]))
    if not kept:
        return np.array([k for k, _ in found]), largest
    return np.array([k for k, _ in kept]), np.array([c for _, c in kept])


def tiled_probability(planes: np.ndarray, predict: Predictor, window: int) -> np.ndarray:
    """Probability of whole planes ``[N, H, W]`` from non-overlapping ``window`` tiles (zero-padded)."""
    count, height, width = planes.shape
    rows, cols = -(-height // window), -(-width // window)
    padded = np.zeros((count, rows * window, cols * window), np.float32)
    padded[:, :height, :width] = planes
    tiles = padded.reshape(count, rows, window, cols, window).transpose(0, 1, 3, 2, 4).reshape(-1, 1, window, window)
    probability = predict_planes(tiles, predict).reshape(count, rows, cols, window, window)
    return probability.transpose(0, 1, 3, 2, 4).reshape(count, rows * window, cols * window)[:, :height, :width]


def cord_mask(probability: np.ndarray, threshold: float = 0.5, keep_fraction: float = 0.25) -> np.ndarray:
    """Boolean cord mask: the 3D connected components above ``threshold`` holding at least
    ``keep_fraction`` of the largest one's voxels (a cord interrupted by a missed slice stays whole)."""
    return large_components(probability >= threshold, keep_fraction)


def large_components(mask: np.ndarray, keep_fraction: float) -> np.ndarray:
    """26-connected components of a boolean mask with at least ``keep_fraction`` of the largest's size."""
    components, count = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if count <= 1:
        return components > 0
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    return (sizes >= keep_fraction * sizes.max())[components]


def _blobs(plane_probability: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """(centre (A, R), pixel count) of every blob above 0.5 in one slice, largest first."""
    blobs, count = ndimage.label(plane_probability >= 0.5)
    if count == 0:
        return []
    sizes = np.bincount(blobs.ravel())[1:]
    centres = ndimage.center_of_mass(np.ones_like(plane_probability), blobs, np.arange(1, count + 1))
    order = np.argsort(-sizes)
    return [(np.array(centres[n]), int(sizes[n])) for n in order]


@dataclass
class CordSegmentation:
    """Cord found in one image: ``mask`` on the input grid ``[k, j, i]``, and on the canonical grid
    the ``canonical`` volume, its ``normalized`` intensities and the cord ``probability`` (kept
    components only)."""

    mask: np.ndarray
    canonical: CanonicalVolume
    normalized: np.ndarray
    probability: np.ndarray


def cord_on_input(image, predict: Predictor) -> CordSegmentation:
    """Segment the cord of ``image`` (any orientation) and map it back onto the input grid."""
    from .grid import bounding_box, probability_on_input, to_canonical

    canonical = to_canonical(image, INPLANE_MM)
    normalized = normalize_intensity(canonical.image.array)
    probability = cord_probability(canonical, predict, normalized=normalized)
    kept = np.zeros(probability.shape, bool)
    box = bounding_box(probability >= 0.5, margin=3)
    if box is not None:
        kept[box] = ndimage.binary_dilation(cord_mask(probability[box]), iterations=2)
    probability = probability * kept
    mask = probability_on_input(canonical, probability, image) >= 0.5
    return CordSegmentation(mask, canonical, normalized, probability)
