"""Pictures and static HTML pages of SeverityScoring results.

:func:`render_overlay` draws one radiograph with its lung contours, translucent Brixia zones A-F
(letters at the zone centres), an optional heat map and a text panel into a PNG.
:func:`write_html_report` gathers several cases into one self-contained HTML page.

The colours here are the single source for the overlay and for the Slicer segments, so a zone has
the same colour in the PNG, the HTML page and the Slicer scene.
"""

from __future__ import annotations

import html
import textwrap
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from scipy import ndimage

from .geometry import Image

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
MAX_PICTURE_SIDE = 1024
REPORT_GENERATOR = "lesionai-demo-report"  # written into every HTML report's <meta name="generator">

_ZONE_ALPHA = 0.30
_HEATMAP_ALPHA = 0.45
_PANEL_BACKGROUND = (24, 24, 24)
_PANEL_TEXT = (235, 235, 235)


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
    plane = _single_plane(image.array, "image")
    layers = {
        name: None if layer is None else _matching_plane(layer, plane.shape, name)
        for name, layer in (("lung_labels", lung_labels), ("zone_labels", zone_labels), ("heatmap", heatmap),
                            ("opacity", opacity))
    }
    canvas = _overlay_canvas(plane, layers, ([title] if title else []) + list(text_lines or []), zone_text)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, format="PNG")
    return path


def _overlay_canvas(plane: np.ndarray, layers: dict, lines: list[str], zone_text: dict | None = None) -> PILImage.Image:
    scale, panel = _fit_picture(plane.shape, lines)
    size = (max(1, round(plane.shape[1] * scale)), max(1, round(plane.shape[0] * scale)))
    canvas = PILImage.new("RGB", (size[0], size[1] + panel.height), _PANEL_BACKGROUND)
    canvas.paste(_compose(plane, layers, size), (0, 0))
    if layers["zone_labels"] is not None:
        _draw_zone_letters(canvas, _resized_labels(layers["zone_labels"], size), zone_text or {})
    panel.draw(canvas, top=size[1])
    return canvas


def _single_plane(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"{name} must be (1, rows, cols) or (rows, cols), got shape {array.shape}")
    return array


def _matching_plane(array: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    plane = _single_plane(array, name)
    if plane.shape != shape:
        raise ValueError(f"{name} has {plane.shape[0]} x {plane.shape[1]} pixels; the image has {shape[0]} x {shape[1]}")
    return plane


# --------------------------------------------------------------------------------------------
# Picture
# --------------------------------------------------------------------------------------------


def _compose(plane: np.ndarray, layers: dict, size: tuple[int, int]) -> PILImage.Image:
    """The radiograph at ``size`` (width, height) with heat map, zone fills and lung contours."""
    rgb = np.repeat(_resized(_windowed(plane), size)[..., np.newaxis], 3, axis=2)
    if layers["zone_labels"] is not None:
        rgb = _fill_zones(rgb, _resized_labels(layers["zone_labels"], size))
    if layers["heatmap"] is not None:  # over the zone tints, so that the heat stays readable
        rgb = _blend_heatmap(rgb, _resized(layers["heatmap"].astype(np.float32), size))
    if layers["lung_labels"] is not None:
        rgb = _draw_lung_contours(rgb, _resized_labels(layers["lung_labels"], size))
    if layers.get("opacity") is not None:
        rgb = _draw_outline(rgb, _resized_labels(layers["opacity"].astype(np.uint8), size) > 0, OPACITY_COLOR)
    return PILImage.fromarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8))


def _windowed(plane: np.ndarray) -> np.ndarray:
    """Float 0..1 display values, windowed to the 1st-99th percentile."""
    plane = np.nan_to_num(np.asarray(plane, dtype=np.float32))
    low, high = np.percentile(plane, [1.0, 99.0])
    if high <= low:
        return np.zeros_like(plane)
    return np.clip((plane - low) / (high - low), 0.0, 1.0)


def _resized(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if values.shape == (size[1], size[0]):
        return values.astype(np.float32)
    picture = PILImage.fromarray(values.astype(np.float32))
    return np.asarray(picture.resize(size, PILImage.BOX), dtype=np.float32)


def _resized_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    labels = np.clip(labels, 0, 255).astype(np.uint8)
    if labels.shape == (size[1], size[0]):
        return labels
    return np.asarray(PILImage.fromarray(labels).resize(size, PILImage.NEAREST))


def _rgb(color: tuple[float, float, float]) -> np.ndarray:
    return np.asarray(color, dtype=np.float32)


def _fill_zones(rgb: np.ndarray, zones: np.ndarray) -> np.ndarray:
    for value, letter in enumerate(ZONE_COLORS, start=1):
        inside = zones == value
        rgb[inside] = (1.0 - _ZONE_ALPHA) * rgb[inside] + _ZONE_ALPHA * _rgb(ZONE_COLORS[letter])
    return rgb


def _draw_lung_contours(rgb: np.ndarray, lungs: np.ndarray) -> np.ndarray:
    for value, color in LUNG_COLORS.items():
        rgb = _draw_outline(rgb, lungs == value, color)
    return rgb


def _draw_outline(rgb: np.ndarray, region: np.ndarray, color) -> np.ndarray:
    thickness = max(1, round(max(region.shape) / 400))
    edge = region & ~ndimage.binary_erosion(region)
    rgb[ndimage.binary_dilation(edge, iterations=thickness)] = _rgb(color)
    return rgb


def _blend_heatmap(rgb: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Blend a blue-yellow-red ramp; transparency follows the heat value (0 invisible)."""
    heat = np.clip(np.nan_to_num(heat), 0.0, 1.0)[..., np.newaxis]
    ramp = np.concatenate([np.clip(2 * heat, 0, 1), np.clip(2 - 2 * heat, 0, 1) * np.clip(2 * heat, 0, 1),
                           np.clip(1 - 2 * heat, 0, 1)], axis=2)
    alpha = _HEATMAP_ALPHA * heat
    return (1.0 - alpha) * rgb + alpha * ramp


def _draw_zone_letters(canvas: PILImage.Image, zones: np.ndarray, zone_text: dict[str, str]) -> None:
    """Each zone's letter (or its ``zone_text``), white on a dark outline, at the zone's centre."""
    font = _font(max(14, round(max(zones.shape) / 28)))
    draw = ImageDraw.Draw(canvas)
    for value, letter in enumerate(ZONE_COLORS, start=1):
        centre = _label_anchor(zones == value)
        if centre is None:
            continue
        text = zone_text.get(letter, letter)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        corner = (centre[0] - (left + right) / 2, centre[1] - (top + bottom) / 2)
        stroke = 2 if isinstance(font, ImageFont.FreeTypeFont) else 0
        draw.text(corner, text, font=font, fill=(255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0))


def _label_anchor(region: np.ndarray) -> tuple[float, float] | None:
    """(x, y) of the region's centroid, or of its pixel nearest to it when the centroid lies outside."""
    rows, cols = np.nonzero(region)
    if rows.size == 0:
        return None
    row, col = rows.mean(), cols.mean()
    if not region[int(round(row)), int(round(col))]:
        nearest = np.argmin((rows - row) ** 2 + (cols - col) ** 2)
        row, col = rows[nearest], cols[nearest]
    return float(col), float(row)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


# --------------------------------------------------------------------------------------------
# Text panel
# --------------------------------------------------------------------------------------------


class _TextPanel:
    """Lines of text wrapped to the picture width, drawn on a dark band below the picture."""

    def __init__(self, lines: list[str], width: int):
        self.font = _font(max(12, min(20, round(width / 45))))
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
            draw.text(position, line, font=self.font, fill=_PANEL_TEXT)


def _fit_picture(shape: tuple[int, int], lines: list[str]) -> tuple[float, _TextPanel]:
    """Scale of the radiograph and its text panel so that the whole PNG fits MAX_PICTURE_SIDE."""
    rows, cols = shape
    scale = min(1.0, MAX_PICTURE_SIDE / max(rows, cols))
    for _ in range(5):  # a narrower picture wraps into more lines: settle in a few rounds
        panel = _TextPanel(lines, max(1, round(cols * scale)))
        fitted = min(scale, max(1, MAX_PICTURE_SIDE - panel.height) / rows)
        if fitted == scale:
            break
        scale = fitted
    return scale, panel


# --------------------------------------------------------------------------------------------
# HTML report
# --------------------------------------------------------------------------------------------


def write_html_report(entries: list[dict], path) -> Path:
    """Write a static, self-contained HTML page with one section per case.

    Each entry holds ``name``, ``overlay`` (PNG path relative to the page, or None), ``zones``
    (``{letter: {"area_mm2": ..., ...}}``), ``warnings`` (list of str) and ``timing_s``. All text is
    HTML-escaped; pictures are linked by relative path, so the folder can be moved as a whole.
    """
    sections = "\n".join(_case_section(entry) for entry in entries)
    page = _PAGE.format(generator=REPORT_GENERATOR, count=len(entries), sections=sections)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{generator}">
<title>LesionAI SeverityScoring report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; background: #fafafa; color: #222; }}
section {{ background: #fff; border: 1px solid #ddd; padding: 1em; margin-bottom: 1.5em; }}
img {{ max-width: 512px; height: auto; float: left; margin-right: 1.5em; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th:first-child, td:first-child {{ text-align: center; }}
.warnings li {{ color: #a03000; }}
.clear {{ clear: both; }}
</style>
</head>
<body>
<h1>LesionAI SeverityScoring report</h1>
<p>{count} case(s). Zones follow the Brixia scheme: A-C right lung, D-F left lung (upper, middle,
lower). Research use only; not a medical device.</p>
{sections}
</body>
</html>
"""


def _case_section(entry: dict) -> str:
    name = html.escape(str(entry.get("name", "unnamed case")))
    parts = [f"<section>\n<h2>{name}</h2>", _overlay_html(entry.get("overlay"), name)]
    parts.append(_zone_table_html(entry.get("zones") or {}))
    parts.append(_warnings_html(entry.get("warnings") or []))
    parts.append(f"<p>Processing time: {float(entry.get('timing_s') or 0.0):.2f} s</p>")
    parts.append('<div class="clear"></div>\n</section>')
    return "\n".join(part for part in parts if part)


def _overlay_html(overlay, escaped_name: str) -> str:
    if not overlay:
        return "<p>No overlay picture.</p>"
    link = html.escape(quote(str(overlay).replace("\\", "/")), quote=True)
    return f'<a href="{link}"><img src="{link}" alt="overlay of {escaped_name}"></a>'


def _zone_table_html(zones: dict) -> str:
    if not zones:
        return ""
    present = dict.fromkeys(key for values in zones.values() for key in values)
    columns = [key for key in _COLUMN_ORDER if key in present] + [k for k in present if k not in _COLUMN_ORDER]
    header = "".join(f"<th>{html.escape(_column_title(column))}</th>" for column in columns)
    rows = "\n".join(
        f"<tr><td>{html.escape(str(letter))}</td>"
        + "".join(f"<td>{html.escape(_cell_text(values.get(column), column))}</td>" for column in columns)
        + "</tr>"
        for letter, values in zones.items()
    )
    return f"<table>\n<tr><th>zone</th>{header}</tr>\n{rows}\n</table>"


_COLUMN_ORDER = ("lung", "level", "area_mm2", "score", "confidence", "low_confidence", "probabilities",
                 "opacity_fraction", "opacity_score")


def _column_title(column: str) -> str:
    return {"area_mm2": "area (mm\u00b2)"}.get(column, column.replace("_", " "))


def _cell_text(value, column: str = "") -> str:
    """Areas with one decimal, probabilities and fractions with two, lists joined."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " / ".join(_cell_text(item, column) for item in value)
    if isinstance(value, float):
        return f"{value:.1f}" if column == "area_mm2" else f"{value:.2f}"
    return str(value)


def _warnings_html(warnings: list) -> str:
    if not warnings:
        return "<p>No warnings.</p>"
    items = "\n".join(f"<li>{html.escape(str(warning))}</li>" for warning in warnings)
    return f'<ul class="warnings">\n{items}\n</ul>'
