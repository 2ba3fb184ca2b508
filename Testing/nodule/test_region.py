"""Cutting the nodule region: point or crop in, labels back on the input grid, bad inputs refused."""

import numpy as np
import pytest

from lesionai.errors import InputError
from lesionai.geometry import Geometry, Image
from lesionai.nodule import grids
from lesionai.nodule.region import (REGION_SHAPE, grown_spacing, region_around_point, region_from_crop,
                                    validate_ct)
from lesionai.nodule.segmentation import dice


def round_trip_dice(region, mask: Image) -> float:
    """Dice of ``mask`` carried onto the region grid and back onto its own grid."""
    on_region = grids.sample(mask.array, mask.geometry, region.image.geometry, region.image.array.shape, cval=0.0)
    block, back = region.to_input(on_region)
    full = np.zeros(mask.array.shape, bool)
    full[block] = back >= 0.5
    return dice(full, mask.array > 0)


def test_point_region_is_centred_and_maps_labels_back(part_solid_phantom):
    phantom = part_solid_phantom
    region = region_around_point(phantom.image, phantom.center_ras)
    assert region.image.array.shape == REGION_SHAPE and region.known.all()
    center = grids.kji_to_ras(region.image.geometry, (np.asarray(REGION_SHAPE) - 1) / 2)
    np.testing.assert_allclose(center, phantom.center_ras, atol=1e-6)
    assert round_trip_dice(region, phantom.mask) > 0.9


def test_region_keeps_an_oblique_input_orientation(part_solid_phantom):
    phantom = part_solid_phantom
    angle = np.radians(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    geometry = Geometry(spacing=phantom.image.geometry.spacing, origin=(5.0, -3.0, 2.0), direction=rotation)
    image, mask = Image(phantom.image.array, geometry), Image(phantom.mask.array, geometry)
    center = grids.kji_to_ras(geometry, (np.asarray(image.array.shape) - 1) / 2)
    region = region_around_point(image, center)
    np.testing.assert_allclose(region.image.geometry.direction, rotation)
    assert round_trip_dice(region, mask) > 0.9


def test_crop_region_fills_lung_context_beyond_the_crop(part_solid_phantom):
    phantom = part_solid_phantom
    crop = Image(phantom.image.array[14:26, 30:66, 30:66], phantom.image.geometry)
    region = region_from_crop(crop)
    outside = region.image.array[~region.known]
    assert not region.known.all() and -950 < np.median(outside) < -750
    assert region_from_crop(crop).image.array.tobytes() == region.image.array.tobytes()  # reproducible


def test_region_grows_to_a_maximum_spacing():
    spacings = [0.8]
    while (coarser := grown_spacing(spacings[-1])) is not None:
        spacings.append(coarser)
    assert spacings[-1] == pytest.approx(3.2) and all(a < b for a, b in zip(spacings, spacings[1:]))


def test_point_outside_the_image(part_solid_phantom):
    with pytest.raises(InputError, match="outside the image"):
        region_around_point(part_solid_phantom.image, part_solid_phantom.center_ras + [0, 0, 500])


def test_point_in_air():
    air = Image(np.full((20, 40, 40), -1000, np.int16))
    air.array[:, :, :5] = 40
    with pytest.raises(InputError, match="No nodule at the point"):
        region_around_point(air, (20.0, 20.0, 10.0))


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 10, 10)), "empty"),
    (np.full((1, 64, 64), -800.0), "2D image"),
    (np.full((20, 30, 30), np.nan), "NaN"),
    (np.random.default_rng(0).uniform(0, 1200, (20, 30, 30)), "not a CT"),
])
def test_bad_inputs_are_refused_with_a_reason(array, message):
    with pytest.raises(InputError, match=message):
        validate_ct(Image(array))


def test_thick_slices_work_with_a_warning(part_solid_phantom):
    thick = Image(part_solid_phantom.image.array[::4], Geometry(spacing=(0.7, 0.7, 5.0)))
    center = grids.kji_to_ras(thick.geometry, (np.asarray(thick.array.shape) - 1) / 2)
    region = region_around_point(thick, center)
    assert any("thick slices" in warning for warning in region.warnings)
