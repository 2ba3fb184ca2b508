"""Drawing primitives shared by every task's overlay pictures (PNG) and reports.

Planes are numpy arrays ``[row, column]``; sizes are PIL's ``(width, height)``; colours are RGB
floats in 0..1, as Slicer segment colours. A task's own overlay (which structures, which colours,
which text) lives in its package and is composed from these.
"""

from __future__ import annotations

import textwrap

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from scipy import ndimage

MAX_PICTURE_SIDE = 1024
HEATMAP_ALPHA = 0.45
PANEL_BACKGROUND = (24, 24, 24)
PANEL_TEXT = (235, 235, 235)


def single_plane(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"{name} must be (1, rows, cols) or (rows, cols), got shape {array.shape}")
    return array


def matching_plane(array: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    plane = single_plane(array, name)
    if plane.shape != shape:
        raise ValueError(f"{name} has {plane.shape[0]} x {plane.shape[1]} pixels; the image has {shape[0]} x {shape[1]}")
    return plane


def windowed(plane: np.ndarray) -> np.ndarray:
    """Float 0..1 display values, windowed to the 1st-99th percentile."""
    plane = np.nan_to_num(np.asarray(plane, dtype=np.float32))
    low, high = np.percentile(plane, [1.0, 99.0])
    if high <= low:
        return np.zeros_like(plane)
    return np.clip((plane - low) / (high - low), 0.0, 1.0)


def resized(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if values.shape == (size[1], size[0]):
        return values.astype(np.float32)
    picture = PILImage.fromarray(values.astype(np.float32))
    return np.asarray(picture.resize(size, PILImage.BOX), dtype=np.float32)


def resized_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    labels = np.clip(labels, 0, 255).astype(np.uint8)
    if labels.shape == (size[1], size[0]):
        return labels
    return np.asarray(PILImage.fromarray(labels).resize(size, PILImage.NEAREST))


def rgb_of(color: tuple[float, float, float]) -> np.ndarray:
    return np.asarray(color, dtype=np.float32)


def draw_outline(rgb: np.ndarray, region: np.ndarray, color, thickness: int | None = None) -> np.ndarray:
    """Paint the border of ``region`` into float ``rgb``; ``thickness`` extra pixels on each side
    (default: grows with the picture; 0: a one-pixel line, for thin structures such as the cord)."""
    thickness = max(1, round(max(region.shape) / 400)) if thickness is None else thickness
    edge = region & ~ndimage.binary_erosion(region)
    rgb[ndimage.binary_dilation(edge, iterations=thickness) if thickness else edge] = rgb_of(color)
    return rgb


def blend_heatmap(rgb: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a blue-yellow-red ramp; transparency follows the heat value (0 invisible)."""
    heat = np.clip(np.nan_to_num(heat), 0.0, 1.0)[..., np.newaxis]
    ramp = np.concatenate([np.clip(2 * heat, 0, 1), np.clip(2 - 2 * heat, 0, 1) * np.clip(2 * heat, 0, 1),
                           np.clip(1 - 2 * heat, 0, 1)], axis=2)
    alpha = HEATMAP_ALPHA * heat
    return (1.0 - alpha) * rgb + alpha * ramp


def label_anchor(region: np.ndarray) -> tuple[float, float] | None:
    """(x, y) of the region's centroid, or of its pixel nearest to it when the centroid lies outside."""
    rows, cols = np.nonzero(region)
    if rows.size == 0:
        return None
    row, col = rows.mean(), cols.mean()
    if not region[int(round(row)), int(round(col))]:
        nearest = np.argmin((rows - row) ** 2 + (cols - col) ** 2)
        row, col = rows[nearest], cols[nearest]
    return float(col), float(row)


def default_font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


class TextPanel:
    """Lines of text wrapped to the picture width, drawn on a dark band below the picture."""

    def __init__(self, lines: list[str], width: int):
        self.font = default_font(max(12, min(20, round(width / 45))))
        self.line_height = self._line_height()
        self.margin = self.line_height // 2
        chars = max(10, int((width - 2 * self.margin) / self._char_width()))
        self.lines = [part for line in lines for part in textwrap.wrap(str(line), chars) or [""]]
        self.height = 0 if not self.lines else 2 * self.margin + len(self.lines) * self.line_height

    def _line_height(self) -> int:
        top, bottom = self.font.getbbox("Ag")[1::2]
        return int(bottom - top) + 6

    def _char_width(self) -> float:
        return max(1.0, self.font.getlength("abcdefghijklmnopqrstuvwxyz0123456789") / 36.0)

    def draw(self, canvas: PILImage.Image, top: int) -> None:
        draw = ImageDraw.Draw(canvas)
        for index, line in enumerate(self.lines):
            position = (self.margin, top + self.margin + index * self.line_height)
            draw.text(position, line, font=self.font, fill=PANEL_TEXT)


def fit_picture(shape: tuple[int, int], lines: list[str]) -> tuple[float, TextPanel]:
    """Scale of the radiograph and its text panel so that the whole PNG fits MAX_PICTURE_SIDE."""
    rows, cols = shape
    scale = min(1.0, MAX_PICTURE_SIDE / max(rows, cols))
    for _ in range(5):  # a narrower picture wraps into more lines: settle in a few rounds
        panel = TextPanel(lines, max(1, round(cols * scale)))
        fitted = min(scale, max(1, MAX_PICTURE_SIDE - panel.height) / rows)
        if fitted == scale:
            break
        scale = fitted
    return scale, panel
