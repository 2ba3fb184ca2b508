"""What the nodule classifier sees: the bounding-box crop on a fixed grid and the masked variables."""

import numpy as np
import pytest

from lesionai.errors import InputError
from lesionai.geometry import Geometry, Image
from lesionai.nodule.classifier_input import FEATURE_NAMES, classifier_crop, feature_vector, normalised_hu

SHAPE, SPACING = (8, 16, 16), (2.0, 1.0, 1.0)


def cube_nodule(offset_kji=(10, 20, 20), size=(4, 8, 8), spacing=(0.5, 0.5, 1.0), hu=40.0):
    """A lung block (-850 HU) with a box nodule of ``size`` voxels at ``offset_kji``."""
    array = np.full((30, 50, 50), -850.0, np.float32)
    mask = np.zeros(array.shape, np.uint8)
    box = tuple(slice(o, o + s) for o, s in zip(offset_kji, size))
    array[box], mask[box] = hu, 1
    geometry = Geometry(spacing=spacing, origin=(5.0, -3.0, 12.0))
    return Image(array, geometry), Image(mask, geometry)


def test_crop_centres_the_nodule_box_at_physical_size():
    hu, mask = cube_nodule()  # 8 x 8 voxels of 0.5 mm = 4 mm in-plane, 4 slices of 1 mm = 4 mm
    crop = classifier_crop(hu, mask, SHAPE, SPACING)
    assert crop.shape == (2, *SHAPE) and crop.dtype == np.float32
    inside = np.argwhere(crop[1] > 0)
    assert inside.min(0).tolist() == [3, 6, 6] and inside.max(0).tolist() == [4, 9, 9]  # 4 mm box in the middle
    assert crop[0][crop[1] > 0] == pytest.approx(normalised_hu(np.float32(40.0)))


def test_everything_outside_the_box_is_air():
    hu, mask = cube_nodule()
    crop = classifier_crop(hu, mask, SHAPE, SPACING)
    assert crop[0, 0, 0, 0] == 0.0 and crop[0, -1, -1, -1] == 0.0  # -1000 HU, not the -850 HU lung beside the box


def test_crop_does_not_depend_on_where_the_nodule_lies():
    first = classifier_crop(*cube_nodule(offset_kji=(10, 20, 20)), SHAPE, SPACING)
    second = classifier_crop(*cube_nodule(offset_kji=(3, 5, 31)), SHAPE, SPACING)
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_empty_mask_and_mismatched_grids_are_refused():
    hu, mask = cube_nodule()
    with pytest.raises(InputError, match="empty"):
        classifier_crop(hu, mask.with_array(np.zeros_like(mask.array)), SHAPE, SPACING)
    with pytest.raises(InputError, match="different grids"):
        classifier_crop(hu, Image(mask.array[:-1], mask.geometry), SHAPE, SPACING)


def test_missing_variables_are_masked_and_zeroed():
    values, missing = feature_vector({"Volume": 500.0, "Age": None, "MeanCT": float("nan"), "Gender": "M"})
    by_name = dict(zip(FEATURE_NAMES, zip(values, missing)))
    assert by_name["Volume"] == (500.0, 0.0)
    assert by_name["Gender"] == (1.0, 0.0)
    for name in ("Age", "MeanCT", "DiameterMax"):  # None, not finite, absent
        assert by_name[name] == (0.0, 1.0)


def test_unreadable_variables_are_refused():
    with pytest.raises(InputError, match="not a number"):
        feature_vector({"Age": "sixty"})
    with pytest.raises(InputError, match="Gender"):
        feature_vector({"Gender": "X"})
