"""Overlay pictures and the HTML report."""

import numpy as np
import pytest
from PIL import Image as PILImage

from lesionai.geometry import Image, radiograph_geometry
from lesionai.severity.overlay import LUNG_COLORS, ZONE_COLORS, render_overlay


def _radiograph(rows: int, cols: int) -> Image:
    """A smooth left-to-right ramp, so that the percentile window keeps mid-grey values."""
    ramp = np.tile(np.linspace(0.0, 4095.0, cols, dtype=np.float32), (rows, 1))
    return Image(ramp[np.newaxis], radiograph_geometry((0.4, 0.4)))


def _zone_blocks(rows: int, cols: int) -> np.ndarray:
    """Zones A-C stacked on the image left, D-F on the image right, each a 40-pixel square."""
    zones = np.zeros((1, rows, cols), dtype=np.uint8)
    for index in range(6):
        top, left = 20 + (index % 3) * 60, 20 if index < 3 else cols - 60
        zones[0, top:top + 40, left:left + 40] = index + 1
    return zones


def _read(path) -> np.ndarray:
    with PILImage.open(path) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"), dtype=int)


def test_colour_tables_name_six_distinct_zones_and_two_lungs():
    assert list(ZONE_COLORS) == ["A", "B", "C", "D", "E", "F"]
    assert len(set(ZONE_COLORS.values())) == 6
    assert set(LUNG_COLORS) == {1, 2} and LUNG_COLORS[1] != LUNG_COLORS[2]
    for color in list(ZONE_COLORS.values()) + list(LUNG_COLORS.values()):
        assert len(color) == 3 and all(0.0 <= channel <= 1.0 for channel in color)


def test_picture_without_text_has_the_image_size(tmp_path):
    path = render_overlay(_radiograph(300, 200), None, None, tmp_path / "plain.png")
    pixels = _read(path)
    assert pixels.shape == (300, 200, 3)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


def test_large_picture_with_text_fits_1024_pixels(tmp_path):
    lines = ["Global score 7/18"] + [f"warning: number {n} is a fairly long line of text to wrap" for n in range(6)]
    path = render_overlay(_radiograph(2048, 1536), None, None, tmp_path / "big.png", title="case", text_lines=lines)
    pixels = _read(path)
    assert max(pixels.shape[:2]) <= 1024
    assert pixels.shape[0] > pixels.shape[1] * 2048 / 1536 + 50  # a text panel below the picture


def test_text_panel_shows_text_below_the_picture(tmp_path):
    plain = _read(render_overlay(_radiograph(300, 400), None, None, tmp_path / "a.png"))
    with_text = _read(render_overlay(_radiograph(300, 400), None, None, tmp_path / "b.png",
                                     title="phantom 1", text_lines=["Global score 7/18"]))
    assert with_text.shape[1] == 400 and with_text.shape[0] > 300
    np.testing.assert_array_equal(with_text[:300], plain)
    panel = with_text[300:]
    assert (panel.max(axis=2) > 200).sum() > 50  # light glyphs on the dark panel


def test_zones_are_tinted_with_their_colours(tmp_path):
    zones = _zone_blocks(200, 300)
    pixels = _read(render_overlay(_radiograph(200, 300), None, zones, tmp_path / "zones.png"))
    for index, letter in enumerate(ZONE_COLORS):
        top, left = 20 + (index % 3) * 60, 20 if index < 3 else 240
        tint = pixels[top + 3, left + 3] - pixels[top + 3, left + 3].mean()
        expected = np.asarray(ZONE_COLORS[letter]) - np.mean(ZONE_COLORS[letter])
        assert np.dot(tint, expected) > 0, letter
        assert np.ptp(pixels[top + 3, left + 3]) > 10, letter
    outside = pixels[190, 150]
    assert outside[0] == outside[1] == outside[2]


def test_zone_letters_are_drawn_at_the_zone_centres(tmp_path):
    zones = _zone_blocks(200, 300)
    pixels = _read(render_overlay(_radiograph(200, 300), None, zones, tmp_path / "zones.png"))
    white = pixels.min(axis=2) > 240
    for top, left in ((20, 20), (80, 20), (140, 20), (20, 240), (80, 240), (140, 240)):
        assert white[top + 10:top + 30, left + 10:left + 30].any()
    assert not white[:, 70:230].any()  # no glyphs away from the zones


def test_lung_contours_use_the_lung_colours(tmp_path):
    lungs = np.zeros((1, 200, 300), dtype=np.uint8)
    lungs[0, 40:160, 30:120] = 1
    lungs[0, 40:160, 180:270] = 2
    pixels = _read(render_overlay(_radiograph(200, 300), lungs, None, tmp_path / "lungs.png"))
    for value, column in ((1, 30), (2, 269)):
        expected = np.round(np.asarray(LUNG_COLORS[value]) * 255)
        np.testing.assert_allclose(pixels[100, column], expected, atol=1)
    interior = pixels[100, 75]
    assert interior[0] == interior[1] == interior[2]


def test_heatmap_turns_hot_areas_red(tmp_path):
    heat = np.zeros((200, 300), dtype=np.float32)
    heat[50:100, 50:100] = 1.0
    pixels = _read(render_overlay(_radiograph(200, 300), None, None, tmp_path / "heat.png", heatmap=heat))
    hot, cold = pixels[75, 75], pixels[150, 75]
    assert hot[0] > hot[1] + 30 and hot[0] > hot[2] + 30
    assert cold[0] == cold[1] == cold[2]


def test_layers_of_another_size_are_refused(tmp_path):
    with pytest.raises(ValueError, match="pixels"):
        render_overlay(_radiograph(200, 300), np.zeros((1, 100, 300), np.uint8), None, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
