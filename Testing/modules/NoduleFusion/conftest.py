"""Fixtures of the NoduleFusion module tests (real MRML nodes through slicer-core)."""

import sys

import pytest
from repo_paths import REPO_ROOT

if str(REPO_ROOT / "NoduleFusion") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "NoduleFusion"))


@pytest.fixture(scope="module")
def nodule_phantom():
    """A generated lung CT block in HU with a part-solid nodule of known masks at its centre."""
    from lesionai.phantoms.nodule import generate_nodule_phantom

    return generate_nodule_phantom(seed=2, kind="part-solid")


@pytest.fixture
def ct_volume(scene, nodule_phantom):
    from lesionai import mrml

    return mrml.volume_node_from_image(scene, nodule_phantom.image, "chest CT")
