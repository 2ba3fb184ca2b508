"""The bounded working grid: block means in, block values out, the same place in the world."""

import numpy as np
import pytest

from lesionai.geometry import radiograph_geometry
from lesionai.working_grid import MAX_WORKING_SIDE, WorkingGrid, working_grid


@pytest.mark.parametrize("shape, factor", [((1024, 1024), 1), ((2048, 900), 1), ((2049, 100), 2), ((8000, 8000), 4),
                                           ((6000, 128), 3)])
def test_the_factor_is_the_smallest_that_fits_the_bound(shape, factor):
    grid = working_grid(shape)
    assert grid.factor == factor and max(grid.working_shape) <= MAX_WORKING_SIDE
    assert factor == 1 or max(-(-size // (factor - 1)) for size in shape) > MAX_WORKING_SIDE


def test_blocks_are_averaged_the_partial_ones_over_their_own_pixels(monkeypatch):
    from lesionai import working_grid as module

    monkeypatch.setattr(module, "BAND_BYTES", 8 * 10 * 3)  # a band of 3 rows at a time
    plane = np.arange(7 * 10, dtype=np.uint16).reshape(7, 10)
    shrunk = WorkingGrid((7, 10), 3).shrink(plane)
    assert shrunk.shape == (3, 4) and shrunk.dtype == np.float32
    assert shrunk[0, 0] == plane[:3, :3].mean() and shrunk[2, 3] == plane[6:, 9:].mean()
    assert shrunk[1, 3] == plane[3:6, 9:].mean() and shrunk[2, 1] == plane[6:, 3:6].mean()


def test_expanding_gives_each_input_pixel_its_blocks_value():
    grid = WorkingGrid((7, 10), 3)
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    expanded = grid.expand(labels)
    rows, cols = np.indices((7, 10))
    assert expanded.shape == (7, 10) and np.array_equal(expanded, labels[rows // 3, cols // 3])


def test_within_the_bound_nothing_changes():
    grid = working_grid((300, 200))
    plane = np.random.default_rng(0).random((300, 200))
    assert np.array_equal(grid.shrink(plane), plane.astype(np.float32))
    labels = np.ones((300, 200), np.uint8)
    assert grid.expand(labels) is labels and grid.geometry(radiograph_geometry((0.2, 0.3))) == radiograph_geometry((0.2, 0.3))


def test_a_working_pixel_lies_at_the_centre_of_its_block():
    geometry = radiograph_geometry((0.1, 0.15))
    working = WorkingGrid((4000, 6000), 4).geometry(geometry)
    block = geometry.ijk_to_ras() @ np.array([[4 * 5 + i, 4 * 7 + j, 0, 1] for i in range(4) for j in range(4)]).T
    centre = working.ijk_to_ras() @ np.array([5, 7, 0, 1])
    np.testing.assert_allclose(centre, block.mean(axis=1), atol=1e-9)
    assert working.spacing[:2] == pytest.approx((0.6, 0.4))


def test_shapes_that_do_not_belong_to_the_grid_are_refused():
    grid = WorkingGrid((8, 8), 2)
    with pytest.raises(ValueError, match="grid"):
        grid.shrink(np.zeros((8, 9)))
    with pytest.raises(ValueError, match="working grid"):
        grid.expand(np.zeros((3, 4)))
