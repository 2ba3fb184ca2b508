"""Synthetic lesions: inside the cord, elongated along it, soft-edged, bright on T2w and dark on T1w."""

import numpy as np
import pytest
from scipy import ndimage

from lesionai.spine.synthetic_lesions import cord_direction, insert_lesions

SPACING = (1.0, 0.5, 0.5)  # (S, A, R) mm


@pytest.fixture
def cord_scan():
    """A T2-like canonical volume [S, A, R]: bright CSF ring around a darker vertical cord (r 5 mm)."""
    _, a, r = np.indices((60, 48, 48)).astype(float)
    radius = np.hypot((a - 24) * 0.5, (r - 24) * 0.5)
    cord = radius <= 5.0
    image = np.where(cord, 300.0, np.where(radius <= 8.0, 900.0, 200.0)).astype(np.float32)
    return image, cord


def test_lesions_lie_in_the_cord_and_are_returned_as_a_mask(cord_scan):
    image, cord = cord_scan
    inserted = insert_lesions(image, cord, SPACING, "T2w", np.random.default_rng(3), count=4)
    assert inserted.mask.dtype == np.uint8 and inserted.mask.any()
    assert len(inserted.lesions) == 4
    near_cord = ndimage.binary_dilation(cord, iterations=4)
    assert not (inserted.mask.astype(bool) & ~near_cord).any()
    for lesion in inserted.lesions:
        assert cord[tuple(np.round(lesion.centre).astype(int))] or lesion.on_border


def test_sizes_follow_the_cord_direction(cord_scan):
    image, cord = cord_scan
    lesions = [lesion for seed in range(10)
               for lesion in insert_lesions(image, cord, SPACING, "T2w", np.random.default_rng(seed)).lesions]
    lengths = np.array([lesion.length_mm for lesion in lesions])
    assert lengths.min() >= 1.0 and lengths.max() <= 15.0
    assert all(lesion.width_mm <= lesion.length_mm + 1e-6 or lesion.width_mm == 1.0 for lesion in lesions)
    assert all(abs(lesion.axis[0]) > 0.99 for lesion in lesions)  # the cord is vertical (S)
    assert any(lesion.on_border for lesion in lesions)


def test_a_long_lesion_is_longer_along_the_cord_than_across(cord_scan):
    image, cord = cord_scan
    inserted = insert_lesions(image, cord, SPACING, "T2w", np.random.default_rng(0), count=1,
                              length_mm=(12.0, 12.0))
    s, a, r = np.nonzero(inserted.mask)
    assert np.ptp(s) * SPACING[0] > 1.5 * max(np.ptp(a), np.ptp(r)) * SPACING[1]


def test_edges_are_partial_volume(cord_scan):
    image, cord = cord_scan
    inserted = insert_lesions(image, cord, SPACING, "T2w", np.random.default_rng(1), count=2)
    soft = (inserted.fraction > 0.05) & (inserted.fraction < 0.95)
    assert soft.sum() > 0.3 * inserted.mask.sum()


@pytest.mark.parametrize("contrast, brighter", [("T2w", True), ("T2*w", True), ("STIR", True), ("T1w", False)])
def test_lesion_contrast_depends_on_the_sequence(cord_scan, contrast, brighter):
    image, cord = cord_scan
    inserted = insert_lesions(image, cord, SPACING, contrast, np.random.default_rng(2), count=3,
                              length_mm=(6.0, 12.0))
    core = inserted.fraction > 0.9
    assert core.any()
    assert (inserted.image[core].mean() > 300.0) == brighter


def test_no_lesion_leaves_the_image_unchanged(cord_scan):
    image, cord = cord_scan
    inserted = insert_lesions(image, cord, SPACING, "T2w", np.random.default_rng(0), count=0)
    assert np.array_equal(inserted.image, image) and not inserted.mask.any()


def test_same_seed_same_lesions(cord_scan):
    image, cord = cord_scan
    first = insert_lesions(image, cord, SPACING, "T2w", np.random.default_rng(5))
    second = insert_lesions(image, cord, SPACING, "T2w", np.random.default_rng(5))
    assert np.array_equal(first.mask, second.mask)


def test_thick_slices_make_small_lesions_faint(cord_scan):
    """A 3 mm lesion in 7.5 mm slices fills a fraction of its voxel: partial volume along S."""
    image, cord = cord_scan
    thick = image[::8], cord[::8]
    inserted = insert_lesions(*thick, (7.5, 0.5, 0.5), "T2w", np.random.default_rng(4), count=1,
                              length_mm=(3.0, 3.0), border_rate=0.0)
    assert 0.05 < inserted.fraction.max() < 0.9


def test_direction_of_an_oblique_cord():
    s, a, r = np.indices((40, 40, 40)).astype(float)
    cord = np.hypot(a - 10 - 0.5 * s, r - 20) <= 3  # A increases 0.5 voxel per slice
    direction = cord_direction(cord, np.array([20.0, 20.0, 20.0]), (1.0, 1.0, 1.0))
    assert direction == pytest.approx(np.array([2, 1, 0]) / np.sqrt(5), abs=0.05)
