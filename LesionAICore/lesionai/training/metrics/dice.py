"""Dice overlap, computed by MONAI (:func:`monai.metrics.compute_dice`), with an ignore value for
label maps whose unsure pixels (devices, markup) count for neither side.

>>> dice_score(np.array([1, 1, 0, 0], bool), np.array([0, 1, 1, 0], bool))
0.5
>>> labelled_dice(np.array([1, 1, 1, 0], bool), np.array([0, 1, 255, 1], np.uint8))
0.5
"""

from __future__ import annotations

import numpy as np
import torch
from monai.metrics import compute_dice

IGNORE = 255  # label value of pixels that count for neither prediction nor truth


def dice_score(prediction: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Dice of boolean ``prediction`` against boolean ``truth`` (same shape, any number of axes),
    over the ``valid`` pixels only when given; 1.0 when both are empty there."""
    prediction, truth = np.asarray(prediction, bool), np.asarray(truth, bool)
    if valid is not None:
        prediction, truth = prediction & valid, truth & valid
    return float(batch_dice(torch.from_numpy(prediction)[None, None], torch.from_numpy(truth)[None, None])[0])


def labelled_dice(prediction: np.ndarray, labels: np.ndarray, ignore: int = IGNORE) -> float:
    """Dice of boolean ``prediction`` against a label map (1 foreground, 0 background, ``ignore``
    neither): pixels labelled ``ignore`` are left out of both sides."""
    valid = labels != ignore
    return dice_score(prediction, labels == 1, valid)


def batch_dice(predictions: torch.Tensor, truths: torch.Tensor) -> torch.Tensor:
    """(B,) Dice (float32 precision: MONAI computes in float32) of binary (B, 1, ...) ``predictions`` against binary (B, 1, ...) ``truths``
    (1.0 where both are empty)."""
    return compute_dice(predictions.double(), truths.double(), include_background=True, ignore_empty=False)[:, 0]
