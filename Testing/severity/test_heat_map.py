"""The Grad-CAM heat map: each zone's map upsampled exactly as a full resize would, only where it is shown."""

import numpy as np
import pytest

from lesionai.severity.preprocess import resize_plane
from lesionai.severity.scoring import heat_map, upsampled_columns


@pytest.mark.parametrize("shape", [(1024, 1024), (840, 1024), (1000, 713), (129, 513), (40, 37)])
def test_the_columns_of_a_zone_get_the_values_of_a_full_resize(shape):
    rng = np.random.default_rng(sum(shape))
    cam = rng.random((16, 16))
    full = resize_plane(cam.astype(np.float32), shape)
    for start, stop in [(0, shape[1]), (0, 1), (shape[1] // 3, shape[1] // 2 + 1), (shape[1] - 5, shape[1])]:
        np.testing.assert_array_equal(upsampled_columns(cam, shape, slice(start, stop)), full[:, start:stop])


def test_each_zone_shows_its_own_map_scaled_by_the_largest_value():
    rng = np.random.default_rng(5)
    zones = np.zeros((300, 400), np.uint8)
    zones[20:120, 30:180], zones[120:280, 30:180], zones[20:280, 220:380] = 1, 2, 4
    cams = rng.random((6, 8, 8))
    cams[3] = 0  # zone D has no positive evidence
    heat = heat_map(cams, zones)
    expected = np.zeros(zones.shape, np.float32)
    for value in (1, 2):
        inside = zones == value
        expected[inside] = resize_plane(cams[value - 1].astype(np.float32), zones.shape)[inside]
    np.testing.assert_array_equal(heat, expected / expected.max())
    assert heat[zones == 4].max() == 0 and heat[zones == 0].max() == 0 and heat.max() == 1
