"""Brixia zone scores and their Grad-CAM maps from the zone classifier's ONNX outputs (numpy only).

The classifier pools its token features ``F`` (D, h, w) over each zone with weights that sum to 1
and applies one linear head ``W`` (4, D). For zone z with score probabilities ``p`` and expected
score ``E = sum_c c p_c``, the gradient of ``E`` with respect to ``F`` is
``sum_c p_c (c - E) W_c`` times the zone's pooling weight at each token, so the Grad-CAM channel
weights (the spatial mean of that gradient) are ``alpha = sum_c p_c (c - E) W_c / (h w)``, and the
map is ``relu(alpha . F)``: where in the image the features push this zone's score up. No autograd
is needed; the training code checks this against torch's autograd Grad-CAM.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage

from .zones import ZONE_LETTERS

SCORES = np.arange(4, dtype=np.float64)
SCORE_RULES = ("argmax", "expected", "median")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (float64)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def scores_from_probabilities(probabilities: np.ndarray, rule: str = "argmax") -> np.ndarray:
    """Integer scores 0-3 from (..., 4) probabilities: the most probable score (``argmax``), the
    expected score rounded to the nearest integer (``expected``), or the median of the score
    distribution (``median``: the smallest score whose cumulative probability reaches 1/2, the
    choice that minimises the expected absolute error)."""
    if rule == "argmax":
        return probabilities.argmax(axis=-1)
    if rule == "expected":
        return np.clip(np.rint(probabilities @ SCORES), 0, 3).astype(int)
    if rule == "median":
        return np.minimum((np.cumsum(probabilities, axis=-1) < 0.5).sum(axis=-1), 3)
    raise ValueError(f"unknown score rule {rule!r}; use one of {SCORE_RULES}")


def zone_cams(features: np.ndarray, head_weight: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """(6, h, w) Grad-CAM maps of each zone's expected score from features (D, h, w), head weights
    (4, D) and the zones' probabilities (6, 4)."""
    expected = probabilities @ SCORES
    score_gradient = probabilities * (SCORES[np.newaxis, :] - expected[:, np.newaxis])
    alpha = score_gradient @ head_weight / (features.shape[1] * features.shape[2])
    return np.maximum(np.einsum("zd,dhw->zhw", alpha, features), 0.0)


def heat_map(cams: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """A (H, W) float32 map in [0, 1]: in each zone's pixels, that zone's Grad-CAM (upsampled to
    the zone labelmap's grid); 0 outside the lungs. Scaled by the largest value over all zones,
    so zones compare with each other; all zeros when no zone has positive evidence."""
    composite = np.zeros(zones.shape, dtype=np.float32)
    for index in range(len(ZONE_LETTERS)):
        inside = zones == index + 1
        if inside.any() and cams[index].max() > 0:
            columns = np.flatnonzero(inside.any(axis=0))
            span = slice(columns[0], columns[-1] + 1)
            composite[:, span][inside[:, span]] = upsampled_columns(cams[index], zones.shape, span)[inside[:, span]]
    peak = float(composite.max())
    return composite / peak if peak > 0 else composite


def upsampled_columns(cam: np.ndarray, shape: tuple[int, int], columns: slice) -> np.ndarray:
    """Columns ``columns`` of ``preprocess.resize_plane(cam, shape)``, computed for those columns only.

    Bilinear resizing is separable and Pillow does it in two passes, along rows and then along
    columns; the first is cheap on the cam's few rows, and the second treats each column on its own,
    so running it on the zone's columns alone gives exactly their values at a fraction of the cost.
    """
    rows, cols = shape
    wide = PILImage.fromarray(cam.astype(np.float32), mode="F").resize((cols, cam.shape[0]), PILImage.BILINEAR)
    strip = wide.crop((columns.start, 0, columns.stop, cam.shape[0]))
    return np.asarray(strip.resize((columns.stop - columns.start, rows), PILImage.BILINEAR), dtype=np.float32)


def zone_score_table(probabilities: np.ndarray, rule: str, low_confidence: float) -> dict[str, dict]:
    """letter -> {"score", "probabilities", "confidence", "low_confidence"} for zones A-F."""
    scores = scores_from_probabilities(probabilities, rule)
    table = {}
    for index, letter in enumerate(ZONE_LETTERS):
        confidence = float(probabilities[index, scores[index]])
        table[letter] = {"score": int(scores[index]),
                         "probabilities": [round(float(p), 4) for p in probabilities[index]],
                         "confidence": round(confidence, 4), "low_confidence": confidence < low_confidence}
    return table
