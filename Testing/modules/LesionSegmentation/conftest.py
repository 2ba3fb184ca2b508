"""Fixtures of the LesionSegmentation module tests (real MRML nodes through slicer-core)."""

import sys

import pytest
from repo_paths import REPO_ROOT

if str(REPO_ROOT / "LesionSegmentation") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "LesionSegmentation"))


@pytest.fixture(scope="module")
def spine_phantom():
    """A generated sagittal T2w cervical spine MRI with two lesions of known masks."""
    from lesionai.phantoms.spine import generate_spine_phantom

    return generate_spine_phantom(seed=3, lesions=2)


@pytest.fixture
def spine_volume(scene, spine_phantom):
    """The phantom as a scalar volume node named "spine" in ``scene``."""
    from lesionai import mrml

    return mrml.volume_node_from_image(scene, spine_phantom.image, "spine")
