"""Running a 2D network over the axial slices of a canonical volume: normalisation, padding,
batching, and windows that follow the cord.

A *predictor* is any callable taking float32 ``[N, C, H, W]`` (H, W multiples of ``MULTIPLE``) and
returning logits ``[N, 1, H, W]``; the pipeline passes an ONNX Runtime model, training passes torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Predictor = Callable[[np.ndarray], np.ndarray]
MULTIPLE = 8  # three stride-2 levels
BATCH_SLICES = 64  # windows per network call: large enough to be efficient, small enough for memory


def normalize_intensity(volume: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Volume scaled so its ``low``/``high`` percentiles (of non-zero voxels) map to 0/1, clipped to [0, 1.5]."""
    values = volume[volume > 0] if np.any(volume > 0) else volume.ravel()
    floor, ceiling = np.percentile(values, [low, high])
    scaled = volume.astype(np.float32, copy=True)
    scaled -= np.float32(floor)
    scaled *= np.float32(1.0 / max(float(ceiling - floor), 1e-6))
    return np.clip(scaled, 0.0, 1.5, out=scaled)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)


def predict_planes(planes: np.ndarray, predict: Predictor) -> np.ndarray:
    """Probabilities ``[N, H, W]`` of planes ``[N, C, H, W]`` (any H, W), run in batches."""
    height, width = planes.shape[-2:]
    padded = _pad_to_multiple(planes)
    out = np.zeros((len(planes), height, width), np.float32)
    for start in range(0, len(planes), BATCH_SLICES):
        logits = predict(padded[start:start + BATCH_SLICES])
        out[start:start + BATCH_SLICES] = sigmoid(logits[:, 0, :height, :width])
    return out


def windows(volume: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    """``[S, size, size]`` windows of ``volume`` ``[S, A, R]`` centred on ``centres`` ``[S, 2]`` (A, R
    voxel indices); outside the volume is 0."""
    out = np.zeros((len(volume), size, size), np.float32)
    for k, (a, r) in enumerate(window_corners(centres, size)):
        source, target = _overlap(a, r, size, volume.shape[1:])
        out[(k, *target)] = volume[(k, *source)]
    return out


def paste_windows(patches: np.ndarray, centres: np.ndarray, shape: tuple, out: np.ndarray | None = None,
                  slices: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`windows`: patches ``[N, size, size]`` placed into a zero volume of ``shape``
    (or into ``out``), patch n on slice ``slices[n]`` (default: slice n)."""
    size = patches.shape[-1]
    out = np.zeros(shape, np.float32) if out is None else out
    slices = np.arange(len(patches)) if slices is None else slices
    for n, (k, (a, r)) in enumerate(zip(slices, window_corners(centres, size))):
        target, source = _overlap(a, r, size, shape[1:])
        out[(k, *target)] = patches[(n, *source)]
    return out


def _overlap(a: int, r: int, size: int, plane_shape: tuple) -> tuple[tuple, tuple]:
    """(slices in the plane, slices in the window) where a window with corner (a, r) meets the plane."""
    a0, r0 = max(a, 0), max(r, 0)
    a1, r1 = min(a + size, plane_shape[0]), min(r + size, plane_shape[1])
    a1, r1 = max(a1, a0), max(r1, r0)
    return (slice(a0, a1), slice(r0, r1)), (slice(a0 - a, a1 - a), slice(r0 - r, r1 - r))


def window_corners(centres: np.ndarray, size: int) -> np.ndarray:
    """Integer top-left corners ``[S, 2]`` of windows of ``size`` centred on ``centres``."""
    return np.round(np.asarray(centres) - size / 2).astype(int)


def _pad_to_multiple(planes: np.ndarray) -> np.ndarray:
    height, width = planes.shape[-2:]
    pad_h, pad_w = (-height) % MULTIPLE, (-width) % MULTIPLE
    if not (pad_h or pad_w):
        return np.ascontiguousarray(planes, dtype=np.float32)
    return np.pad(planes, ((0, 0), (0, 0), (0, pad_h), (0, pad_w))).astype(np.float32)
