"""Intensity and size preparation shared by training and inference.

Both sides call these functions so that a model always sees exactly the input it was trained on.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage


def normalize_percentile(pixels: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Clip to the [low, high] percentiles and scale to [0, 1] (float32).

    A constant image maps to zeros.
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    lo, hi = np.percentile(pixels, [low, high])
    if hi <= lo:
        return np.zeros_like(pixels)
    return np.clip((pixels - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def resize_plane(plane: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize a 2D float or label plane to ``shape`` (rows, cols), antialiased when shrinking."""
    rows, cols = shape
    if plane.shape == (rows, cols):
        return plane.copy()
    if nearest:
        resized = PILImage.fromarray(plane.astype(np.uint8)).resize((cols, rows), PILImage.NEAREST)
        return np.asarray(resized)
    resized = PILImage.fromarray(plane.astype(np.float32), mode="F").resize((cols, rows), PILImage.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def model_input(plane: np.ndarray, shape: tuple[int, int], low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """A display-oriented radiograph plane as a network input of shape (1, 1, rows, cols).

    Percentiles are taken on the resized plane so that the result does not depend on the
    original resolution.
    """
    small = resize_plane(np.asarray(plane, dtype=np.float32), shape)
    return normalize_percentile(small, low, high)[np.newaxis, np.newaxis]
