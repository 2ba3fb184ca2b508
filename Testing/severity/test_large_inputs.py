"""Radiographs over 2048 pixels are worked on in blocks; results come back on the input's own grid."""

import json

import numpy as np
import pytest
from PIL import Image as PILImage

from lesionai.geometry import Image
from lesionai.phantoms.cxr import generate_cxr_phantom
from lesionai.severity.pipeline import SeverityPipeline
from lesionai.tasks import task
from lesionai.working_grid import WorkingGrid


@pytest.fixture(scope="module")
def pipeline():
    return SeverityPipeline(threads=2)


@pytest.fixture(scope="module")
def small_and_large():
    """A 1100 x 1050 phantom, and the same radiograph at twice the resolution (each pixel a 2 x 2 block)."""
    small = generate_cxr_phantom(seed=4, size=(1100, 1050)).image
    pixels = small.array.astype(np.uint16)  # a 16-bit detector's values, as large radiographs come
    large = Image(np.repeat(np.repeat(pixels, 2, axis=1), 2, axis=2), _finer(small.geometry))
    return Image(pixels.astype(np.float32), small.geometry), large


def _finer(geometry):
    """The geometry of the same field of view with pixels of half the size."""
    from lesionai.geometry import geometry_from_ijk_to_ras

    matrix = geometry.ijk_to_ras()
    matrix[:3, :2] /= 2
    matrix[:3, 3] -= matrix[:3, :2] @ np.full(2, 0.5)
    return geometry_from_ijk_to_ras(matrix)


def test_a_large_radiograph_gets_the_results_of_its_block_means_on_its_own_grid(pipeline, small_and_large):
    small, large = small_and_large
    coarse, fine = pipeline.run(small), pipeline.run(large)
    grid = WorkingGrid((2200, 2100), 2)
    assert fine.lung_labels.array.shape == fine.zone_labels.array.shape == fine.heatmap.array.shape == (1, 2200, 2100)
    assert fine.lung_labels.geometry == large.geometry
    np.testing.assert_array_equal(fine.zone_labels.array[0], grid.expand(coarse.zone_labels.array[0]))
    np.testing.assert_array_equal(fine.lung_labels.array[0], grid.expand(coarse.lung_labels.array[0]))
    assert fine.global_score == coarse.global_score and fine.opacity_global_score == coarse.opacity_global_score
    for letter, zone in fine.zones.items():
        assert zone["score"] == coarse.zones[letter]["score"]
        assert zone["area_mm2"] == pytest.approx(coarse.zones[letter]["area_mm2"], rel=1e-6)


def test_the_alignment_is_given_in_pixels_of_the_input(pipeline, small_and_large):
    small, large = small_and_large
    coarse = np.array(pipeline.run(small).alignment["canonical_to_image_pixels"])
    fine = np.array(pipeline.run(large).alignment["canonical_to_image_pixels"])
    column, row, _ = coarse @ [0, 0, 1]  # where canonical pixel (0, 0) lands in the small image
    # small pixel (x, y) is the block centred on large pixel (2x + 0.5, 2y + 0.5)
    np.testing.assert_allclose(fine @ [0.5, 0.5, 1], [2 * column + 0.5, 2 * row + 0.5, 1], atol=1e-3)


def test_the_case_folder_of_a_large_radiograph_is_on_its_grid_with_a_bounded_overlay(pipeline, small_and_large,
                                                                                    tmp_path):
    from lesionai.imageio import read_image

    _, large = small_and_large
    case = task("severity").write_case(large, pipeline.run(large), tmp_path / "large", "large.nrrd")
    for name in ("lungs.nrrd", "zones.nrrd", "gradcam.nrrd"):
        assert read_image(case / name).array.shape == (1, 2200, 2100)
    assert b"sizes: 2 2100 2200 1" in (case / "segmentation.seg.nrrd").read_bytes()[:1000]
    with PILImage.open(case / "overlay.png") as overlay:
        assert max(overlay.size) <= 1024
    assert len(json.loads((case / "result.json").read_text())["zones"]) == 6
