"""Fixtures of the SeverityScoring module tests (real MRML nodes through slicer-core)."""

import pytest


@pytest.fixture(scope="module")
def phantom():
    """A small generated chest radiograph (128 x 112) with known lungs."""
    from lesionai.phantoms.cxr import generate_cxr_phantom

    return generate_cxr_phantom(seed=3, size=(128, 112))


@pytest.fixture
def radiograph(scene, phantom):
    """The phantom as a scalar volume node named "chest" in ``scene``."""
    from lesionai import mrml

    return mrml.volume_node_from_image(scene, phantom.image, "chest")
