"""Fixtures of the spine tests: analytic cord shapes and the spinal MRI development data."""

import numpy as np
import pytest


def _cylinder(shape, spacing, radius_mm, tilt_deg=0.0, centre_mm=None):
    """Boolean ``[k, j, i]`` cylinder of ``radius_mm`` whose axis leans ``tilt_deg`` from the k axis
    towards the j axis, through ``centre_mm`` (j, i) at the middle slice; voxel centres sampled."""
    k, j, i = np.indices(shape).astype(float)
    z, y, x = k * spacing[2], j * spacing[1], i * spacing[0]
    centre = centre_mm or (shape[1] * spacing[1] / 2, shape[2] * spacing[0] / 2)
    z0 = shape[0] * spacing[2] / 2
    tilt = np.radians(tilt_deg)
    axis = np.array([np.cos(tilt), np.sin(tilt), 0.0])  # (z, y, x)
    offset = np.stack([z - z0, y - centre[0], x - centre[1]], -1)
    across = offset - (offset @ axis)[..., None] * axis
    return np.linalg.norm(across, axis=-1) <= radius_mm


@pytest.fixture
def cylinder():
    """Function drawing a boolean cylinder (see ``_cylinder``)."""
    return _cylinder


@pytest.fixture
def spine_data(shared_data):
    """The spinal MRI folder of the development data; skips when absent."""
    folder = shared_data / "spine"
    if not (folder / "cases.csv").is_file():
        pytest.skip("spinal MRI development data (../shared/data/spine) is not present")
    return folder
