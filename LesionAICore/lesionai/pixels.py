"""Pixel value conventions shared by the readers."""

from __future__ import annotations

import numpy as np

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
"""Rec. 601 luma: how colour pictures and colour DICOM become grey."""


def luma(rgb: np.ndarray) -> np.ndarray:
    """float32 grey values of an ``[..., 3 or 4]`` colour array (alpha ignored)."""
    return (rgb[..., :3] @ LUMA_WEIGHTS).astype(np.float32)
