"""``overlay.png`` of a spine result: the acquired plane through the cord with cord and lesion
outlines, beside a plot of cord CSA (mm^2) along the cord, with the text panel below. Drawn with
Pillow and the shared primitives of :mod:`lesionai.drawing`.

The acquired plane is the input's own slice direction: a sagittal scan shows its mid-cord sagittal
slice (superior up, anterior left), an axial scan its slice with the most cord (anterior up,
patient's right on the image left, as radiologists read).
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from ..drawing import PANEL_BACKGROUND, TextPanel, draw_outline, save_png, windowed
from ..geometry import Image
from .grid import reoriented
from .labels import COLORS, CORD, LESION

PANEL_HEIGHT = 420
PLOT_WIDTH = 360


def render_overlay(image: Image, labels: Image, cord: dict, lines: list[str], path) -> None:
    """Write the overlay PNG to ``path`` (see module docstring)."""
    plane, plane_labels = acquired_plane(image, labels)
    picture = _picture(plane, plane_labels)
    plot = _csa_plot(cord.get("csa_mm2_per_slice") or [])
    width, top = picture.width + plot.width, max(picture.height, plot.height)
    panel = TextPanel(lines, width)
    canvas = PILImage.new("RGB", (width, top + panel.height), PANEL_BACKGROUND)
    canvas.paste(picture, (0, 0))
    canvas.paste(plot, (picture.width, 0))
    panel.draw(canvas, top)
    save_png(canvas, path)


def acquired_plane(image: Image, labels: Image) -> tuple[np.ndarray, np.ndarray]:
    """(intensity, labels) of the displayed plane, rows top to bottom, in millimetre-square pixels."""
    volume, label_volume = reoriented(_first_volume(image)), reoriented(labels)
    normal = np.abs(image.geometry.direction[:, 2])
    axis = int(np.argmax(normal))  # 0: sagittal (R), 1: coronal (A), 2: axial (S)
    array_axis = {0: 2, 1: 1, 2: 0}[axis]  # canonical array is [S, A, R]
    counts = (label_volume.array > 0).sum(axis=tuple(a for a in range(3) if a != array_axis))
    index = int(np.argmax(counts)) if counts.any() else label_volume.array.shape[array_axis] // 2
    take = lambda array: np.take(array, index, axis=array_axis)  # noqa: E731
    plane, plane_labels = take(volume.array).astype(np.float32), take(label_volume.array)
    spacing = volume.geometry.spacing  # (R, A, S)
    if array_axis == 0:   # axial [A, R]: anterior up, patient's right on the left
        plane, plane_labels, row_mm, col_mm = plane[::-1, ::-1], plane_labels[::-1, ::-1], spacing[1], spacing[0]
    elif array_axis == 1:  # coronal [S, R]: superior up, patient's right on the left
        plane, plane_labels, row_mm, col_mm = plane[::-1, ::-1], plane_labels[::-1, ::-1], spacing[2], spacing[0]
    else:                  # sagittal [S, A]: superior up, anterior on the left
        plane, plane_labels, row_mm, col_mm = plane[::-1, ::-1], plane_labels[::-1, ::-1], spacing[2], spacing[1]
    return _square_pixels(plane, plane_labels, row_mm, col_mm)


def _first_volume(image: Image) -> Image:
    return image if image.array.ndim == 3 else Image(image.array[0], image.geometry, dict(image.metadata))


def _square_pixels(plane, plane_labels, row_mm, col_mm):
    """Resample so that the plane is PANEL_HEIGHT pixels high with square millimetres."""
    height_mm, width_mm = plane.shape[0] * row_mm, plane.shape[1] * col_mm
    scale = PANEL_HEIGHT / height_mm
    size = (max(1, int(round(width_mm * scale))), PANEL_HEIGHT)
    grey = PILImage.fromarray(_to_byte(plane)).resize(size, PILImage.BILINEAR)
    label_picture = PILImage.fromarray(plane_labels.astype(np.uint8)).resize(size, PILImage.NEAREST)
    return np.asarray(grey), np.asarray(label_picture)


def _to_byte(plane: np.ndarray) -> np.ndarray:
    return (windowed(plane) * 255).astype(np.uint8)


def _picture(plane: np.ndarray, plane_labels: np.ndarray) -> PILImage.Image:
    rgb = np.repeat(plane[..., None].astype(np.float32) / 255, 3, axis=2)
    for value in (CORD, LESION):
        inside = plane_labels >= value if value == CORD else plane_labels == value
        rgb = draw_outline(rgb, inside, COLORS[value], thickness=0)
    return PILImage.fromarray((rgb * 255 + 0.5).astype(np.uint8))


def _csa_plot(per_slice: list[dict]) -> PILImage.Image:
    """CSA (mm^2, horizontal) against distance along the cord (mm, vertical, superior up)."""
    plot = PILImage.new("RGB", (PLOT_WIDTH, PANEL_HEIGHT), (20, 20, 20))
    draw = ImageDraw.Draw(plot)
    draw.text((8, 4), "cord CSA (mm2) along the cord", fill=(235, 235, 235))
    if len(per_slice) < 2:
        draw.text((8, 24), "no cord measured" if not per_slice else "one slice only", fill=(235, 235, 235))
        return plot
    distance = np.array([row["distance_mm"] for row in per_slice])
    csa = np.array([row["csa_mm2"] for row in per_slice])
    top, bottom, left, right = 28, PANEL_HEIGHT - 24, 44, PLOT_WIDTH - 12
    csa_max = max(float(csa.max()) * 1.1, 1.0)
    ys = bottom - (distance - distance.min()) / max(float(np.ptp(distance)), 1e-6) * (bottom - top)
    xs = left + csa / csa_max * (right - left)
    draw.line(list(zip(xs.tolist(), ys.tolist())), fill=COLOR_LINE, width=2)
    draw.line([(left, bottom), (right, bottom)], fill=(160, 160, 160))
    draw.line([(left, top), (left, bottom)], fill=(160, 160, 160))
    draw.text((left, bottom + 4), "0", fill=(200, 200, 200))
    draw.text((right - 30, bottom + 4), f"{csa_max:.0f}", fill=(200, 200, 200))
    draw.text((4, top), f"{np.ptp(distance):.0f}mm", fill=(200, 200, 200))
    return plot


COLOR_LINE = (250, 215, 90)
