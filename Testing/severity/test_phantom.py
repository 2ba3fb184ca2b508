"""The chest radiograph phantom: deterministic, anatomically laid out, honest about its geometry."""

import csv

import numpy as np
import pytest

from lesionai.geometry import radiograph_geometry
from lesionai.phantoms.cxr import MAX_INTENSITY, generate_cxr_phantom

RIGHT, LEFT = 1, 2


@pytest.fixture(scope="module")
def frontal():
    return generate_cxr_phantom(seed=4, size=(384, 384))


def test_same_seed_gives_the_same_phantom_and_another_seed_a_different_one():
    first = generate_cxr_phantom(seed=11, size=(256, 256))
    again = generate_cxr_phantom(seed=11, size=(256, 256))
    other = generate_cxr_phantom(seed=12, size=(256, 256))
    np.testing.assert_array_equal(first.image.array, again.image.array)
    np.testing.assert_array_equal(first.lung_labels, again.lung_labels)
    assert not np.array_equal(first.image.array, other.image.array)
    assert not np.array_equal(first.lung_labels, other.lung_labels)


def test_image_is_a_single_float32_plane_in_the_12_bit_range(frontal):
    array = frontal.image.array
    assert array.shape == (1, 384, 384) and array.dtype == np.float32
    assert array.min() >= 0.0 and array.max() <= MAX_INTENSITY
    assert array.max() - array.min() > 0.5 * MAX_INTENSITY


def test_two_lungs_with_the_right_lung_on_the_image_left(frontal):
    labels = frontal.lung_labels
    assert labels.shape == (1, 384, 384) and labels.dtype == np.uint8
    assert set(np.unique(labels).tolist()) == {0, RIGHT, LEFT}
    right_columns = np.nonzero(labels[0] == RIGHT)[1]
    left_columns = np.nonzero(labels[0] == LEFT)[1]
    assert right_columns.max() < left_columns.min()
    for side in (RIGHT, LEFT):
        assert 0.05 < np.mean(labels == side) < 0.3


@pytest.mark.parametrize("seed", [0, 7, 23])
def test_lungs_are_darker_than_the_mediastinum_between_them(seed):
    phantom = generate_cxr_phantom(seed=seed, size=(320, 320))
    plane, labels = phantom.image.array[0], phantom.lung_labels[0]
    lung_rows = np.nonzero((labels == RIGHT).any(axis=1) & (labels == LEFT).any(axis=1))[0]
    mediastinum = []
    for row in lung_rows:
        inner = np.nonzero(labels[row] == RIGHT)[0].max() + 3, np.nonzero(labels[row] == LEFT)[0].min() - 3
        mediastinum.extend(plane[row, inner[0]:inner[1]])
    assert plane[labels > 0].mean() < np.mean(mediastinum) - 0.1 * MAX_INTENSITY


def test_air_outside_the_patient_is_darker_than_the_lungs(frontal):
    plane, labels = frontal.image.array[0], frontal.lung_labels[0]
    top_corners = np.concatenate([plane[:10, :10].ravel(), plane[:10, -10:].ravel()])
    assert top_corners.mean() < plane[labels > 0].mean()


def test_heart_shadow_brightens_the_lower_medial_left_lung(frontal):
    plane, labels = frontal.image.array[0], frontal.lung_labels[0]
    rows, columns = np.nonzero(labels == LEFT)
    lower = rows > np.percentile(rows, 60)
    medial = columns < np.percentile(columns[lower], 30)
    lateral = columns > np.percentile(columns[lower], 70)
    assert plane[rows[lower & medial], columns[lower & medial]].mean() > plane[
        rows[lower & lateral], columns[lower & lateral]
    ].mean()


def test_size_and_pixel_spacing_are_honoured():
    phantom = generate_cxr_phantom(seed=3, size=(300, 240), pixel_spacing_mm=0.5)
    assert phantom.image.array.shape == (1, 300, 240)
    assert phantom.lung_labels.shape == (1, 300, 240)
    assert phantom.geometry == radiograph_geometry((0.5, 0.5))
    assert phantom.image.geometry == phantom.geometry
    assert phantom.geometry.spacing[:2] == (0.5, 0.5)


def test_default_spacing_gives_a_chest_sized_field_of_view():
    phantom = generate_cxr_phantom(seed=3, size=(200, 250))
    field_of_view_mm = 250 * phantom.geometry.spacing[0]
    assert 350 < field_of_view_mm < 500


def test_lateral_view_has_no_lung_labels_and_differs_from_frontal():
    lateral = generate_cxr_phantom(seed=5, size=(256, 256), view="lateral")
    frontal = generate_cxr_phantom(seed=5, size=(256, 256))
    assert lateral.image.array.shape == (1, 256, 256)
    assert not lateral.lung_labels.any()
    assert lateral.view == "lateral"
    assert not np.allclose(lateral.image.array, frontal.image.array)


@pytest.mark.parametrize("arguments", [{"view": "AP"}, {"size": (8, 8)}, {"pixel_spacing_mm": -1.0}])
def test_invalid_arguments_are_refused(arguments):
    with pytest.raises(ValueError):
        generate_cxr_phantom(seed=1, **{"size": (64, 64), **arguments})


@pytest.mark.realdata
def test_intensity_layout_matches_real_radiographs(shared_data):
    """After the models' percentile normalisation, phantom lungs and surroundings fall inside the
    range spanned by the real development radiographs."""
    from PIL import Image as PILImage

    folder = shared_data / "cxr"
    if not (folder / "cases.csv").is_file():
        pytest.skip("chest X-ray development data not present")
    with open(folder / "cases.csv", newline="") as handle:
        stems = [row["stem"] for row in csv.DictReader(handle) if row["has_lung_mask"] == "1"][::12]
    real = np.array([
        _normalised_means(
            np.asarray(PILImage.open(folder / "images" / f"{stem}.png").convert("L"), dtype=np.float32),
            np.asarray(PILImage.open(folder / "lung_masks" / f"{stem}.png")) == 1,
        )
        for stem in stems
    ])
    low, high = np.percentile(real, 2, axis=0), np.percentile(real, 98, axis=0)
    for seed in (1, 2, 3):
        phantom = generate_cxr_phantom(seed=seed, size=(256, 256))
        means = _normalised_means(phantom.image.array[0], phantom.lung_labels[0] > 0)
        assert np.all(means >= low) and np.all(means <= high), (seed, means, low, high)


def _normalised_means(plane: np.ndarray, lung: np.ndarray) -> np.ndarray:
    low, high = np.percentile(plane, [0.5, 99.5])
    normalised = np.clip((plane - low) / (high - low), 0.0, 1.0)
    return np.array([normalised[lung].mean(), normalised[~lung].mean()])


def test_phantom_lung_labels_are_the_pipeline_lung_labels():
    from lesionai.phantoms import cxr
    from lesionai.severity import lungs

    assert (cxr.RIGHT_LUNG, cxr.LEFT_LUNG) == (lungs.RIGHT_LUNG, lungs.LEFT_LUNG)
