"""``overlay.png`` of a nodule: axial, coronal and sagittal slices through it with the component
outlines (ground glass yellow, solid red), and the key numbers below.

Slices are taken across the input array's axes (k, j, i) through the nodule's centre, shown on the
lung window (-1350 ... 150 HU) with their pixel aspect from the spacing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ..drawing import TextPanel, draw_outline, resized, resized_labels, save_png
from ..geometry import Image
from .components import GROUND_GLASS, SOLID
from .labels import GROUND_GLASS_COLOR, SOLID_COLOR

LUNG_WINDOW_HU = (-1350.0, 150.0)
PANEL_PIXELS = 256
# Half-width of the shown field around the nodule, in multiples of its extent (at least 15 mm).
FIELD_MARGIN, MIN_HALF_FIELD_MM = 1.5, 15.0


def render_nodule_overlay(image: Image, labels: np.ndarray, path: Path, lines: list[str]) -> Path:
    """Write the three-plane overlay of ``image`` (HU) and its component ``labels`` to ``path``."""
    center, half = _field(labels, image.geometry.spacing[::-1])
    flip = image.geometry.direction[2, 2] > 0  # k runs towards superior: draw rows bottom-up
    panels = [_panel(image.array, labels, axis, center, half, image.geometry.spacing[::-1], flip) for axis in range(3)]
    strip = np.concatenate(panels, axis=1)
    panel = TextPanel(lines, strip.shape[1])
    canvas = PILImage.new("RGB", (strip.shape[1], strip.shape[0] + panel.height))
    canvas.paste(PILImage.fromarray(strip), (0, 0))
    panel.draw(canvas, strip.shape[0])
    save_png(canvas, path)
    return Path(path)


def _field(labels: np.ndarray, spacing_kji) -> tuple[np.ndarray, np.ndarray]:
    """Centre voxel ``[k, j, i]`` of the nodule (array centre if none) and half field (voxels)."""
    present = np.argwhere(labels > 0)
    if present.size == 0:
        return (np.asarray(labels.shape) - 1) // 2, np.ceil(MIN_HALF_FIELD_MM / np.asarray(spacing_kji)).astype(int)
    low, high = present.min(0), present.max(0)
    extent_mm = float(((high - low + 1) * np.asarray(spacing_kji)).max())
    half_mm = max(MIN_HALF_FIELD_MM, FIELD_MARGIN * extent_mm / 2 + 5)
    return (low + high) // 2, np.ceil(half_mm / np.asarray(spacing_kji)).astype(int)


def _panel(hu: np.ndarray, labels: np.ndarray, axis: int, center, half, spacing_kji, flip: bool) -> np.ndarray:
    """RGB uint8 square panel of the slice across ``axis`` through ``center``."""
    plane_axes = [a for a in range(3) if a != axis]
    window = [slice(max(0, center[a] - half[a]), min(hu.shape[a], center[a] + half[a] + 1)) for a in plane_axes]
    take = lambda volume: np.take(volume, center[axis], axis=axis)[window[0], window[1]]
    rows_mm, cols_mm = (take(hu).shape[n] * spacing_kji[a] for n, a in enumerate(plane_axes))
    scale = PANEL_PIXELS / max(rows_mm, cols_mm)
    size = (max(1, round(cols_mm * scale)), max(1, round(rows_mm * scale)))
    grey = np.clip((resized(take(hu).astype(np.float32), size) - LUNG_WINDOW_HU[0]) / np.ptp(LUNG_WINDOW_HU), 0, 1)
    shown = resized_labels(take(labels), size)
    if axis != 0 and flip:  # superior up on the coronal and sagittal panels
        grey, shown = grey[::-1], shown[::-1]
    rgb = np.repeat(grey[..., None], 3, axis=2)
    for value, color in ((GROUND_GLASS, GROUND_GLASS_COLOR), (SOLID, SOLID_COLOR)):
        rgb = draw_outline(rgb, shown >= value if value == GROUND_GLASS else shown == value, color)
    square = np.zeros((PANEL_PIXELS, PANEL_PIXELS, 3), np.float32)
    square[: rgb.shape[0], : rgb.shape[1]] = rgb
    return (square * 255).astype(np.uint8)
