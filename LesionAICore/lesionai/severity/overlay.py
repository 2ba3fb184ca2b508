"""The SeverityScoring overlay picture: a radiograph with its lung contours, translucent Brixia
zones A-F (letters or scores at the zone centres), opacity outlines, a heat map and a text panel.

The colours here are the single source for the overlay and for the Slicer segments, so a zone has
the same colour in the PNG, the HTML page and the Slicer scene.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from ..drawing import (
    PANEL_BACKGROUND,
    blend_heatmap,
    default_font,
    draw_outline,
    fit_picture,
    label_anchors,
    matching_plane,
    resized,
    resized_labels,
    rgb_of,
    save_png,
    single_plane,
    windowed,
)
from ..geometry import Image

# Zone label value n (1..6) is letter "ABCDEF"[n - 1]: warm colours for the right lung (A-C),
# cool ones for the left lung (D-F). RGB floats in 0..1, as Slicer segment colours.
ZONE_COLORS: dict[str, tuple[float, float, float]] = {
    "A": (0.90, 0.25, 0.20),
    "B": (0.95, 0.60, 0.10),
    "C": (0.95, 0.90, 0.20),
    "D": (0.20, 0.55, 0.95),
    "E": (0.25, 0.80, 0.45),
    "F": (0.70, 0.40, 0.95),
}
# Lung label value -> contour colour: 1 = patient's right lung, 2 = patient's left lung.
LUNG_COLORS: dict[int, tuple[float, float, float]] = {
    1: (0.10, 0.85, 0.90),
    2: (0.95, 0.30, 0.70),
}
OPACITY_COLOR: tuple[float, float, float] = (1.00, 0.85, 0.00)  # outline of segmented opacities

_ZONE_ALPHA = 0.30


def render_overlay(
    image: Image,
    lung_labels: np.ndarray | None,
    zone_labels: np.ndarray | None,
    path,
    *,
    title: str | None = None,
    text_lines: list[str] | None = None,
    heatmap: np.ndarray | None = None,
    opacity: np.ndarray | None = None,
    zone_text: dict[str, str] | None = None,
) -> Path:
    """Write a PNG of a radiograph with lungs, zones, heat map and a text panel below it.

    ``image.array`` is ``(1, rows, cols)`` (or ``(rows, cols)``) in the standard display
    orientation, drawn as stored with a 1st-99th percentile window. ``lung_labels`` (0, 1 = right,
    2 = left), ``zone_labels`` (0, 1..6 = A..F), ``heatmap`` (floats, clipped to 0..1) and
    ``opacity`` (bool, outlined) have the same rows and columns; each may be None. ``zone_text``
    (letter -> text, e.g. ``{"A": "A 2"}``) replaces the letters drawn in the zones. The picture is shrunk so that the PNG's longer side,
    text panel included, is at most 1024 pixels. Returns the written path.
    """
    plane = single_plane(image.array, "image")
    layers = {
        name: None if layer is None else matching_plane(layer, plane.shape, name)
        for name, layer in (("lung_labels", lung_labels), ("zone_labels", zone_labels), ("heatmap", heatmap),
                            ("opacity", opacity))
    }
    canvas = _overlay_canvas(plane, layers, ([title] if title else []) + list(text_lines or []), zone_text)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(canvas, path)
    return path


def _overlay_canvas(plane: np.ndarray, layers: dict, lines: list[str], zone_text: dict | None = None) -> PILImage.Image:
    scale, panel = fit_picture(plane.shape, lines)
    size = (max(1, round(plane.shape[1] * scale)), max(1, round(plane.shape[0] * scale)))
    canvas = PILImage.new("RGB", (size[0], size[1] + panel.height), PANEL_BACKGROUND)
    zones = None if layers["zone_labels"] is None else resized_labels(layers["zone_labels"], size)
    canvas.paste(_compose(plane, layers, size, zones), (0, 0))
    if zones is not None:
        _draw_zone_letters(canvas, zones, zone_text or {})
    panel.draw(canvas, top=size[1])
    return canvas


def _compose(plane: np.ndarray, layers: dict, size: tuple[int, int], zones: np.ndarray | None) -> PILImage.Image:
    """The radiograph at ``size`` (width, height) with heat map, zone fills (``zones``: the zone
    labels already at ``size``) and lung contours."""
    grey = resized(windowed(plane), size)
    rgb = np.repeat(grey[..., np.newaxis], 3, axis=2) if zones is None else _zone_tinted(grey, zones)
    if layers["heatmap"] is not None:  # over the zone tints, so that the heat stays readable
        rgb = blend_heatmap(rgb, resized(layers["heatmap"].astype(np.float32), size))
    if layers["lung_labels"] is not None:
        rgb = _draw_lung_contours(rgb, resized_labels(layers["lung_labels"], size))
    if layers.get("opacity") is not None:
        rgb = draw_outline(rgb, resized_labels(layers["opacity"].astype(np.uint8), size) > 0, OPACITY_COLOR)
    rgb *= 255.0  # in place: the same values as rgb * 255.0 + 0.5, without three picture-sized copies
    rgb += 0.5
    return PILImage.fromarray(np.clip(rgb, 0, 255, out=rgb).astype(np.uint8))


def _zone_tinted(grey: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """float (rows, cols, 3): the grey picture with each zone's pixels tinted with its colour, by table
    look-up over the uint8 ``zones`` (other pixels are multiplied by 1 and get 0 added: unchanged)."""
    keep, tints = np.ones(256, np.float32), np.zeros((256, 3), np.float32)
    for value, letter in enumerate(ZONE_COLORS, start=1):
        keep[value], tints[value] = 1.0 - _ZONE_ALPHA, _ZONE_ALPHA * rgb_of(ZONE_COLORS[letter])
    return (grey * keep[zones])[..., np.newaxis] + tints[zones]


def _draw_lung_contours(rgb: np.ndarray, lungs: np.ndarray) -> np.ndarray:
    for value, color in LUNG_COLORS.items():
        rgb = draw_outline(rgb, lungs == value, color)
    return rgb


def _draw_zone_letters(canvas: PILImage.Image, zones: np.ndarray, zone_text: dict[str, str]) -> None:
    """Each zone's letter (or its ``zone_text``), white on a dark outline, at the zone's centre."""
    letter_font = default_font(max(14, round(max(zones.shape) / 28)))
    draw = ImageDraw.Draw(canvas)
    centres = label_anchors(zones, range(1, len(ZONE_COLORS) + 1))
    for value, letter in enumerate(ZONE_COLORS, start=1):
        centre = centres[value]
        if centre is None:
            continue
        text = zone_text.get(letter, letter)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=letter_font)
        corner = (centre[0] - (left + right) / 2, centre[1] - (top + bottom) / 2)
        stroke = 2 if isinstance(letter_font, ImageFont.FreeTypeFont) else 0
        draw.text(corner, text, font=letter_font, fill=(255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0))
