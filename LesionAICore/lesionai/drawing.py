"""Drawing primitives shared by every task's overlay pictures (PNG) and reports.

Planes are numpy arrays ``[row, column]``; sizes are PIL's ``(width, height)``; colours are RGB
floats in 0..1, as Slicer segment colours. A task's own overlay (which structures, which colours,
which text) lives in its package and is composed from these.
"""

from __future__ import annotations

import struct
import textwrap
import zlib

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

MAX_PICTURE_SIDE = 1024
HEATMAP_ALPHA = 0.45
PANEL_BACKGROUND = (24, 24, 24)
PANEL_TEXT = (235, 235, 235)
PNG_COMPRESS_LEVEL = 1  # about 5 % larger files than Pillow's default level 6, several times faster to write
PNG_COLOUR_TYPES = {"L": 0, "RGB": 2}


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
    (default: grows with the picture; 0: a one-pixel line, for thin structures such as the cord).

    The border is the region's pixels with a 4-neighbour outside it (or on the picture's edge); it is
    thickened by 4-neighbour dilation, as ``scipy.ndimage`` binary erosion and dilation with their
    default cross would do. Only the region's bounding box (plus the thickness) is worked on.
    """
    thickness = max(1, round(max(region.shape) / 400)) if thickness is None else thickness
    rows, cols = np.nonzero(np.any(region, axis=1))[0], np.nonzero(np.any(region, axis=0))[0]
    if rows.size == 0:
        return rgb
    box = (slice(max(rows[0] - thickness, 0), rows[-1] + thickness + 1),
           slice(max(cols[0] - thickness, 0), cols[-1] + thickness + 1))
    inside = region[box]
    line = inside & ~_cross_eroded(inside)
    for _ in range(thickness):
        line = _cross_dilated(line)
    rgb[box][line] = rgb_of(color)
    return rgb


def _cross_eroded(inside: np.ndarray) -> np.ndarray:
    """Pixels of ``inside`` whose four neighbours are inside too. Beyond the array counts as outside:
    the array is the region's bounding box or larger, or ends where the picture does."""
    padded = np.pad(inside, 1)
    return inside & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]


def _cross_dilated(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by its four neighbours (nothing grows in from beyond the array)."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def blend_heatmap(rgb: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a blue-yellow-red ramp into float ``rgb`` (in place); transparency follows the heat value
    (0 invisible, so only the pixels with some heat are computed)."""
    heat = np.clip(np.nan_to_num(heat), 0.0, 1.0)
    warm = heat > 0
    if not warm.any():
        return rgb
    value = heat[warm][:, np.newaxis]
    ramp = np.concatenate([np.clip(2 * value, 0, 1), np.clip(2 - 2 * value, 0, 1) * np.clip(2 * value, 0, 1),
                           np.clip(1 - 2 * value, 0, 1)], axis=1)
    alpha = HEATMAP_ALPHA * value
    rgb[warm] = (1.0 - alpha) * rgb[warm] + alpha * ramp
    return rgb


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


def save_png(picture: PILImage.Image, path) -> None:
    """Write an overlay picture as PNG, compressed at :data:`PNG_COMPRESS_LEVEL`.

    RGB and grey pictures are encoded here with one filter for every row ("Up": each byte minus the
    one above), which compresses overlays as well as Pillow's per-row choice among five filters at
    about half the cost; other modes go through Pillow.
    """
    if picture.mode not in PNG_COLOUR_TYPES:
        picture.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        return
    rows = np.asarray(picture, dtype=np.uint8).reshape(picture.height, -1)
    filtered = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2  # the "Up" filter
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # wraps modulo 256, as PNG wants
    header = struct.pack(">IIBBBBB", picture.width, picture.height, 8, PNG_COLOUR_TYPES[picture.mode], 0, 0, 0)
    chunks = ((b"IHDR", header), (b"IDAT", zlib.compress(filtered.tobytes(), PNG_COMPRESS_LEVEL)), (b"IEND", b""))
    with open(path, "wb") as stream:
        stream.write(b"\x89PNG\r\n\x1a\n")
        stream.writelines(struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
                          for kind, data in chunks)


def label_anchors(labels: np.ndarray, values) -> dict[int, tuple[float, float] | None]:
    """:func:`label_anchor` of the region of each of ``values`` in a (rows, cols) label plane of small
    non-negative integers, with two histograms instead of a pass per value (the same points)."""
    labels = np.asarray(labels)
    rows, cols = labels.shape
    per_row = np.bincount((labels.astype(np.intp) * rows + np.arange(rows)[:, np.newaxis]).ravel())
    per_col = np.bincount((labels.astype(np.intp) * cols + np.arange(cols)[np.newaxis, :]).ravel())
    anchors = {}
    for value in values:
        row_counts = per_row[value * rows:(value + 1) * rows]
        count = int(row_counts.sum())
        if count == 0:
            anchors[value] = None
            continue
        col_counts = per_col[value * cols:(value + 1) * cols]
        row = float(row_counts @ np.arange(row_counts.size)) / count  # exact integer sums, as a mean of indices
        col = float(col_counts @ np.arange(col_counts.size)) / count
        anchors[value] = (col, row) if labels[round(row), round(col)] == value else label_anchor(labels == value)
    return anchors


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
