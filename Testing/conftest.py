"""Shared pytest fixtures."""

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"

# Tests run from a source checkout without installing the package.
if str(REPO_ROOT / "LesionAICore") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "LesionAICore"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The development data folder beside the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("development data folder ../shared/data is not present")
    return SHARED_DATA.resolve()


# Shared by the SeverityScoring logic and presentation tests (real MRML nodes through slicer-core).


@pytest.fixture(scope="module")
def phantom():
    """A small generated chest radiograph (128 x 112) with known lungs."""
    from lesionai.phantom import generate_cxr_phantom

    return generate_cxr_phantom(seed=3, size=(128, 112))


@pytest.fixture
def scene():
    """A new, empty MRML scene; skips where the MRML library is missing."""
    slicer = pytest.importorskip("slicer")
    return slicer.vtkMRMLScene()


@pytest.fixture
def radiograph(scene, phantom):
    """The phantom as a scalar volume node named "chest" in ``scene``."""
    from lesionai import mrml

    return mrml.volume_node_from_image(scene, phantom.image, "chest")
