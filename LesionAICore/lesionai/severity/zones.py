"""Brixia zones from the lungs and the spatial-transformer alignment.

Rule (applied in the canonical frame found by the STN):

1. Every lung pixel is mapped into the canonical frame with the inverse of the STN's affine.
2. The craniocaudal extent of the lungs is taken over *both* lungs together: ``top`` is the highest
   canonical y of any lung pixel (the apices), ``bottom`` the lowest (the deepest costophrenic
   recess / diaphragm dome).
3. Two lines at one third and two thirds of that extent, horizontal in the canonical frame, split
   each lung into upper, middle and lower zones (Brixia: upper above the inferior wall of the aortic
   arch, lower below the inferior wall of the right inferior pulmonary vein; in a normally aligned
   frontal radiograph those landmarks lie close to the thirds of the lung height).
4. Right lung: A upper, B middle, C lower; left lung: D upper, E middle, F lower.

Because the lines are horizontal in the canonical frame, a rotated or sheared radiograph gets
correspondingly tilted lines in image space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lungs import LEFT_LUNG, RIGHT_LUNG

ZONE_LETTERS = ("A", "B", "C", "D", "E", "F")
LEVELS = ("upper", "middle", "lower")
ZONE_OF = {(RIGHT_LUNG, level): index + 1 for index, level in enumerate(LEVELS)}
ZONE_OF.update({(LEFT_LUNG, level): index + 4 for index, level in enumerate(LEVELS)})


@dataclass(frozen=True)
class ZoneInfo:
    letter: str
    lung: str
    level: str


ZONES = tuple(ZoneInfo(letter, "right" if i < 3 else "left", LEVELS[i % 3]) for i, letter in enumerate(ZONE_LETTERS))


def to_canonical(points: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Map (N, 2) normalised image points into the canonical frame.

    ``theta`` (2, 3) maps canonical -> image (``affine_grid`` sampling convention), so this applies
    its inverse.
    """
    linear, shift = theta[:, :2], theta[:, 2]
    return (points - shift) @ np.linalg.inv(linear).T


def canonical_y_grid(shape: tuple[int, int], theta: np.ndarray) -> np.ndarray:
    """Canonical-frame y of every pixel centre of a (rows, cols) image (an affine, so separable)."""
    height, width = shape
    x = (2 * np.arange(width) + 1) / width - 1
    y = (2 * np.arange(height) + 1) / height - 1
    inverse = np.linalg.inv(theta[:, :2])
    offset = -(inverse @ theta[:, 2])[1]
    return (inverse[1, 0] * x[np.newaxis, :] + inverse[1, 1] * y[:, np.newaxis] + offset).astype(np.float32)


def zone_labels(lung_labels: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, dict]:
    """(rows, cols) uint8 zones 1..6 (A..F) from a right/left lung labelmap and the STN affine.

    Returns the labelmap and the canonical-frame cut lines {"top", "upper_middle", "middle_lower", "bottom"}.
    """
    lung = lung_labels > 0
    if not lung.any():
        return np.zeros(lung_labels.shape, dtype=np.uint8), {}
    lung_y = canonical_y_grid(lung_labels.shape, theta)[lung]  # only lung pixels get a zone
    top, bottom = float(lung_y.min()), float(lung_y.max())
    cuts = np.array([top + (bottom - top) / 3, top + 2 * (bottom - top) / 3], dtype=np.float32)
    level_index = np.searchsorted(cuts, lung_y, side="right").astype(np.uint8)
    zones = np.zeros(lung_labels.shape, dtype=np.uint8)
    zones[lung] = np.where(lung_labels[lung] == RIGHT_LUNG, 1, 4).astype(np.uint8) + level_index
    return zones, {"top": top, "upper_middle": float(cuts[0]), "middle_lower": float(cuts[1]), "bottom": bottom}


def zone_areas_mm2(zones: np.ndarray, pixel_area_mm2: float) -> dict[str, float]:
    counts = np.bincount(zones.ravel(), minlength=7)
    return {letter: float(counts[index + 1] * pixel_area_mm2) for index, letter in enumerate(ZONE_LETTERS)}
