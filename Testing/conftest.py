"""Fixtures for every test: the development data folder and an empty MRML scene.

Test folders mirror the package (``core/``, ``core/mrml/``, ``severity/``, ``training/``,
``modules/<Module>/``, ``integration/``); each level adds its own ``conftest.py``. Helpers shared
by several folders live in ``support/`` (on the test path through ``pyproject.toml``).
"""

import sys

import pytest
from repo_paths import CORE_SOURCE, SHARED_DATA

# Tests run from a source checkout without installing the package.
if str(CORE_SOURCE) not in sys.path:
    sys.path.insert(0, str(CORE_SOURCE))


@pytest.fixture(scope="session")
def shared_data():
    """The development data folder beside the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("development data folder ../shared/data is not present")
    return SHARED_DATA.resolve()


@pytest.fixture
def scene():
    """A new, empty MRML scene; skips where the MRML library is missing."""
    slicer = pytest.importorskip("slicer")
    return slicer.vtkMRMLScene()
