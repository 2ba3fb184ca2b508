"""Zones, lung post-processing and display orientation: the geometry behind SeverityScoring."""

import numpy as np
import pytest

from lesionai.errors import InputError
from lesionai.geometry import Geometry, Image, radiograph_geometry
from lesionai.severity import checks
from lesionai.severity.lungs import LEFT_LUNG, RIGHT_LUNG, largest_components, lung_labels_from_probability
from lesionai.severity.pipeline import display_radiograph
from lesionai.severity.zones import canonical_y_grid, to_canonical, zone_areas_mm2, zone_labels

IDENTITY = np.array([[1.0, 0, 0], [0, 1.0, 0]])


def two_lungs(shape=(300, 300)) -> np.ndarray:
    """Right lung (image left) rows 30-269, left lung (image right) rows 60-239."""
    labels = np.zeros(shape, np.uint8)
    labels[30:270, 40:130] = RIGHT_LUNG
    labels[60:240, 170:260] = LEFT_LUNG
    return labels


def test_zones_split_common_lung_extent_into_thirds():
    zones, cuts = zone_labels(two_lungs(), IDENTITY)
    assert set(np.unique(zones)) == {0, 1, 2, 3, 4, 5, 6}
    # extent is rows 30..269 for both lungs together; thirds at 110 and 190
    assert zones[31, 50] == 1 and zones[150, 50] == 2 and zones[260, 50] == 3
    assert zones[100, 200] == 4 and zones[150, 200] == 5 and zones[230, 200] == 6
    assert cuts["top"] < cuts["upper_middle"] < cuts["middle_lower"] < cuts["bottom"]


def test_zones_follow_the_alignment():
    """A canonical frame shifted down moves the cut lines in image space accordingly."""
    labels = two_lungs()
    zones_plain, _ = zone_labels(labels, IDENTITY)
    sheared = np.array([[1.0, 0, 0], [0.3, 1.0, 0]])  # canonical horizontal lines tilt in the image
    zones_sheared, _ = zone_labels(labels, sheared)
    assert not np.array_equal(zones_plain, zones_sheared)
    assert ((zones_sheared > 0) == (labels > 0)).all()


def test_to_canonical_inverts_theta():
    theta = np.array([[0.8, 0.1, 0.05], [-0.1, 0.9, -0.2]])
    canonical = np.array([[0.3, -0.4], [-0.5, 0.6]])
    image_points = canonical @ theta[:, :2].T + theta[:, 2]
    assert np.allclose(to_canonical(image_points, theta), canonical)


def test_canonical_grid_matches_point_mapping():
    theta = np.array([[0.9, 0.2, 0.1], [-0.15, 1.1, -0.05]])
    shape = (6, 8)
    rows, cols = np.mgrid[0:6, 0:8]
    points = np.stack([(2 * cols.ravel() + 1) / 8 - 1, (2 * rows.ravel() + 1) / 6 - 1], axis=1)
    assert np.allclose(canonical_y_grid(shape, theta).ravel(), to_canonical(points, theta)[:, 1], atol=1e-6)


def test_coarse_probability_gives_smooth_full_resolution_lungs():
    rows, cols = np.mgrid[0:64, 0:64]
    probability = ((((rows - 32) / 25) ** 2 + ((cols - 16) / 10) ** 2) < 1).astype(np.float32)
    probability += ((((rows - 32) / 25) ** 2 + ((cols - 48) / 10) ** 2) < 1)
    probability[30:33, 15:18] = 0  # hole at coarse resolution
    labels = lung_labels_from_probability(probability, radiograph_geometry(), (512, 512))
    assert labels.shape == (512, 512)
    assert labels[256, 130] == RIGHT_LUNG and labels[256, 390] == LEFT_LUNG
    assert labels[31 * 8 + 4, 16 * 8 + 4] == RIGHT_LUNG  # the hole is filled
    fine = lung_labels_from_probability(np.kron(probability, np.ones((8, 8), np.float32)), radiograph_geometry())
    overlap = ((labels > 0) & (fine > 0)).sum() / ((labels > 0) | (fine > 0)).sum()
    assert overlap > 0.95


def test_zone_areas_use_pixel_area():
    zones = np.zeros((10, 10), np.uint8)
    zones[:2, :5] = 1
    assert zone_areas_mm2(zones, 0.25)["A"] == pytest.approx(2.5)
    assert zone_areas_mm2(zones, 0.25)["F"] == 0


def test_post_processing_keeps_two_lungs_and_fills_holes():
    probability = np.zeros((200, 200), np.float32)
    probability[20:180, 20:90] = 0.9
    probability[20:180, 110:180] = 0.9
    probability[100:110, 50:60] = 0.1  # a hole inside the right lung
    probability[5:8, 5:8] = 0.9  # speck of noise
    labels = lung_labels_from_probability(probability, radiograph_geometry())
    assert labels[105, 55] == RIGHT_LUNG
    assert labels[6, 6] == 0
    assert labels[100, 50] == RIGHT_LUNG and labels[100, 150] == LEFT_LUNG


def test_right_left_comes_from_world_coordinates_not_columns():
    direction = radiograph_geometry().direction.copy()
    direction[:, 0] *= -1  # columns run towards the patient's right (a mirrored file)
    probability = np.zeros((200, 200), np.float32)
    probability[20:180, 20:90] = 0.9
    probability[20:180, 110:180] = 0.9
    labels = lung_labels_from_probability(probability, Geometry(direction=direction))
    assert labels[100, 50] == LEFT_LUNG and labels[100, 150] == RIGHT_LUNG
    assert largest_components(np.zeros((5, 5), bool)) == []


def test_non_radiograph_geometry_is_read_as_standard_display():
    plane = np.arange(12, dtype=np.float32).reshape(3, 4)
    axial = Image(plane[np.newaxis], Geometry(spacing=(0.2, 0.3, 1.0)))
    display, transform, warnings = display_radiograph(axial)
    assert np.array_equal(display.array, axial.array) and transform.is_identity
    assert display.geometry.spacing[:2] == (0.2, 0.3) and "standard display" in warnings[0]
    standard = Image(plane[np.newaxis], radiograph_geometry())
    assert display_radiograph(standard)[2] == []


@pytest.mark.parametrize("array, message", [
    (np.zeros((64, 256, 256), np.float32), "64 slices"),
    (np.ones((1, 100, 300), np.float32), "at least 128"),
    (np.zeros((1, 256, 256), np.float32), "blank"),
    (np.full((1, 256, 256), np.nan, np.float32), "non-finite"),
])
def test_unusable_inputs_raise_input_error(array, message):
    with pytest.raises(InputError, match=message):
        checks.validate_radiograph(Image(array))


def test_warnings_for_lateral_views_and_missing_lungs():
    assert "lateral" in checks.view_warnings({"frontal": 0.1, "lateral": 0.8, "other": 0.1}, 0.25)[0]
    assert "not look like" in checks.view_warnings({"frontal": 0.1, "lateral": 0.1, "other": 0.8}, 0.25)[0]
    assert checks.view_warnings({"frontal": 0.9, "lateral": 0.05, "other": 0.05}, 0.25) == []
    assert checks.view_warnings({"frontal": 0.3, "lateral": 0.6, "other": 0.1}, 0.25) == []
    assert checks.view_warnings({"frontal": 0.3, "lateral": 0.6, "other": 0.1}, 0.5)


def test_the_view_warning_uses_the_registered_operating_point():
    from lesionai.severity.pipeline import SeverityPipeline

    assert SeverityPipeline().frontal_threshold == 0.25
    assert "1 lung" in checks.lung_warnings(np.ones((10, 10), np.uint8))[0]
