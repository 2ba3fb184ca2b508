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
