"""The shared drawing primitives: outlines and heat blending paint exactly the pixels they promise."""

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage

from lesionai.drawing import blend_heatmap, draw_outline, label_anchor, label_anchors, save_png

RED = (1.0, 0.0, 0.0)


def random_regions(seed: int, shape=(90, 120)) -> np.ndarray:
    """Blobs of several sizes, some touching the picture's edges, one with a hole."""
    rng = np.random.default_rng(seed)
    region = ndimage.gaussian_filter(rng.random(shape), 3) > 0.52
    region[:, :4] |= rng.random((shape[0], 4)) > 0.5  # ragged left edge
    region[40:60, 50:80] = True
    region[47:53, 60:70] = False
    return region


def scipy_outline(region: np.ndarray, thickness: int) -> np.ndarray:
    """The outline as scipy.ndimage draws it: border by erosion, thickened by dilation."""
    edge = region & ~ndimage.binary_erosion(region)
    return ndimage.binary_dilation(edge, iterations=thickness) if thickness else edge


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("thickness", [0, 1, 3])
def test_the_outline_is_the_regions_border_thickened(seed, thickness):
    region = random_regions(seed)
    painted = draw_outline(np.zeros(region.shape + (3,), np.float32), region, RED, thickness)
    np.testing.assert_array_equal(painted[..., 0] == 1.0, scipy_outline(region, thickness))


def test_an_empty_region_paints_nothing_and_a_full_one_only_its_frame():
    rgb = np.full((20, 30, 3), 0.5, np.float32)
    assert np.all(draw_outline(rgb, np.zeros((20, 30), bool), RED, 2) == 0.5)
    framed = draw_outline(rgb, np.ones((20, 30), bool), RED, 0)[..., 0] == 1.0
    assert framed[0].all() and framed[-1].all() and framed[:, 0].all() and not framed[1:-1, 1:-1].any()


def test_heat_tints_only_where_there_is_heat():
    rgb = np.random.default_rng(1).random((40, 50, 3)).astype(np.float32)
    heat = np.zeros((40, 50), np.float32)
    heat[10:20, 10:30] = np.linspace(0.05, 1.0, 20, dtype=np.float32)
    heat[0, 0] = np.nan
    blended = blend_heatmap(rgb.copy(), heat)
    np.testing.assert_array_equal(blended[heat == 0], rgb[heat == 0])
    np.testing.assert_array_equal(blended[0, 0], rgb[0, 0])
    hottest = blended[15, 29]
    assert hottest == pytest.approx(0.55 * rgb[15, 29] + 0.45 * np.array(RED), abs=1e-6)


@pytest.mark.parametrize("mode, shape", [("RGB", (64, 80, 3)), ("L", (33, 17)), ("RGBA", (20, 30, 4))])
def test_pictures_are_saved_as_lossless_png_that_other_decoders_read(mode, shape, tmp_path):
    import SimpleITK as sitk

    pixels = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
    pixels[5:] = pixels[5]  # rows equal to the one above, as in flat parts of an overlay
    save_png(PILImage.fromarray(pixels, mode), tmp_path / "picture.png")
    with PILImage.open(tmp_path / "picture.png") as again:
        again.verify()  # chunk checksums
    with PILImage.open(tmp_path / "picture.png") as again:
        assert again.format == "PNG" and again.mode == mode and np.array_equal(np.asarray(again), pixels)
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "picture.png"))), pixels)


def test_anchors_of_all_labels_at_once_are_those_of_each_label_alone():
    labels = np.zeros((80, 100), np.uint8)
    labels[10:30, 10:40] = 1
    labels[40:75, 50:95] = 2
    labels[45:70, 55:90] = 3  # inside 2: the centroid of 2 falls on 3, so 2 is anchored on its nearest pixel
    labels[0:80, 0:3] = 5
    anchors = label_anchors(labels, range(1, 7))
    assert anchors == {value: label_anchor(labels == value) for value in range(1, 7)}
    assert anchors[4] is anchors[6] is None and labels[round(anchors[2][1]), round(anchors[2][0])] == 2
