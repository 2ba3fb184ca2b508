"""Where things are in the checkout, for tests at any depth of ``Testing/``."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_SOURCE = REPO_ROOT / "LesionAICore"
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"
