"""Installing what a LesionAI module lacks into the running Slicer, after asking the user.

The requirement checks themselves are in :mod:`lesionai.dependencies` (no Slicer needed); this
module adds the Slicer side, written once for every module: the OK/Cancel question, pip through
Slicer's own installer, and constraints that pin the packages Slicer ships.

>>> ensure_in_slicer("LesionSegmentation")          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..dependencies import INFERENCE_REQUIREMENTS, SLICER_BUNDLED, Requirements, ensure_requirements, refuse_protected


def slicer_installer() -> Callable[[list[str]], None]:
    """An installer for :func:`ensure_requirements` that pip-installs into the running Slicer.

    Uses Slicer's ``pip_ensure`` (``slicer.pydeps`` or ``slicer.packaging``, Slicer >= 5.11) when
    present, else ``slicer.util.pip_install``. Works only inside the Slicer application.
    """
    import slicer.util  # only the Slicer application can install into itself

    def install(requirements: list[str]) -> None:
        refuse_protected(requirements)
        constraints = write_bundled_constraints()
        try:
            pip_ensure = _slicer_pip_ensure()
            if pip_ensure is None:
                slicer.util.pip_install(list(requirements) + ["--constraint", str(constraints)])
                return
            from packaging.requirements import Requirement

            pip_ensure([Requirement(text) for text in requirements], constraints=str(constraints),
                       prompt_install=False, requester="LesionAI")
        finally:
            constraints.unlink(missing_ok=True)

    return install


def write_bundled_constraints() -> Path:
    """A pip constraints file pinning the packages Slicer ships at their installed versions.

    Requirements only name the top-level packages; the constraints also stop pip from upgrading
    anything Slicer ships (numpy, scipy, SimpleITK, VTK, pydicom, Pillow, packaging, requests...;
    see :data:`SLICER_BUNDLED`) to satisfy a dependency of one of them (pip then fails instead,
    which :func:`ensure_requirements` reports).
    """
    import tempfile

    pins = []
    for name in SLICER_BUNDLED:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    handle = tempfile.NamedTemporaryFile("w", suffix="-constraints.txt", prefix="lesionai-", delete=False)
    with handle:
        handle.write("\n".join(pins) + "\n")
    return Path(handle.name)


def ensure_in_slicer(module_title: str, requirements: Requirements = INFERENCE_REQUIREMENTS,
                     installing: Callable[[list[str]], Any] | None = None) -> list[str]:
    """Inside Slicer: ask the user with an OK/Cancel dialog, then install what ``requirements`` lacks.

    ``installing(missing)``: a context manager shown while pip runs (the panel's "Installing ..."
    progress dialog), entered only after the user said yes, so the question is never asked under a
    busy cursor. Returns the requirements installed; raises :class:`DependencyError` when the user
    declines or the installation fails.
    """
    import slicer.util

    def confirm(missing: list[str]) -> bool:
        question = (f"{module_title} needs these Python packages:\n\n" + "\n".join(missing)
                    + "\n\nInstall them now? This may take minutes.")
        return slicer.util.confirmOkCancelDisplay(question, "Install LesionAI packages")

    install = slicer_installer()

    def installer(missing: list[str]) -> None:
        with (installing or _no_feedback)(missing):
            install(missing)

    return ensure_requirements(requirements, confirm=confirm, installer=installer)


@contextlib.contextmanager
def _no_feedback(missing: list[str]):
    yield


def _slicer_pip_ensure():
    for module_name in ("pydeps", "packaging"):
        try:
            module = importlib.import_module(f"slicer.{module_name}")
        except ImportError:
            continue
        if hasattr(module, "pip_ensure"):
            return module.pip_ensure
    return None
